"""Hostile requests against the whole Kruimel app, shared by ``tests/test_fuzz.py`` (a small,
derandomised run in ``make test``) and ``bench/fuzz.py`` (10,000+ requests in ``make bench``).

The app is what ``kruimel.app.build_app`` composes (as ``kruimel demo`` and ``kruimel serve``
do): the consent middleware with a real consent log on chDB, the collector at
``/_analytics``, and downstream pages (the demo site plus a few routes that set cookies,
stream, send JSON or a CSP nonce). Requests go in as raw ASGI messages, as a server hands them
over: any method, a percent-decoded path with its raw bytes, any query string, headers of any
printable or obs-text bytes, bodies of any bytes in any chunks, a Content-Length that may lie,
and a client that may go away mid-body.

:func:`check` says what is wrong with one exchange: an exception out of the app, a 5xx, a
malformed message sequence, a body that disagrees with its Content-Length, an error that is
not ``{"error": "..."}`` JSON, a logged ERROR or traceback, a consent decision recorded but
not answered (or answered but not recorded).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message

from analytics import AnalyticsConfig, SiteConfig
from consent import ConsentConfig, ConsentMiddleware, preset
from consent.cookie import SALT, dump_token
from consent.state import ConsentState
from kruimel.app import build_app
from kruimel.base.store import Store
from kruimel.demo import demo_pages_app

SECRET = "fuzz-secret-key-0123456789abcdef0123"
TOKEN = "fuzz-api-token-0123456789"
SITE = "example.nl"
OWN = "https://www.example.nl"
STATIC_SITE = "https://static.example.org"
ASSETS = ("banner.js", "banner.css", "tracker.js", "kruimel.js")

# Every route of the app, as the code defines them (consent/endpoints.py, analytics/
# collector.py, kruimel/server.py, kruimel/demo.py) plus the extra downstream pages below.
ENDPOINTS = (
    "/_consent",
    "/_consent/",
    "/_consent/records",
    "/_consent/policy",
    "/_consent/banner",
    "/_consent/optout",
    "/_consent/static/banner.js",
    "/_consent/static/banner.css",
    "/_consent/static/tracker.js",
    "/_consent/static/kruimel.js",
    "/_consent/static/",
    "/_consent/static",
    "/_analytics/api/event",
    "/_analytics/api/summary",
    "/_analytics/api/v2/query",
    "/_analytics/script.js",
    "/_analytics/kruimel.js",
    "/_analytics/",
    "/_analytics",
    "/",
    "/assortiment",
    "/nieuwsbrief",
    "/privacy",
    "/demo.css",
    "/standin/pardot.js",
    "/healthz",
    "/app/json",
    "/app/cookies",
    "/app/stream",
    "/app/nonce",
)

# URLs a browser, a proxy or an attacker may put in Origin, Referer or next=.
BAD_URLS = (
    "http://[",
    "http://%5B",
    "http://[::1",
    "http://[zz]/",
    "http://[::1]:99999/",
    "http://a:99999",
    "https://a:-1/",
    "http://a:port/",
    "http://a:1:2",
    "http://]",
    "http://[::1]x",
    "https://www.example.nl:99999/",
    "https://[v7.x]/",
    "http://%00/",
    "http://a\x01b/",
    "http://a\tb/",
    "//evil.example",
    "/\\evil.example",
    "///x",
    "javascript:alert(1)",
    "data:text/html,x",
    "null",
    "",
    "http:",
    "http://",
    "https://user:pass@www.example.nl/",
    "https://www.example.nl/%ff%fe",
    "https://www.example.nl/\u00e9\u2028",
    "https://www.example.nl" + "/a" * 3000,
)
GOOD_URLS = (
    OWN,
    OWN + "/",
    OWN + "/assortiment?x=1",
    OWN + ":443/privacy",
    STATIC_SITE,
    "http://localhost:8000/",
    "https://evil.example/",
    "/assortiment",
    "/privacy?lang=en",
)
# Header values are what HTTP/1.1 servers pass on: visible ASCII, space, tab and obs-text
# (0x80-0xff); never CR, LF or NUL.
_HEADER_BYTES = st.binary(max_size=40).map(
    lambda b: bytes(c for c in b if c not in (0, 10, 13)).strip()
)
_TEXT = st.text(st.characters(codec="latin-1", exclude_characters="\r\n\x00"), max_size=40)


def _latin1(value: str) -> bytes:
    return value.encode("latin-1", "replace")


def consent_config() -> ConsentConfig:
    """The fuzzed site's consent configuration (CORS for a static site included)."""
    return ConsentConfig(
        controller="Fuzz B.V.",
        privacy_url="/privacy",
        policy_version="2026-11",
        services=(preset("pardot", account_id="123456"), preset("ga4", measurement_id="G-F1")),
        secret_keys=(SECRET,),
        cors_origins=(STATIC_SITE,),
    )


def analytics_config(journal_dir: Path) -> AnalyticsConfig:
    """Two sites: one plain, one routing on the fragment and allowing localhost."""
    return AnalyticsConfig(
        sites=(
            SiteConfig(domain=SITE),
            SiteConfig(domain="spa.example.org", hash_routing=True, allow_localhost=True),
        ),
        api_token=TOKEN,
        trusted_proxies=("127.0.0.1",),
        journal_dir=journal_dir,
    )


def _extra_routes() -> list[BaseRoute]:
    async def as_json(request: Request) -> Response:
        return JSONResponse({"consent": request.scope["consent"].to_json()})

    async def cookies(request: Request) -> Response:
        response = HTMLResponse("<html><head></head><body><p>hi</p></body></html>")
        response.set_cookie("pi_opt_in123456", "true")
        response.set_cookie("_ga", "GA1.1.1", domain="example.nl")
        return response

    async def stream(request: Request) -> Response:
        async def parts() -> AsyncIterator[bytes]:
            for part in (b"<html><head><title>s</title></he", b"ad><body>", b"x</body></html>"):
                yield part

        return StreamingResponse(parts(), media_type="text/html")

    async def nonce(request: Request) -> Response:
        policy = "script-src 'nonce-abc123' 'strict-dynamic'"
        return HTMLResponse(
            "<html><head></head><body></body></html>",
            headers={"Content-Security-Policy": policy},
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return [
        Route("/app/json", as_json, methods=["GET", "POST"]),
        Route("/app/cookies", cookies),
        Route("/app/stream", stream),
        Route("/app/nonce", nonce),
        Route("/healthz", health),
        Mount("/", app=demo_pages_app(SITE)),
    ]


def build_fuzz_app(store: Store, data_dir: Path) -> ASGIApp:
    """The whole app as ``build_app`` composes it, with the downstream pages."""
    return build_app(
        store,
        consent=consent_config(),
        analytics=analytics_config(data_dir / "journal" / "events"),
        journal_dir=data_dir / "journal",
        site=SITE,
        routes=_extra_routes(),
    )


def consent_middleware(app: ASGIApp) -> ConsentMiddleware:
    """The consent middleware inside ``app`` (under the wrappers ``build_app`` adds)."""
    inner: Any = app
    while not isinstance(inner, ConsentMiddleware):
        inner = inner.app
    return inner


# -- cookies -----------------------------------------------------------------------------
@cache
def consent_tokens() -> tuple[str, ...]:
    """Consent cookie values: valid, lapsed, outdated, forged, and signed but odd payloads."""
    config = consent_config()
    now = datetime.now(UTC)
    good = ConsentState.decide(config, {"analytics": True}, id="c" * 22, now=now)
    lapsed = ConsentState.decide(config, {}, id="d" * 22, now=now - timedelta(days=400))
    signer = URLSafeTimedSerializer(SECRET, salt=SALT)
    forger = URLSafeTimedSerializer("not-the-key-0123456789abcdef", salt=SALT)
    odd_payloads: list[Any] = [
        {"i": "x", "c": ["analytics"], "v": "old", "t": 1},
        {"i": "x", "c": ["nope", "marketing"], "v": "2026-11", "t": int(now.timestamp())},
        {"i": "x", "c": "analytics", "v": "2026-11", "t": 1},
        {"i": "", "c": [], "v": "2026-11", "t": 1},
        {"i": "x" * 65, "c": [], "v": "2026-11", "t": 1},
        {"i": "x", "c": [], "v": "2026-11", "t": 10**20},
        {"i": "x", "c": [], "v": "2026-11", "t": -(10**12)},
        {"i": "x", "c": [], "v": "2026-11", "t": True},
        {"i": "x", "c": [], "v": "2026-11", "t": 1.5},
        {"i": "x", "c": [], "v": "2026-11"},
        ["i", "c", "v", "t"],
        "text",
        None,
        {"i": "x\u2028<script>", "c": [], "v": "2026-11", "t": int(now.timestamp())},
    ]
    valid = dump_token(config, good)
    return (
        valid,
        dump_token(config, lapsed),
        valid[:-3] + "AAA",
        valid[: len(valid) // 2],
        valid + ".x",
        forger.dumps({"i": "x", "c": ["analytics"], "v": "2026-11", "t": 1}),
        *(signer.dumps(p) for p in odd_payloads),
    )


# -- requests ----------------------------------------------------------------------------
@dataclass
class FuzzRequest:
    """One request as a server would hand it to the app."""

    method: str
    raw_path: bytes
    query: bytes
    headers: list[tuple[bytes, bytes]]
    chunks: list[bytes]
    disconnect: bool = False  # the client goes away instead of finishing the body
    scheme: str = "https"
    client: tuple[str, int] | None = ("127.0.0.1", 50000)

    @property
    def path(self) -> str:
        """The path as uvicorn decodes it (``unquote`` of the ASCII request target)."""
        return unquote(self.raw_path.decode("ascii"))

    def endpoint(self) -> str:
        """The route this request aimed at, for the tallies (unknown paths in one bucket)."""
        path = self.path
        for known in sorted(ENDPOINTS, key=len, reverse=True):
            if known != "/" and path.startswith(known.rstrip("/")) and known.rstrip("/"):
                if known.startswith("/_consent/static") and known != "/_consent/static/":
                    if path != known:
                        continue
                return known.rstrip("/") or "/"
        return path if path in ENDPOINTS else "(other)"


def _path_segment() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(
            [
                "..",
                ".",
                "%00",
                "%2e%2e",
                "%2F",
                "%5c",
                "%ff",
                "%",
                "%zz",
                "a" * 300,
                "b" * 5000,
                "banner.js%00",
                "banner.js\x7f",
                "..%2fpyproject.toml",
                "standin",
                "index.html",
                "%01",
                "%0d%0a",
                "%c3%a9",
                "%ed%a0%80",
            ]
        ),
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=12).map(
            lambda s: quote(s, safe="/%.~")
        ),
    )


@st.composite
def paths(draw: st.DrawFn) -> bytes:
    """A request target's path: a known endpoint, one with junk after it, or junk."""
    base = draw(st.sampled_from(ENDPOINTS))
    kind = draw(st.sampled_from(["plain", "plain", "append", "static", "junk"]))
    if kind == "plain":
        path = base
    elif kind == "append":
        path = base.rstrip("/") + "/" + draw(_path_segment())
    elif kind == "static":
        prefix = draw(st.sampled_from(["/_consent/static/", "/_analytics/", "/standin/"]))
        segments = draw(st.lists(_path_segment(), min_size=1, max_size=3))
        path = prefix + "/".join(segments)
    else:
        path = "/" + "/".join(draw(st.lists(_path_segment(), max_size=4)))
    # a request target is visible ASCII: anything else is percent-encoded by the client
    return quote(path, safe="/%:@!$&'()*+,;=-._~").encode("ascii")


_QUERY_KEYS = ("next", "lang", "part", "format", "site", "period", "from", "to", "limit", "v")


@cache
def _query_pairs() -> st.SearchStrategy[list[tuple[str, str]]]:
    return st.lists(
        st.tuples(
            st.one_of(st.sampled_from(_QUERY_KEYS), _TEXT),
            st.one_of(
                st.sampled_from(BAD_URLS + GOOD_URLS),
                st.sampled_from(
                    ["nl", "en", "NL", "settings", "json", SITE, "7d", "day", "30d", "-1"]
                ),
                st.sampled_from(["2026-02-30", "9999-99-99", "0", "1001", "10", "\u0661"]),
                _TEXT,
            ),
        ),
        max_size=5,
    )


@st.composite
def queries(draw: st.DrawFn) -> bytes:
    """A query string: the parameters the endpoints read, with good, bad and odd values."""
    pairs = draw(_query_pairs())
    raw = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    if draw(st.booleans()):
        # and sometimes as a sloppy client writes it: unescaped, with stray % and &
        raw = "&".join(f"{k}={v}" for k, v in pairs)
        raw = quote(raw, safe="/%&=?:@!$'()*+,;[]~")
    return raw.encode("ascii")


@cache
def _cookie_parts() -> tuple[st.SearchStrategy[str], st.SearchStrategy[str]]:
    names = st.sampled_from(
        ["kruimel_consent", "kruimel_lang", "kruimel_optout", "_ga", "pi_opt_in123456"]
    )
    values = st.one_of(
        st.sampled_from(consent_tokens()),
        st.sampled_from(["1", "0", "en", "nl", "xx", '"quoted"', "a=b", ""]),
        _TEXT.map(lambda t: t.replace(";", "")),
    )
    return names, values


@st.composite
def cookie_headers(draw: st.DrawFn) -> bytes:
    """A Cookie line: Kruimel's cookies (valid, lapsed, forged, garbled) and others."""
    parts = []
    names, values = _cookie_parts()
    for _ in range(draw(st.integers(0, 4))):
        parts.append(f"{draw(names)}={draw(values)}")
    joiner = draw(st.sampled_from(["; ", ";", ",", " ; "]))
    return _latin1(joiner.join(parts))


_CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "text/plain",
    "text/plain;charset=UTF-8",
    "multipart/form-data; boundary=x",
    "text/html",
    ";",
    "",
    "application/json\x80",
)


@cache
def _header_candidates() -> dict[bytes, st.SearchStrategy[bytes]]:
    url_value = st.one_of(
        st.sampled_from(BAD_URLS + GOOD_URLS).map(_latin1),
        _HEADER_BYTES,
    )
    return {
        b"origin": st.one_of(
            url_value, st.sampled_from([b"https://example.nl", b"http://localhost:3000"])
        ),
        b"referer": url_value,
        b"cookie": cookie_headers(),
        b"content-type": st.one_of(st.sampled_from(_CONTENT_TYPES).map(_latin1), _HEADER_BYTES),
        b"x-forwarded-for": st.one_of(
            st.sampled_from(
                [b"1.2.3.4", b"1.2.3.4, 10.0.0.1", b"::1", b"[2001:db8::1]:443", b"unknown"]
            ),
            _HEADER_BYTES,
        ),
        b"forwarded": st.one_of(
            st.sampled_from([b'for="[2001:db8::1]"', b"for=1.2.3.4;proto=https", b"for="]),
            _HEADER_BYTES,
        ),
        b"x-forwarded-proto": st.sampled_from([b"https", b"http", b"gopher", b""]),
        b"sec-gpc": st.sampled_from([b"1", b"0", b" 1 ", b"yes", b"\xff"]),
        b"dnt": st.sampled_from([b"1", b"0", b"null", b""]),
        b"accept-language": st.one_of(
            st.sampled_from(
                [
                    b"nl-NL,nl;q=0.9,en;q=0.8",
                    b"en;q=nan, nl;q=inf",
                    b"*;q=1e999",
                    b"en;q=-1",
                    b";;;,,,",
                    b"\xe9\xe9",
                ]
            ),
            _HEADER_BYTES,
        ),
        b"user-agent": st.one_of(
            st.sampled_from(
                [
                    b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0",
                    b"Googlebot/2.1 (+http://www.google.com/bot.html)",
                    b"curl/8.0",
                ]
            ),
            _HEADER_BYTES,
        ),
        b"authorization": st.sampled_from(
            [b"Bearer " + TOKEN.encode(), b"Bearer wrong", b"Bearer \xff\xfe", b"Basic x", b""]
        ),
        b"x-kruimel-consent": st.sampled_from(consent_tokens()).map(_latin1),
        b"sec-fetch-site": st.sampled_from([b"same-origin", b"cross-site", b"none", b"x"]),
        b"access-control-request-method": st.sampled_from([b"POST", b"DELETE", b"get", b""]),
        b"range": st.sampled_from([b"bytes=0-10", b"bytes=10-0", b"bytes=x", b"bytes=0-0,5-"]),
        b"if-none-match": st.one_of(st.sampled_from([b"*", b'W/"x"', b""]), _HEADER_BYTES),
        b"if-modified-since": st.sampled_from(
            [b"Thu, 01 Jan 1970 00:00:00 GMT", b"garbage", b"Mon, 99 Foo 99999 99:99:99 GMT"]
        ),
        b"accept-encoding": st.sampled_from([b"gzip", b"br, gzip;q=0", b""]),
    }


@st.composite
def header_lists(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    """Request headers: the ones Kruimel reads, with good, malformed and garbage values."""
    headers: list[tuple[bytes, bytes]] = []
    candidates = _header_candidates()
    if draw(st.integers(0, 9)):
        headers.append(
            (
                b"host",
                draw(
                    st.one_of(
                        st.sampled_from(
                            [b"www.example.nl", b"localhost:8000", b"[::1]:8000", b"[", b"a:b:c"]
                        ),
                        _HEADER_BYTES,
                    )
                ),
            )
        )
    for name in draw(st.lists(st.sampled_from(sorted(candidates)), max_size=8, unique=True)):
        headers.append((name, draw(candidates[name])))
    if draw(st.integers(0, 4)) == 0:
        # a repeated header, as proxies and odd clients send them
        name = draw(st.sampled_from([b"cookie", b"origin", b"content-type", b"sec-gpc"]))
        headers.append((name, draw(_HEADER_BYTES)))
    return headers


@cache
def _json_shapes() -> st.SearchStrategy[Any]:
    # built once: hypothesis validates a strategy each time one is made
    leaf = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=20),
        st.sampled_from(["all", "none", "custom", "banner", "api", "nl", "en"] + list(BAD_URLS)),
    )
    value = st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(
                st.sampled_from(
                    ["accept", "categories", "control", "lang", "optout", "n", "u", "d", "r"]
                    + ["p", "h", "w", "e", "analytics", "marketing", "necessary", "x"]
                ),
                inner,
                max_size=5,
            ),
        ),
        max_leaves=12,
    )
    return st.one_of(
        value,
        st.fixed_dictionaries(
            {"accept": st.sampled_from(["all", "none", "custom", "x"])},
            optional={
                "categories": st.dictionaries(
                    st.sampled_from(["analytics", "marketing", "necessary", "x"]), st.booleans()
                ),
                "control": st.sampled_from(["api", "banner", "form"]),
                "lang": st.sampled_from(["nl", "en", "de", None]),
            },
        ),
        st.fixed_dictionaries({"optout": st.sampled_from([True, False, 1, "1"])}),
        st.fixed_dictionaries(
            {
                "n": st.sampled_from(["pageview", "signup", "", "x" * 200]),
                "u": st.one_of(st.sampled_from(BAD_URLS + GOOD_URLS), st.text(max_size=30)),
                "d": st.sampled_from([SITE, "spa.example.org", "other.example", "a,b", ""]),
            },
            optional={
                "r": st.sampled_from(BAD_URLS + GOOD_URLS),
                "h": st.booleans(),
                "w": st.one_of(st.integers(), st.floats()),
                "p": st.one_of(st.text(max_size=20), st.dictionaries(st.text(max_size=5), leaf)),
                "e": st.one_of(st.integers(), st.floats()),
            },
        ),
    )


def _json_body(draw: st.DrawFn) -> bytes:
    shapes = _json_shapes()
    text = json.dumps(draw(shapes))
    if draw(st.integers(0, 9)) == 0:
        text = "[" * draw(st.integers(100, 3000))  # deep nesting
    return text.encode("utf-8", "surrogatepass")


@cache
def _form_pairs() -> st.SearchStrategy[list[tuple[str, str]]]:
    return st.lists(
        st.tuples(
            st.sampled_from(["accept", "categories", "next", "lang", "optout", "x"]),
            st.one_of(
                st.sampled_from(
                    ["all", "none", "custom", "analytics", "marketing", "necessary", "0", "1"]
                ),
                st.sampled_from(BAD_URLS + GOOD_URLS),
                st.text(max_size=20),
            ),
        ),
        max_size=6,
    )


def _form_body(draw: st.DrawFn) -> bytes:
    pairs = draw(_form_pairs())
    body = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in pairs)
    if draw(st.booleans()):
        body = "&".join(f"{k}={v}" for k, v in pairs)  # unescaped, as a sloppy client sends
    return body.encode("utf-8", "surrogatepass")


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """A body: a decision or an event as JSON, a form, garbage bytes, or a huge one."""
    kind = draw(st.sampled_from(["none", "json", "json", "form", "form", "bytes", "huge"]))
    if kind == "none":
        return b""
    if kind == "json":
        return _json_body(draw)
    if kind == "form":
        return _form_body(draw)
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    return draw(st.sampled_from([b"a", b"{", b"&"])) * draw(
        st.sampled_from([8 * 1024, 8 * 1024 + 1, 70_000, 1_100_000])
    )


@st.composite
def decisions(draw: st.DrawFn) -> FuzzRequest:
    """A consent decision or objection, plausible enough to reach the log: a form or JSON
    from the site's own page or another, with good and malformed ``next``, Origin, Referer."""
    path = draw(st.sampled_from(["/_consent", "/_consent/", "/_consent/optout"]))
    url = st.sampled_from(BAD_URLS + GOOD_URLS)
    headers = [(b"host", b"www.example.nl")]
    for name in (b"origin", b"referer"):
        if draw(st.booleans()):
            # the site's own page half the time, so that decisions get through to the log
            headers.append((name, _latin1(draw(st.one_of(st.just(OWN + "/"), url)))))
    if draw(st.booleans()):
        headers.append((b"cookie", draw(cookie_headers())))
    if draw(st.integers(0, 3)) == 0:
        headers.append((b"sec-gpc", b"1"))
    if draw(st.booleans()):
        pairs = [("accept", draw(st.sampled_from(["all", "none", "custom", "x"])))]
        pairs += [
            ("categories", c)
            for c in draw(
                st.lists(st.sampled_from(["analytics", "marketing", "necessary", "x"]), max_size=3)
            )
        ]
        pairs += [("optout", draw(st.sampled_from(["0", "1", "2"])))]
        if draw(st.booleans()):
            pairs.append(("next", draw(url)))
        if draw(st.booleans()):
            pairs.append(("lang", draw(st.sampled_from(["nl", "en", "xx"]))))
        body = "&".join(f"{k}={quote(v, safe='')}" for k, v in pairs).encode()
        headers.append((b"content-type", b"application/x-www-form-urlencoded"))
    else:
        body = _json_body(draw)
        headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", str(len(body)).encode()))
    return FuzzRequest(
        method=draw(st.sampled_from(["POST", "POST", "DELETE"])),
        raw_path=path.encode(),
        query=b"",
        headers=headers,
        chunks=[body],
        scheme="https",
    )


_DATES = ["2026-02-30", "0001-01-01", "1970-01-01", "9999-12-31", "2026-13-01", "x", ""]


@st.composite
def summaries(draw: st.DrawFn) -> FuzzRequest:
    """``GET /api/summary`` with the right token and a configured site, so the query
    parameters (period, from, to, limit) reach the store."""
    params = {"site": draw(st.sampled_from([SITE, "spa.example.org", "EXAMPLE.NL", " ", "x"]))}
    for key, values in (
        ("period", ["day", "7d", "30d", "month", "12mo", "custom", "", "-1d", "\u0661d"]),
        ("from", _DATES),
        ("to", _DATES),
        ("limit", ["1", "1000", "1001", "0", "-5", "\u0661", "9" * 30, ""]),
    ):
        if draw(st.booleans()):
            params[key] = draw(st.one_of(st.sampled_from(values), _TEXT))
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    headers = [(b"host", b"www.example.nl"), (b"authorization", b"Bearer " + TOKEN.encode())]
    return FuzzRequest(
        method=draw(st.sampled_from(["GET", "HEAD"])),
        raw_path=b"/_analytics/api/summary",
        query=query.encode("ascii"),
        headers=headers,
        chunks=[b""],
    )


@st.composite
def events(draw: st.DrawFn) -> FuzzRequest:
    """``POST /api/event`` for a configured site, from a browser-like client, so the event
    reaches normalisation, the visitor key and the journal."""
    event: dict[str, Any] = {
        "n": draw(st.sampled_from(["pageview", "engagement", "Signup", " x "])),
        "u": draw(
            st.one_of(
                st.sampled_from(BAD_URLS + GOOD_URLS),
                st.sampled_from(["https://www.example.nl/a?utm_source=x&ref=y#/route"]),
                _TEXT.map(lambda t: "https://www.example.nl/" + t),
            )
        ),
        "d": draw(st.sampled_from([SITE, "spa.example.org", "example.nl,spa.example.org"])),
    }
    if draw(st.booleans()):
        event["r"] = draw(st.one_of(st.sampled_from(BAD_URLS + GOOD_URLS), _TEXT))
    if draw(st.booleans()):
        event["h"] = draw(st.sampled_from([1, True, "yes"]))
    if draw(st.booleans()):
        event["p"] = draw(st.dictionaries(_TEXT, st.one_of(_TEXT, st.integers()), max_size=3))
    if draw(st.booleans()):
        event["e"] = draw(st.one_of(st.integers(-1, 10**12), st.floats()))
    body = json.dumps(event).encode("utf-8", "surrogatepass")
    headers = [
        (b"host", b"www.example.nl"),
        (b"content-type", draw(st.sampled_from([b"text/plain", b"application/json"]))),
        (b"content-length", str(len(body)).encode()),
        (b"user-agent", draw(_header_candidates()[b"user-agent"])),
    ]
    for name in (b"origin", b"x-forwarded-for", b"sec-gpc", b"dnt", b"cookie"):
        if draw(st.integers(0, 2)) == 0:
            headers.append((name, draw(_header_candidates()[name])))
    return FuzzRequest(
        method="POST",
        raw_path=b"/_analytics/api/event",
        query=b"",
        headers=headers,
        chunks=[body],
        client=draw(st.sampled_from([("203.0.113.9", 1234), ("2001:db8::7", 5), ("127.0.0.1", 1)])),
    )


def requests() -> st.SearchStrategy[FuzzRequest]:
    """One request: hostile in every part, or one plausible enough to reach the consent log,
    the summary's queries or the event journal (the strategy both the test and the
    benchmark draw from)."""
    return st.one_of(hostile_requests(), decisions(), summaries(), events())


@st.composite
def hostile_requests(draw: st.DrawFn) -> FuzzRequest:
    """Any method, path, query, headers and body, a Content-Length that may lie."""
    method = draw(
        st.sampled_from(
            ["GET", "GET", "HEAD", "POST", "POST", "POST", "DELETE", "OPTIONS", "PUT", "PATCH"]
            + ["TRACE", "CONNECT", "FOO", "get", "post"]
        )
    )
    raw_path = draw(paths())
    headers = draw(header_lists())
    body = draw(bodies())
    # Content-Length: right, missing, lying either way, or not a number.
    length = draw(st.sampled_from(["right", "right", "right", "none", "more", "less", "junk"]))
    if length == "right":
        headers.append((b"content-length", str(len(body)).encode()))
    elif length == "more":
        headers.append((b"content-length", str(len(body) + draw(st.integers(1, 10**7))).encode()))
    elif length == "less":
        headers.append((b"content-length", str(max(0, len(body) - 1)).encode()))
    elif length == "junk":
        headers.append(
            (b"content-length", draw(st.sampled_from([b"-1", b"1e3", b"\xb2", b"", b"9" * 30])))
        )
    if body and draw(st.booleans()):
        cut = sorted(draw(st.lists(st.integers(0, len(body)), max_size=3)))
        chunks = [body[a:b] for a, b in zip([0, *cut], [*cut, len(body)], strict=True)]
    else:
        chunks = [body]
    client = draw(
        st.sampled_from([("127.0.0.1", 50000), ("203.0.113.9", 1234), ("::1", 5), ("bad", 0), None])
    )
    return FuzzRequest(
        method=method,
        raw_path=raw_path,
        # some servers (httptools) pass obs-text bytes in the query string on
        query=draw(queries()) + draw(st.sampled_from([b"", b"", b"", b"&\xff\xfe=%", b"\x80"])),
        headers=headers,
        chunks=chunks,
        disconnect=draw(st.integers(0, 9)) == 0,
        scheme=draw(st.sampled_from(["https", "http"])),
        client=client,
    )


# -- running one request -----------------------------------------------------------------
@dataclass
class Exchange:
    """What the app did with one request."""

    request: FuzzRequest
    messages: list[Message] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def status(self) -> int:
        """The status sent, 500 for an exception before any (as a server answers)."""
        for message in self.messages:
            if message["type"] == "http.response.start":
                return int(message["status"])
        return 500 if self.error is not None else 0

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The response's raw headers."""
        for message in self.messages:
            if message["type"] == "http.response.start":
                return list(message.get("headers", []))
        return []

    def body(self) -> bytes:
        """The response body."""
        return b"".join(
            m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"
        )


async def run(app: ASGIApp, request: FuzzRequest, timeout: float = 30.0) -> Exchange:
    """Send ``request`` to ``app`` as a server would and collect what comes back."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.raw_path,
        "query_string": request.query,
        "root_path": "",
        "headers": [(k.lower(), v) for k, v in request.headers],
        "client": request.client,
        "server": ("www.example.nl", 443),
        "state": {},
    }
    exchange = Exchange(request)
    done = asyncio.Event()
    pending: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(request.chunks) - 1}
        for i, chunk in enumerate(request.chunks)
    ]
    if request.disconnect:
        pending[-1] = {"type": "http.disconnect"}

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        await done.wait()  # as a server does: the next message is the disconnect
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        exchange.messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()

    try:
        await asyncio.wait_for(app(scope, receive, send), timeout)
    except BaseException as e:  # noqa: BLE001 - the finding itself
        if isinstance(e, KeyboardInterrupt | SystemExit):
            raise
        exchange.error = e
    finally:
        done.set()
    return exchange


_BODYLESS = frozenset({204, 304})


def check(exchange: Exchange) -> list[str]:
    """Everything wrong with one exchange (empty when it was answered properly)."""
    problems: list[str] = []
    request = exchange.request
    if exchange.error is not None:
        problems.append(f"raised {type(exchange.error).__name__}: {exchange.error}")
    status = exchange.status
    if status >= 500:
        problems.append(f"answered {status}")
    kinds = [m["type"] for m in exchange.messages]
    if not kinds:
        if exchange.error is None and not request.disconnect:
            problems.append("no response at all")
        return problems
    if kinds[0] != "http.response.start" or kinds.count("http.response.start") != 1:
        problems.append(f"message order {kinds}")
        return problems
    bodies = [m for m in exchange.messages if m["type"] == "http.response.body"]
    if request.disconnect and (not bodies or bodies[-1].get("more_body", False)):
        return problems  # the client went away: an answer cut short is what it gets
    if not bodies or bodies[-1].get("more_body", False):
        problems.append("the body never ended")
    elif any(b.get("more_body", False) is False for b in bodies[:-1]):
        problems.append("body messages after the last one")
    if not 100 <= status <= 599:
        problems.append(f"status {status}")
    headers = exchange.headers()
    for name, value in headers:
        if not isinstance(name, bytes) or not isinstance(value, bytes):
            problems.append(f"header not bytes: {name!r}: {value!r}")
        elif any(c in value for c in b"\r\n\x00") or not name or any(c in name for c in b" :\r\n"):
            problems.append(f"header injection or bad name: {name!r}: {value[:80]!r}")
    body = exchange.body()
    lengths = [v for k, v in headers if k.lower() == b"content-length"]
    if len(lengths) > 1:
        problems.append(f"{len(lengths)} Content-Length headers")
    if request.method != "HEAD" and status not in _BODYLESS and lengths:
        if lengths[0] != str(len(body)).encode():
            problems.append(f"Content-Length {lengths[0]!r} for a body of {len(body)} bytes")
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    # Kruimel's own errors are {"error": ...} JSON; the pages' app (which also answers a
    # bare "/_analytics", outside the collector's mount) answers in its own way.
    own = request.path.startswith(("/_consent", "/_analytics/"))
    if own and status >= 400 and request.method != "HEAD" and body:
        if not content_type.startswith(b"application/json"):
            problems.append(f"error {status} as {content_type!r}, not JSON: {body[:80]!r}")
        else:
            try:
                data = json.loads(body)
            except ValueError:
                problems.append(f"error body is not JSON: {body[:80]!r}")
            else:
                if not isinstance(data, dict) or not isinstance(data.get("error"), str):
                    problems.append(f"error body is not {{'error': ...}}: {body[:80]!r}")
    if status == 405 and not any(k.lower() == b"allow" for k, _ in headers):
        if own and request.method != "OPTIONS":
            problems.append("405 without Allow")
    return problems


class LogTrap(logging.Handler):
    """Collects every ERROR or traceback logged anywhere while installed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def take(self) -> list[str]:
        """The trapped records as lines, and forget them."""
        lines = [f"{r.name} {r.levelname}: {r.getMessage()}" for r in self.records]
        self.records.clear()
        return lines


def is_decision(exchange: Exchange) -> bool:
    """Whether the visitor got a consent decision: a new consent cookie came back."""
    return exchange.status < 400 and any(
        k == b"set-cookie" and v.startswith(b"kruimel_consent=") and b"Max-Age=0" not in v
        for k, v in exchange.headers()
    )


@asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run the app's lifespan (store migrations, writers, collector) around a block."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the app did not start: {started}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


class Fuzzer:
    """Drives requests into a started app, counts the answers and keeps the findings."""

    def __init__(self, app: ASGIApp, store: Store, trap: LogTrap) -> None:
        self.app, self.store, self.trap = app, store, trap
        self.requests = 0
        self.decisions = 0
        # endpoint -> [requests, 5xx, tracebacks, 2xx, 3xx, 4xx]
        self.by_endpoint: dict[str, list[int]] = {}
        self.findings: list[tuple[FuzzRequest, list[str]]] = []

    async def one(self, request: FuzzRequest) -> list[str]:
        """Send one request; the problems with its answer (also kept in ``findings``)."""
        exchange = await run(self.app, request)
        return self.tally(exchange, check(exchange))

    def tally(self, exchange: Exchange, problems: list[str]) -> list[str]:
        """Count one answered request with its ``problems`` and what was logged meanwhile."""
        request = exchange.request
        logged = self.trap.take()
        problems = problems + [f"logged {line}" for line in logged]
        self.requests += 1
        if is_decision(exchange):
            self.decisions += 1
        tally = self.by_endpoint.setdefault(request.endpoint(), [0] * 6)
        tally[0] += 1
        if 200 <= exchange.status < 500:
            tally[exchange.status // 100 + 1] += 1
        tally[1] += exchange.status >= 500
        tally[2] += bool(logged) or exchange.error is not None
        if problems:
            self.findings.append((request, problems))
        return problems

    async def recorded(self) -> int:
        """Decisions in the consent log (not counting the lapse records written before one)."""
        log = consent_middleware(self.app).log
        assert log is not None and log.writer is not None
        await log.writer.flush()
        rows = await self.store.aquery("SELECT count() FROM consent_log WHERE action != 'expire'")
        return int(rows[0][0])


def describe(request: FuzzRequest) -> str:
    """A request, short enough for a report line."""
    body = b"".join(request.chunks)
    return (
        f"{request.method} {request.raw_path[:80]!r}?{request.query[:80]!r} "
        f"headers={[(k, v[:60]) for k, v in request.headers]} body={body[:120]!r}"
        f"{' (disconnect)' if request.disconnect else ''}"
    )


def summary_lines(fuzzer: Fuzzer, findings: Sequence[tuple[FuzzRequest, list[str]]]) -> list[str]:
    """The figures: requests, 5xx and tracebacks, by endpoint."""

    def row(name: str, t: Sequence[int]) -> str:
        gone = t[0] - t[1] - t[3] - t[4] - t[5]  # the client left before any answer
        return f"{name:30} {t[0]:8d} {t[3]:6d} {t[4]:6d} {t[5]:6d} {t[1]:6d} {t[2]:11d} {gone:5d}"

    head = ("endpoint", "requests", "2xx", "3xx", "4xx", "5xx", "tracebacks", "left")
    lines = ["{:30} {:>8} {:>6} {:>6} {:>6} {:>6} {:>11} {:>5}".format(*head)]
    for name in sorted(fuzzer.by_endpoint):
        lines.append(row(name, fuzzer.by_endpoint[name]))
    lines.append(row("total", [sum(t[i] for t in fuzzer.by_endpoint.values()) for i in range(6)]))
    lines.append("(left: the client went away before any answer, as it was told to)")
    lines.append(f"other findings (malformed answers, non-JSON errors): {len(findings)}")
    return lines
