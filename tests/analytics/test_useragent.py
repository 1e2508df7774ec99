from __future__ import annotations

import pytest

from analytics import UserAgentParser
from analytics.useragent import MAX_USER_AGENT

BROWSERS = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        ("Chrome", "Windows", "desktop"),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        ("Mobile Safari", "iOS", "mobile"),
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Mobile/15E148 Safari/604.1",
        ("Mobile Safari", "iOS", "tablet"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36",
        ("Chrome Mobile", "Android", "mobile"),
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        ("Firefox", "Linux", "desktop"),
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        ("Edge", "Windows", "desktop"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36",
        ("Chrome Mobile", "Android", "mobile"),
    ),
]


@pytest.mark.parametrize(("ua", "expected"), BROWSERS)
def test_useragent_families_and_device(ua: str, expected: tuple[str, str, str]) -> None:
    info = UserAgentParser()(ua)
    assert (info.browser, info.os, info.device) == expected
    assert info.bot is None


BOTS = [
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "crawler"),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "crawler"),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/120.0.0.0 Safari/537.36",
        "headless",
    ),
    (
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 PhantomJS/2.1.1 Safari/538.1",
        "headless",
    ),
    ("Mozilla/5.0 Playwright/1.45", "headless"),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "crawler"),
    ("curl/8.5.0", "crawler"),
    ("python-requests/2.32.3", "crawler"),
    ("Mozilla/5.0 (compatible; GPTBot/1.2; +https://openai.com/gptbot)", "crawler"),
    ("Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", "crawler"),
    (
        "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
        "crawler",
    ),
    ("Mozilla/5.0", "crawler"),
    ("", "empty"),
    ("   ", "empty"),
]


@pytest.mark.parametrize(("ua", "reason"), BOTS)
def test_useragent_bots_are_named(ua: str, reason: str) -> None:
    info = UserAgentParser()(ua)
    assert info.bot == reason
    assert (info.browser, info.os, info.device) == ("", "", "")


def test_useragent_user_agents_bot_flag_counts() -> None:
    # no crawler-list word; user-agents' own bot detection catches it
    info = UserAgentParser()("Yeti/1.1 (+http://naver.me/spd)")
    assert info.bot == "bot"


def test_useragent_repeated_agent_is_cached() -> None:
    parser = UserAgentParser(size=2)
    ua = BROWSERS[0][0]
    first = parser(ua)
    assert parser(ua) is first
    assert parser.cache_len() == 1


def test_useragent_cache_is_bounded() -> None:
    parser = UserAgentParser(size=2)
    for ua, _ in BROWSERS[:4]:
        parser(ua)
    assert parser.cache_len() == 2


def test_useragent_cache_evicts_the_least_recently_used() -> None:
    parser = UserAgentParser(size=2)
    first = parser(BROWSERS[0][0])
    parser(BROWSERS[1][0])
    parser(BROWSERS[0][0])  # used again: now the most recent
    parser(BROWSERS[2][0])  # evicts BROWSERS[1]
    assert parser(BROWSERS[0][0]) is first
    assert parser.cache_len() == 2


def test_useragent_cache_does_not_hold_the_raw_string() -> None:
    parser = UserAgentParser()
    ua = BROWSERS[0][0]
    parser(ua)
    keys = list(parser._cache)
    assert len(keys) == 1 and all(isinstance(k, int) for k in keys)


def test_useragent_very_long_agent_is_truncated() -> None:
    info = UserAgentParser()(BROWSERS[0][0] + "x" * (MAX_USER_AGENT * 4))
    assert info.browser == "Chrome"
