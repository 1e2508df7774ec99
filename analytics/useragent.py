"""User agent -> browser family, OS family and device type; bots recognised and named.

Parsing with user-agents costs tens of microseconds, so results are kept in a small LRU cache
and a repeated user agent costs one dictionary lookup. The cache
(:class:`~analytics.normalize.HashedCache`) is keyed by a keyed hash of the user agent, so
the raw strings do not linger in memory after their requests.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from user_agents import parse as _parse

from .normalize import HashedCache

__all__ = ["UserAgentInfo", "UserAgentParser", "BotReason", "MAX_USER_AGENT"]

BotReason = Literal["bot", "headless", "crawler", "empty"]
MAX_USER_AGENT = 1024

# Automation and headless browsers that user-agents reports as ordinary browsers.
_HEADLESS = re.compile(
    r"headless|phantomjs|playwright|puppeteer|selenium|webdriver|slimerjs|"
    r"cypress|lighthouse|pagespeed|ptst/",
    re.IGNORECASE,
)
# Crawlers, monitors, link previewers and HTTP libraries.
_CRAWLER = re.compile(
    r"(?<!cu)bot\b|bot/|crawl|spider|slurp|scrap|archiver|facebookexternalhit|embedly|preview|"
    r"bingpreview|mediapartners|adsbot|feedfetcher|feedparser|rss|monitor|uptime|pingdom|"
    r"statuscake|site24x7|checkly|datadog|newrelic|gtmetrix|semrush|ahrefs|mj12|dotbot|"
    r"petalbot|yandex(bot|images)|baiduspider|bytespider|applebot|duckduckbot|gptbot|"
    r"ccbot|claudebot|anthropic|perplexity|amazonbot|whatsapp/|slack-imgproxy|pinterest/|"
    r"skypeuripreview|curl/|wget/|python-requests|python-urllib|httpx|aiohttp|go-http-client|"
    r"okhttp|java/|libwww|node-fetch|axios/|postman|insomnia|http_request|scrapy|nutch|"
    r"^mozilla/5\.0$",
    re.IGNORECASE,
)


class UserAgentInfo(NamedTuple):
    """What is stored about a user agent: families only, never the string itself."""

    browser: str
    os: str
    device: Literal["desktop", "mobile", "tablet", ""]
    bot: BotReason | None


_EMPTY = UserAgentInfo("", "", "", "empty")


class UserAgentParser:
    """Parses user agents with an LRU cache of ``size`` entries.

    :param size: how many distinct user agents to remember.
    """

    def __init__(self, size: int = 4096) -> None:
        self._cache: HashedCache[UserAgentInfo] = HashedCache(size)

    def __call__(self, user_agent: str) -> UserAgentInfo:
        """Classify ``user_agent`` (truncated to :data:`MAX_USER_AGENT` characters)."""
        if not user_agent.strip():
            return _EMPTY
        user_agent = user_agent[:MAX_USER_AGENT]
        key = HashedCache.key(user_agent)
        info = self._cache.get(key)
        if info is None:
            info = self._cache.put(key, classify(user_agent))
        return info

    def cache_len(self) -> int:
        """Number of cached entries (for tests and monitoring)."""
        return len(self._cache)


def classify(user_agent: str) -> UserAgentInfo:
    """Parse one user agent, uncached."""
    if _HEADLESS.search(user_agent):
        return UserAgentInfo("", "", "", "headless")
    if _CRAWLER.search(user_agent):
        return UserAgentInfo("", "", "", "crawler")
    ua = _parse(user_agent)
    if ua.is_bot:
        return UserAgentInfo("", "", "", "bot")
    device: Literal["desktop", "mobile", "tablet"]
    if ua.is_tablet:
        device = "tablet"
    elif ua.is_mobile:
        device = "mobile"
    else:
        device = "desktop"
    browser = _family(ua.browser.family)
    os_name = _family(ua.os.family)
    return UserAgentInfo(browser, os_name, device, None)


def _family(name: str) -> str:
    return "" if name in ("Other", "") else name[:64]
