"""Page URL -> path and campaign; referrer URL -> host and traffic source.

Only the path of a page URL is kept (no query string, no fragment unless the site routes on
it), plus the UTM campaign parameters. Of a referrer only the host is kept, never the URL, and
it is grouped into a source: a search engine, a social network, another site's host, or
``Direct / None`` (no referrer, or a link within the site itself).
"""

from __future__ import annotations

import re
from typing import NamedTuple, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from kruimel.base.memo import BoundedMemo

from .errors import InvalidEvent

__all__ = [
    "DIRECT",
    "MAX_URL",
    "MAX_PATH",
    "HashedCache",
    "PageURL",
    "normalize_url",
    "referrer_source",
]
V = TypeVar("V")

DIRECT = "Direct / None"
MAX_URL = 2048
MAX_PATH = 512
MAX_UTM = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SLASHES = re.compile(r"/{2,}")

# Host suffix -> source name. A host matches when it equals a key or ends with "." + key;
# keys with a trailing "." match any top-level domain (google.nl, google.co.uk).
_SOURCES: dict[str, str] = {
    # search engines
    "google.": "Google",
    "bing.com": "Bing",
    "duckduckgo.com": "DuckDuckGo",
    "ecosia.org": "Ecosia",
    "search.yahoo.com": "Yahoo!",
    "yahoo.com": "Yahoo!",
    "startpage.com": "Startpage",
    "qwant.com": "Qwant",
    "search.brave.com": "Brave",
    "yandex.": "Yandex",
    "baidu.com": "Baidu",
    "kagi.com": "Kagi",
    "chatgpt.com": "ChatGPT",
    "perplexity.ai": "Perplexity",
    # social networks
    "facebook.com": "Facebook",
    "fb.me": "Facebook",
    "linkedin.com": "LinkedIn",
    "lnkd.in": "LinkedIn",
    "twitter.com": "X (Twitter)",
    "x.com": "X (Twitter)",
    "t.co": "X (Twitter)",
    "instagram.com": "Instagram",
    "reddit.com": "Reddit",
    "youtube.com": "YouTube",
    "youtu.be": "YouTube",
    "mastodon.social": "Mastodon",
    "mastodon.online": "Mastodon",
    "mas.to": "Mastodon",
    "bsky.app": "Bluesky",
    "threads.net": "Threads",
    "pinterest.": "Pinterest",
    "tiktok.com": "TikTok",
    "news.ycombinator.com": "Hacker News",
    "github.com": "GitHub",
    "whatsapp.com": "WhatsApp",
    "t.me": "Telegram",
}
_SUFFIXES = {k: v for k, v in _SOURCES.items() if not k.endswith(".")}
_BRANDS = {k.rstrip("."): v for k, v in _SOURCES.items() if k.endswith(".")}
_FEDIVERSE = re.compile(r"(^|\.)mastodon\.|^mstdn\.|^toot\.")


class PageURL(NamedTuple):
    """The parts of a page URL that are stored."""

    path: str
    utm_source: str
    utm_medium: str
    utm_campaign: str


def normalize_url(url: str, *, keep_fragment: bool = False) -> PageURL:
    """Reduce a page URL to its path (and fragment when routing on it) and UTM parameters.

    Percent-escapes are decoded when they decode to valid UTF-8 (else kept as sent),
    repeated slashes collapsed, control characters removed, the path capped at
    :data:`MAX_PATH` characters.

    :raises InvalidEvent: not an absolute http(s) URL, or longer than :data:`MAX_URL`.
    """
    if len(url) > MAX_URL:
        raise InvalidEvent(f"url is longer than {MAX_URL} characters")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError as e:
        raise InvalidEvent("url is not a valid URL") from e
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidEvent("url must be an absolute http(s) URL")
    path = _clean(parts.path) or "/"
    if keep_fragment and parts.fragment.startswith(("/", "!")):
        # a hash route's own query string is dropped like the page's
        path = f"{path}#{_clean(parts.fragment.split('?', 1)[0])}"
    path = _SLASHES.sub("/", path)[:MAX_PATH]
    source = medium = campaign = ""
    if parts.query:
        for key, value in parse_qsl(parts.query, keep_blank_values=False):
            if key == "utm_source" or (key in ("ref", "source") and not source):
                source = _CONTROL.sub("", value)[:MAX_UTM]
            elif key == "utm_medium":
                medium = _CONTROL.sub("", value)[:MAX_UTM]
            elif key == "utm_campaign":
                campaign = _CONTROL.sub("", value)[:MAX_UTM]
    return PageURL(path, source, medium, campaign)


def _clean(text: str) -> str:
    if "%" in text:
        try:
            text = unquote(text, errors="strict")
        except UnicodeDecodeError:
            pass
    return _CONTROL.sub("", text)


def referrer_source(referrer: str, site_domain: str) -> tuple[str, str]:
    """``(host, source)`` of a referrer URL; ``("", DIRECT)`` for none or a self-referral.

    The host is lower-cased without ``www.``; only the host is ever returned, never a path.
    """
    if not referrer:
        return "", DIRECT
    try:
        host = urlsplit(referrer.strip()[:MAX_URL]).hostname or ""
    except ValueError:
        return "", DIRECT
    host = host.rstrip(".").removeprefix("www.")
    if not host or len(host) > 253:
        return "", DIRECT
    site = site_domain.removeprefix("www.")
    if host == site or host.endswith("." + site):
        return "", DIRECT
    return host, source_name(host)


def source_name(host: str) -> str:
    """The traffic source for a referrer host: a known engine or network, else the host."""
    labels = host.split(".")
    for i in range(len(labels) - 1):
        suffix = ".".join(labels[i:])
        name = _SUFFIXES.get(suffix)
        if name:
            return name
    for i in range(len(labels) - 1):
        brand = labels[i]
        if brand in _BRANDS and _plausible_tld(labels[i + 1 :]):
            return _BRANDS[brand]
    if _FEDIVERSE.search(host):
        return "Mastodon"
    return host


def _plausible_tld(rest: list[str]) -> bool:
    """``google.nl``, ``google.co.uk``, ``google.com.au`` but not ``google.evil.example``."""
    return 1 <= len(rest) <= 2 and all(len(label) <= 3 for label in rest)


class HashedCache(BoundedMemo[int, V]):
    """A bounded LRU cache keyed by a keyed 64-bit hash of the input texts.

    The collector parses the same user agents, page URLs and referrers over and over; this
    makes a repeat cost a hash and a dictionary lookup, without keeping the raw texts (a
    user agent, a referrer URL) in memory. The key is Python's own string hash (SipHash,
    keyed at random per process): it reveals nothing of the text and costs no more than
    the dictionary lookup itself, which mattered on the hot path (a BLAKE2b digest cost
    4 µs per key under load). Two inputs sharing a key (about 2**-64 per pair) would share
    a parse; nothing else depends on it. Used from the event loop only.

    :param size: how many entries to keep; the least recently used goes first.
    """

    __slots__ = ()

    def __init__(self, size: int = 4096) -> None:
        super().__init__(size)

    @staticmethod
    def key(*texts: str) -> int:
        """The cache key of ``texts``."""
        return hash(texts)
