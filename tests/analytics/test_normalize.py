from __future__ import annotations

import pytest

from analytics import DIRECT, InvalidEvent, normalize_url, referrer_source

PATHS = [
    ("https://example.nl/", "/"),
    ("https://example.nl", "/"),
    ("https://example.nl/blog/post?id=7&session=abc", "/blog/post"),
    ("https://example.nl/a#section", "/a"),
    ("https://example.nl//a///b", "/a/b"),
    ("https://example.nl/caf%C3%A9", "/café"),
    ("https://example.nl/bad%ff", "/bad%ff"),
    ("https://example.nl/ctl%00x%0a", "/ctlx"),
    ("http://example.nl/x", "/x"),
    ("https://example.nl/" + "a" * 1000, "/" + "a" * 511),
]


@pytest.mark.parametrize(("url", "path"), PATHS)
def test_normalize_url_keeps_only_the_path(url: str, path: str) -> None:
    assert normalize_url(url).path == path


def test_normalize_url_hash_routing_keeps_the_route() -> None:
    url = "https://example.nl/app/#/orders/7?token=secret"
    assert normalize_url(url, keep_fragment=True).path == "/app/#/orders/7"
    assert normalize_url(url).path == "/app/"
    # an in-page anchor is not a route
    assert normalize_url("https://example.nl/a#top", keep_fragment=True).path == "/a"


def test_normalize_url_keeps_utm_parameters() -> None:
    page = normalize_url(
        "https://example.nl/p?utm_source=newsletter&utm_medium=email&utm_campaign=nov&x=1"
    )
    assert page == ("/p", "newsletter", "email", "nov")


def test_normalize_url_ref_is_a_source_when_no_utm_source() -> None:
    assert normalize_url("https://example.nl/?ref=producthunt").utm_source == "producthunt"
    both = normalize_url("https://example.nl/?ref=a&utm_source=b")
    assert both.utm_source == "b"


@pytest.mark.parametrize(
    "url",
    [
        "/relative/path",
        "javascript:alert(1)",
        "ftp://example.nl/x",
        "https://",
        "https://[::1/x",
        "https://example.nl/" + "a" * 3000,
        "not a url",
    ],
)
def test_normalize_url_rejects_absurd_urls(url: str) -> None:
    with pytest.raises(InvalidEvent):
        normalize_url(url)


REFERRERS = [
    ("", "", DIRECT),
    ("https://example.nl/other", "", DIRECT),
    ("https://www.example.nl/", "", DIRECT),
    ("https://blog.example.nl/x", "", DIRECT),
    ("https://www.google.com/search?q=secret", "google.com", "Google"),
    ("https://www.google.co.uk/", "google.co.uk", "Google"),
    ("https://www.google.nl/url?q=x", "google.nl", "Google"),
    ("https://www.bing.com/search?q=x", "bing.com", "Bing"),
    ("https://duckduckgo.com/", "duckduckgo.com", "DuckDuckGo"),
    ("https://www.ecosia.org/search?q=x", "ecosia.org", "Ecosia"),
    ("https://search.yahoo.com/", "search.yahoo.com", "Yahoo!"),
    ("https://www.startpage.com/do/search", "startpage.com", "Startpage"),
    ("https://www.qwant.com/?q=x", "qwant.com", "Qwant"),
    ("https://l.facebook.com/l.php?u=x", "l.facebook.com", "Facebook"),
    ("https://m.facebook.com/", "m.facebook.com", "Facebook"),
    ("https://www.linkedin.com/feed/", "linkedin.com", "LinkedIn"),
    ("https://t.co/abc", "t.co", "X (Twitter)"),
    ("https://x.com/someone/status/1", "x.com", "X (Twitter)"),
    ("https://l.instagram.com/", "l.instagram.com", "Instagram"),
    ("https://old.reddit.com/r/x", "old.reddit.com", "Reddit"),
    ("https://www.youtube.com/watch?v=1", "youtube.com", "YouTube"),
    ("https://youtu.be/1", "youtu.be", "YouTube"),
    ("https://mastodon.social/@someone", "mastodon.social", "Mastodon"),
    ("https://mastodon.nl/@someone", "mastodon.nl", "Mastodon"),
    ("https://news.ycombinator.com/item?id=1", "news.ycombinator.com", "Hacker News"),
    ("https://blog.other.org/2026/11/post?utm=1", "blog.other.org", "blog.other.org"),
    ("https://google.evil.example/", "google.evil.example", "google.evil.example"),
    ("android-app://com.google.android.gm/", "com.google.android.gm", "com.google.android.gm"),
    ("not a url", "", DIRECT),
    ("https://[::1/", "", DIRECT),
]


@pytest.mark.parametrize(("referrer", "host", "source"), REFERRERS)
def test_referrer_source_grouping(referrer: str, host: str, source: str) -> None:
    assert referrer_source(referrer, "example.nl") == (host, source)


def test_hashed_cache_keys_are_unambiguous_and_lru() -> None:
    from analytics.normalize import HashedCache

    assert HashedCache.key("a\x00", "") != HashedCache.key("a", "\x00")
    assert HashedCache.key("ab", "c") != HashedCache.key("a", "bc")
    cache: HashedCache[int] = HashedCache(size=2)
    one, two, three = (HashedCache.key(str(i)) for i in range(3))
    cache.put(one, 1)
    cache.put(two, 2)
    assert cache.get(one) == 1  # one is now the most recently used
    cache.put(three, 3)
    assert cache.get(two) is None and cache.get(one) == 1 and len(cache) == 2
