"""The consent middleware: the server half of Kruimel in front of any ASGI app.

Per HTTP request it reads the visitor's choice once and puts it in ``scope["consent"]``;
requests under ``config.prefix`` go to :class:`~consent.endpoints.ConsentEndpoints`; every
other response passes the cookie guard, and HTML pages are rewritten as they stream (banner
or manage control, head assets, Consent Mode, gated elements of allowed categories).

Pure ASGI, like Starlette's ``GZipMiddleware``: options and everything derived from them
are set up once in ``__init__``; each request gets its own :class:`_Responder`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from time import time
from types import MappingProxyType
from typing import NamedTuple

import anyio
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kruimel.base.headers import RawHeaders, header_list, merge_vary

from .banner import render_banner, render_head, render_manage
from .config import ConsentConfig
from .consent_mode import ConsentMode
from .cookie import TOKEN_HEADER, read_cookie
from .encoding import PageCodec, page_codec
from .endpoints import ConsentEndpoints
from .errors import ConsentConfigError
from .frameworks import check_placement
from .guard import CookieGuard
from .i18n import choose_language
from .records import ConsentLog
from .rewrite import HtmlRewriter
from .state import ConsentState

__all__ = ["ConsentMiddleware", "csp_script_policy"]

_NONCE = re.compile(rb"'nonce-([A-Za-z0-9+/_=-]+)'")
# Statuses whose body is a page a person sees. Not 204/304 (no body), 206 (a byte range of
# the page: offsets would break), 1xx and 3xx (the browser never shows the body).
_NO_PAGE = frozenset({204, 206, 304})
# The first byte of a Content-Type that can be text/html (case and leading space allowed).
_MAYBE_HTML = frozenset({b"t", b"T", b" ", b"\t"})
# The page memo holds at most this many pages of at most this size (a few MiB in all).
_MEMO_PAGES = 128
_MEMO_MAX_BODY = 64 * 1024
_SPLICE = "kruimel-nonce-splice"
# Response headers a rewritten page does not keep: validators of the app's bytes, and the
# length (set again for the new body, or left out so the server chunks a stream).
_PAGE_DROPS = frozenset({b"etag", b"last-modified", b"content-length"})
_TOKEN = TOKEN_HEADER.encode("latin-1")
# At most this many readings and page plans are remembered, each under a Cookie line of at
# most _MEMO_MAX_COOKIE bytes (so some 8 MiB a memo at worst); then a memo starts over.
_MEMO_VISITORS = 4096
_MEMO_MAX_COOKIE = 2048


# What ConsentMiddleware.read memoises a reading on: the Cookie line, or (Cookie, Sec-GPC,
# X-Kruimel-Consent) when either of the last two came.
_ReadingKey = bytes | tuple[bytes | None, bytes | None, bytes | None]


class Reading(NamedTuple):
    """A request's consent state as the middleware keeps it (``ConsentMiddleware.read``).

    :param state: the visitor's choice, ``scope["consent"]``.
    :param until: the ``time.time()`` from which the cookie must be read again (the choice
        lapses); 0 for a bad, lapsed or outdated cookie, which is read every time.
    :param shown: what a page shows of the state: ``(decided, gpc, allowed categories)``.
    """

    state: ConsentState
    until: float
    shown: tuple[bool, bool, tuple[str, ...]]


class PagePlan(NamedTuple):
    """What a page response takes from the request beyond the state (``page_plan``).

    :param lang: the banner's language.
    :param expired: ``Set-Cookie`` lines expiring cookies of categories the visitor does
        not allow that the browser still sends.
    """

    lang: str
    expired: tuple[tuple[bytes, bytes], ...]


def _reading(state: ConsentState, until: float) -> Reading:
    return Reading(state, until, (state.decided, state.gpc, state.allowed))


def _drop_nonce(html: str) -> str:
    return html.replace(f' nonce="{_SPLICE}"', "")


def csp_script_policy(policies: list[bytes]) -> tuple[str | None, bool]:
    """``(nonce, inline_allowed)`` for ``Content-Security-Policy`` header values.

    The nonce comes from the directive that governs script elements (``script-src-elem``,
    else ``script-src``, else ``default-src``). Without a nonce, an inline script is allowed
    only when no policy governs scripts or each one that does says ``'unsafe-inline'``.
    """
    nonce: str | None = None
    inline = True
    for policy in policies:
        directives: dict[bytes, bytes] = {}
        for directive in policy.split(b";"):
            parts = directive.split(None, 1)
            if parts:
                directives.setdefault(parts[0].lower(), parts[1] if len(parts) > 1 else b"")
        for name in (b"script-src-elem", b"script-src", b"default-src"):
            if name in directives:
                sources = directives[name]
                found = _NONCE.search(sources)
                if found is not None:
                    nonce = nonce or found.group(1).decode("ascii")
                elif b"'unsafe-inline'" not in sources.lower():
                    inline = False
                break
    return nonce, inline or nonce is not None


class ConsentMiddleware:
    """Consent banner, cookie guard and gated-element activation for an ASGI app.

    ``app.add_middleware(ConsentMiddleware, config=config, log=log)``.

    :param config: the site's :class:`~consent.config.ConsentConfig`.
    :param log: the proof-of-consent log used by the endpoints. Its table is created at
        lifespan startup: the middleware takes part in the lifespan protocol (and answers it
        alone for an app that does not speak it). A ``BatchWriter`` behind the log is the
        host's to start and stop.
    :raises ConsentConfigError: ``config`` is not a ``ConsentConfig``, or the middleware
        was placed where it cannot see ``/_consent`` (Litestar's ``DefineMiddleware``).
    """

    def __init__(self, app: ASGIApp, config: ConsentConfig, log: ConsentLog | None = None) -> None:
        if not isinstance(config, ConsentConfig):
            raise ConsentConfigError(
                "config",
                f"give a consent.ConsentConfig, not {type(config).__name__}",
                source="ConsentMiddleware",
            )
        check_placement(app)  # e.g. not per route under Litestar (frameworks.py)
        self.app = app
        self.config = config
        self.log = log
        self.endpoints = ConsentEndpoints(config, log)
        self.guard = CookieGuard(config)
        self.consent_mode = ConsentMode(config)
        self.prefix = config.prefix.rstrip("/")
        self._prefix_dir = self.prefix + "/"
        # Per-process memos of pure functions of a few request values; bounded.
        self._heads: dict[str, str] = {}
        self._languages: dict[tuple[bytes, bytes, str], str] = {}
        self._readings: dict[_ReadingKey, Reading] = {}
        self._plans: dict[tuple[object, ...], PagePlan] = {}
        # Whole rewritten pages, keyed on everything the rewrite depends on (see rewrite_page).
        self._pages: dict[tuple[object, bytes], bytes] = {}
        # The states of every request without a consent cookie: shared, read-only, no id.
        blank = ConsentState.undecided(config)
        blank = replace(blank, id="", categories=MappingProxyType(dict(blank.categories)))
        self._blank = _reading(blank, float("inf"))
        self._blank_gpc = _reading(replace(blank, gpc=config.honor_gpc), float("inf"))
        # A consent cookie cannot be in a Cookie header that lacks its name.
        self._cookie_bytes = config.cookie_name.encode("latin-1")

    def read(self, scope: Scope) -> Reading:
        """The request's consent state: ``read_cookie``, memoised per visitor.

        Checking the signature is most of what a request costs here, and a visitor sends
        the same cookie with every request, so a valid decision is kept (keyed on every
        header ``read_cookie`` reads) until it lapses. A request that carries no consent
        cookie, only other cookies or none, gets one shared state without an id (the id is
        minted when the visitor decides); a bad, lapsed or outdated cookie is read again
        every time.
        """
        cookie = gpc = token = None
        # A plain loop: cheaper here than dict(headers), and Cookie lines may come split.
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookie = value if cookie is None else cookie + b"; " + value
            elif name == b"sec-gpc":  # repeated lines are joined, as read_cookie does
                gpc = value if gpc is None else gpc + b", " + value
            elif name == _TOKEN:
                token = value if token is None else token + b", " + value
        # Keyed on the Cookie line alone, as it nearly always comes; else on all three.
        key: _ReadingKey
        if token is not None:
            key = (cookie, gpc, token)
        elif cookie is None:
            return self._blank_gpc if gpc is not None and self._gpc(gpc) else self._blank
        else:
            key = cookie if gpc is None else (cookie, gpc, None)
        hit = self._readings.get(key)
        if hit is not None and hit[1] > time():  # hit.until, by index: this runs per request
            return hit
        return self._read_new(scope, key, cookie, gpc, token)

    def _gpc(self, value: bytes) -> bool:
        """Whether a ``Sec-GPC`` value asks not to be tracked and the site honours it."""
        return value.strip() == b"1" and self.config.honor_gpc

    def _read_new(
        self,
        scope: Scope,
        key: _ReadingKey,
        cookie: bytes | None,
        gpc: bytes | None,
        token: bytes | None,
    ) -> Reading:
        blank = self._blank_gpc if gpc is not None and self._gpc(gpc) else self._blank
        if token is None and cookie is not None and self._cookie_bytes not in cookie:
            hit = blank  # cookies, but not ours (an app's session, say): no choice yet
        else:
            reading = read_cookie(self.config, scope)
            state = reading.state
            lapses = state.expires_at
            if reading.status == "absent":  # a look-alike name, such as x{cookie_name}
                hit = blank
            elif reading.status != "valid" or lapses is None:
                return _reading(state, 0.0)  # read again next time
            else:
                # Shared by this visitor's later requests: make its categories read-only,
                # so app code that writes to them cannot change what the next one sees.
                state = replace(state, categories=MappingProxyType(dict(state.categories)))
                hit = _reading(state, lapses.timestamp())
        if cookie is not None and len(cookie) > _MEMO_MAX_COOKIE:
            return hit  # too long to keep (see _MEMO_MAX_COOKIE)
        if len(self._readings) >= _MEMO_VISITORS:
            self._readings.clear()
        self._readings[key] = hit
        return hit

    def page_plan(self, scope: Scope, reading: Reading) -> PagePlan:
        """The banner's language and the expiring ``Set-Cookie`` lines of a page,
        memoised on what they depend on: the request's ``Cookie``, ``Host`` and
        ``Accept-Language``, the scheme, a ``?lang=`` and what the page shows of the state."""
        cookie = host = accept = b""
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookie = cookie + b"; " + value if cookie else value
            elif name == b"host":
                host = value
            elif name == b"accept-language":
                accept = value
        query: bytes = scope.get("query_string", b"")
        query = query if b"lang=" in query else b""
        secure = scope.get("scheme") == "https"
        key = (cookie, host, accept, secure, query, reading.shown)
        plan = self._plans.get(key)
        if plan is None:
            cookies = cookie_parser(cookie.decode("latin-1")) if cookie else {}
            expired: RawHeaders = []
            if cookies:
                self.guard.expire(
                    expired,
                    reading.state,
                    list(cookies),
                    host=host.decode("latin-1").lower() or "localhost",
                    secure=secure,
                )
            lang = self.language(query, accept, cookies.get(self.config.language_cookie, ""))
            plan = PagePlan(lang, tuple(expired))
            if len(cookie) > _MEMO_MAX_COOKIE:
                return plan  # too long to keep (see _MEMO_MAX_COOKIE)
            if len(self._plans) >= _MEMO_VISITORS:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def rewrite_page(
        self, key: tuple[object, ...] | None, body: bytes, build: Callable[[], HtmlRewriter]
    ) -> bytes:
        """The rewritten bytes of a page that came in one piece, memoised.

        Most pages are the same bytes for many visitors, and the rewrite is a pure function
        of the body and of ``key`` (what the visitor sees of their state, the language, the
        page address put into the forms, the CSP nonce and whether inline script is
        allowed). So a page seen before costs one hash of its body instead of a scan and a
        render. A page with a per-response nonce would never hit, so it is not kept.
        """
        if key is None or len(body) > _MEMO_MAX_BODY:
            rewriter = build()
            return rewriter.feed(body) + rewriter.finish()
        memo_key = (key, body)
        page = self._pages.get(memo_key)
        if page is None:
            rewriter = build()
            page = rewriter.feed(body) + rewriter.finish()
            if len(self._pages) >= _MEMO_PAGES:
                self._pages.clear()
            self._pages[memo_key] = page
        return page

    def head_html(self, lang: str, nonce: str | None) -> bytes:
        """``render_head`` for ``lang``; rendered once per language, the nonce spliced in.

        A nonce holds only ``[A-Za-z0-9+/_=-]`` (:data:`_NONCE`), which HTML escaping leaves
        as it is, so splicing it equals rendering with it.
        """
        template = self._heads.get(lang)
        if template is None:
            template = self._heads[lang] = render_head(self.config, lang=lang, nonce=_SPLICE)
        return (template.replace(_SPLICE, nonce) if nonce else _drop_nonce(template)).encode()

    def language(self, query: bytes, accept: bytes, chosen: str) -> str:
        """``choose_language`` memoised on what it reads: the query string (when it holds a
        ``lang=``), ``Accept-Language`` and the language cookie's value."""
        key = (query if b"lang=" in query else b"", accept, chosen)
        lang = self._languages.get(key)
        if lang is None:
            if len(self._languages) >= 1024:
                self._languages.clear()
            headers = [(b"accept-language", accept)]
            if chosen:
                cookie = f"{self.config.language_cookie}={chosen}".encode("latin-1")
                headers.append((b"cookie", cookie))
            probe = {"type": "http", "query_string": key[0], "headers": headers}
            lang = self._languages[key] = choose_language(self.config, probe)
        return lang

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and self.log is not None:
                await self._lifespan(self.log, scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        reading = self.read(scope)
        scope["consent"] = reading.state
        path: str = scope["path"]
        if path == self.prefix or path.startswith(self._prefix_dir):
            await self.endpoints(scope, receive, send)
            return
        responder = _Responder(self, scope, reading, send)
        await self.app(scope, receive, responder.send)

    async def _lifespan(self, log: ConsentLog, scope: Scope, receive: Receive, send: Send) -> None:
        # The log's table must exist before the first decision. The startup message is
        # caught on its way to the app, so the app's own startup runs after it. When the log
        # cannot start, the server is told (lifespan.startup.failed) and the app's lifespan
        # ends here: a server then exits, with lifespan "on" or "auto" alike, instead of
        # serving 503s to every decision.
        took_part = failed = False

        async def receive_with_log() -> Message:
            nonlocal took_part, failed
            took_part = True
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await log.start()
                except Exception as exc:
                    failed = True
                    await send({"type": "lifespan.startup.failed", "message": _failure(exc)})
                    raise _LogStartFailed from exc
            return message

        async def send_with_log(message: Message) -> None:
            if failed:
                return  # the server already heard why the startup failed
            # After the app has shut down: release a store the log opened itself.
            if message["type"] == "lifespan.shutdown.complete":
                await log.close()
            await send(message)

        try:
            await self.app(scope, receive_with_log, send_with_log)
        except Exception:
            if failed:
                return
            if took_part:
                raise
        if failed:
            return
        if not took_part:
            # The app does not speak lifespan (it raised or returned at once, as Django and
            # bare apps do): answer the protocol for the log alone.
            await _answer_lifespan(log, receive, send)


class _LogStartFailed(Exception):
    """Ends the app's lifespan when the consent log could not start."""


def _failure(exc: BaseException) -> str:
    return f"the consent log could not start: {exc}"


async def _answer_lifespan(log: ConsentLog, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await log.start()
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": _failure(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await log.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


class _Responder:
    """One response: guards its headers and, for an HTML page, rewrites its body.

    Non-HTML responses cost one pass over the header list: the start message goes out as
    soon as it is seen. For a page the start message is held back until the first body
    message, because only then is it known whether the whole body came at once (the new
    ``Content-Length`` can be given) or streams (``Content-Length`` is dropped and the
    server chunks it).
    """

    __slots__ = (
        "mw",
        "scope",
        "reading",
        "server_send",
        "start",
        "rewriter",
        "page",
        "key",
        "codec",
    )
    # Set by on_start for an HTML page only (a plain response pays for none of them): the
    # held start message, the streaming rewriter, what the rewrite needs and its memo key.
    start: Message | None
    rewriter: HtmlRewriter | None
    page: tuple[str, str, str | None, bool] | None
    key: tuple[object, ...] | None
    codec: PageCodec | None  # a gzip/deflate page: decoded here, encoded again (encoding.py)

    def __init__(self, mw: ConsentMiddleware, scope: Scope, reading: Reading, send: Send) -> None:
        self.mw = mw
        self.scope = scope
        self.reading = reading
        self.server_send = send
        self.page = None

    def build_rewriter(self) -> HtmlRewriter:
        """The page's rewriter; rendering the banner waits until a body needs it."""
        assert self.page is not None
        lang, next_url, nonce, inline = self.page
        mw, state, config = self.mw, self.reading.state, self.mw.config
        render = render_manage if state.decided else render_banner
        body = render(config, state=state, lang=lang, next_url=next_url, nonce=nonce)
        self.rewriter = HtmlRewriter(
            prelude=mw.consent_mode.render(state, nonce=nonce, inline=inline).encode(),
            head=mw.head_html(lang, nonce),
            body=body.encode(),
            allowed=frozenset(state.allowed),
            nonce=nonce,
        )
        return self.rewriter

    async def send(self, message: Message) -> None:
        if self.page is None:
            if message["type"] == "http.response.start":
                self.on_start(message)
                if self.page is not None:
                    self.start = message
                    return
            await self.server_send(message)
            return
        kind = message["type"]
        if kind == "http.response.pathsend":
            # A file response the server would send itself: read the page to rewrite it.
            body = await anyio.Path(message["path"]).read_bytes()
            message = {"type": "http.response.body", "body": body, "more_body": False}
            kind = "http.response.body"
        if kind != "http.response.body":
            await self.server_send(message)  # trailers, early hints
            return
        body = message.get("body", b"")
        more = message.get("more_body", False)
        if self.codec is None:
            await self.relay(body, more)
            return
        for piece, piece_more in self.codec.decode(body, more):
            await self.relay(piece, piece_more)

    async def relay(self, body: bytes, more: bool) -> None:
        """Rewrite one plain body message of a page and send it on."""
        start = self.start
        if start is not None:
            self.start = None
            headers: RawHeaders = start["headers"]
            if not more and not start.get("trailers", False):
                body = self.mw.rewrite_page(self.key, body, self.build_rewriter)
                headers.append((b"content-length", str(len(body)).encode("ascii")))
                await self.server_send(start)
                await self.server_send({"type": "http.response.body", "body": body})
                return
            await self.server_send(start)
        rewriter = self.rewriter or self.build_rewriter()
        out = rewriter.feed(body) if more else rewriter.feed(body) + rewriter.finish()
        if out or not more:
            await self.server_send({"type": "http.response.body", "body": out, "more_body": more})

    def on_start(self, message: Message) -> None:
        """Guard the headers; set up the rewriter when the response is an HTML page."""
        content_type = b""
        policies: list[bytes] = []
        sets_cookie = False
        plain = True  # not a download
        coding = None
        for key, value in message.get("headers") or ():
            key = key.lower()
            if key == b"content-type":
                content_type = value
            elif key == b"set-cookie":
                sets_cookie = True
            elif key == b"content-encoding":
                coding = value
            elif key == b"content-disposition":
                plain = plain and not value.lstrip()[:10].lower().startswith(b"attachment")
            elif key == b"content-security-policy":
                policies.append(value)
        reading = self.reading
        if sets_cookie:
            self.mw.guard.filter(header_list(message), reading.state)
        status: int = message["status"]
        if (
            content_type[:1] not in _MAYBE_HTML  # most types are told apart by a byte
            or not plain
            or content_type.lstrip()[:9].lower() != b"text/html"
            or status in _NO_PAGE
            or status < 200
            or 300 <= status < 400
        ):
            return
        codec = None
        if coding is not None and coding.strip().lower() not in (b"", b"identity"):
            codec = page_codec(coding)  # gzip or deflate from a compressor inside this one
            if codec is None:
                return  # br or zstd: passed on as it is (page_codec has warned)
        # The page now depends on the consent cookie: say so to caches, and drop the
        # validators of the app's own bytes (a 304 would bring back a stale banner). Its
        # length is set again once the rewritten body is known (or left to chunking).
        vary = False
        headers: RawHeaders = []
        for name, value in message["headers"]:
            key = name.lower()
            if key not in _PAGE_DROPS:
                vary = vary or key == b"vary"
                headers.append((bytes(name), bytes(value)))
        if vary:
            merge_vary(headers, b"Cookie")
        else:
            headers.append((b"vary", b"Cookie"))
        message["headers"] = headers
        scope = self.scope
        if scope["method"] == "HEAD":
            # Same headers as a GET would get, but the length of the rewritten page is
            # unknown without its body, so none is given.
            return
        plan = self.mw.page_plan(scope, reading)
        # Expire the cookies of denied categories that the browser still sends.
        headers += plan.expired
        nonce, inline = csp_script_policy(policies) if policies else (None, True)
        query: bytes = scope.get("query_string", b"")
        next_url = scope["path"] + ("?" + query.decode("latin-1") if query else "")
        self.rewriter = self.key = None
        self.page = (plan.lang, next_url, nonce, inline)
        self.codec = codec
        if codec is not None:
            self.server_send = codec.wrap(self.server_send)
        if nonce is None:
            # What the banner, the consent mode snippet and the activation show of the
            # state (the same fields banner.py caches its markup on), and the page address.
            self.key = (reading.shown, plan.lang, next_url, inline)
