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
from datetime import UTC, datetime
from types import MappingProxyType

import anyio
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kruimel.headers import RawHeaders, delete_header, header_list, merge_vary, set_header

from .banner import render_banner, render_head, render_manage
from .config import ConsentConfig
from .consent_mode import ConsentMode
from .cookie import TOKEN_HEADER, read_cookie
from .endpoints import ConsentEndpoints
from .errors import ConsentConfigError
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
# The page memo holds at most this many pages of at most this size (a few MiB in all).
_MEMO_PAGES = 128
_MEMO_MAX_BODY = 64 * 1024
_SPLICE = "kruimel-nonce-splice"
# Every request header that consent.cookie.read_cookie looks at.
_STATE_HEADERS = frozenset({b"cookie", b"sec-gpc", TOKEN_HEADER.encode("latin-1")})


def _now() -> datetime:
    return datetime.now(UTC)


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
    :raises ConsentConfigError: ``config`` is not a ``ConsentConfig``.
    """

    def __init__(self, app: ASGIApp, config: ConsentConfig, log: ConsentLog | None = None) -> None:
        if not isinstance(config, ConsentConfig):
            raise ConsentConfigError(
                "config",
                f"give a consent.ConsentConfig, not {type(config).__name__}",
                source="ConsentMiddleware",
            )
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
        self._states: dict[bytes, ConsentState] = {}
        self._languages: dict[tuple[bytes, bytes, str], str] = {}
        # Whole rewritten pages, keyed on everything the rewrite depends on (see rewrite_page).
        self._pages: dict[tuple[object, bytes], bytes] = {}
        blank = ConsentState.undecided(config)
        self._blank = replace(blank, id="", categories=MappingProxyType(dict(blank.categories)))

    def _read_state(self, scope: Scope) -> ConsentState:
        """``read_state``, memoised for valid cookies.

        Checking the signature is most of a request's cost for static files, and a visitor
        sends the same cookie with every request. Only a valid decision is kept, keyed on
        every header that ``read_state`` reads, and used only while it has not expired. A
        request with none of those headers gets the shared state without an id.
        """
        key: list[bytes] = []
        for name, value in scope["headers"]:
            if name in _STATE_HEADERS:
                key += (name, value)
        if not key:
            # No cookie and no signal: one shared, read-only state with no id yet (the id is
            # minted from the cookie reading when the visitor decides). Building a fresh one
            # with a random id was most of what a cookieless request cost.
            return self._blank
        cache_key = b"\0".join(key)
        hit = self._states.get(cache_key)
        if hit is not None and hit.expires_at is not None and hit.expires_at > _now():
            return hit
        reading = read_cookie(self.config, scope)
        state = reading.state
        if reading.status == "valid":
            if len(self._states) >= 4096:
                self._states.clear()
            # Shared by this visitor's later requests: make its categories read-only, so
            # app code that writes to them cannot change what the next request sees.
            state = replace(state, categories=MappingProxyType(dict(state.categories)))
            self._states[cache_key] = state
        return state

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

    def language(self, scope: Scope, accept: bytes, chosen: str) -> str:
        """``choose_language`` memoised on what it reads: ``?lang=``, ``Accept-Language``
        and the language cookie's value."""
        query: bytes = scope.get("query_string", b"")
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
        state = self._read_state(scope)
        scope["consent"] = state
        path: str = scope["path"]
        if path == self.prefix or path.startswith(self._prefix_dir):
            await self.endpoints(scope, receive, send)
            return
        responder = _Responder(self, scope, state, send)
        await self.app(scope, receive, responder.send)

    async def _lifespan(self, log: ConsentLog, scope: Scope, receive: Receive, send: Send) -> None:
        # The log's table must exist before the first decision. The startup message is
        # caught on its way to the app, so the app's own startup runs after it (and fails,
        # as the server expects, when the store cannot be reached).
        took_part = False

        async def receive_with_log() -> Message:
            nonlocal took_part
            took_part = True
            message = await receive()
            if message["type"] == "lifespan.startup":
                await log.start()
            return message

        async def send_with_log(message: Message) -> None:
            # After the app has shut down: release a store the log opened itself.
            if message["type"] == "lifespan.shutdown.complete":
                await log.close()
            await send(message)

        try:
            await self.app(scope, receive_with_log, send_with_log)
        except Exception:
            if took_part:
                raise
        if not took_part:
            # The app does not speak lifespan (it raised or returned at once, as Django and
            # bare apps do): answer the protocol for the log alone.
            await _answer_lifespan(log, receive, send)


async def _answer_lifespan(log: ConsentLog, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await log.start()
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
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

    __slots__ = ("mw", "scope", "state", "server_send", "start", "rewriter", "page", "key")

    def __init__(
        self, mw: ConsentMiddleware, scope: Scope, state: ConsentState, send: Send
    ) -> None:
        self.mw = mw
        self.scope = scope
        self.state = state
        self.server_send = send
        self.start: Message | None = None
        self.rewriter: HtmlRewriter | None = None
        # Set by on_start for an HTML page: what the rewrite needs, and its memo key.
        self.page: tuple[str, str, str | None, bool] | None = None
        self.key: tuple[object, ...] | None = None

    def build_rewriter(self) -> HtmlRewriter:
        """The page's rewriter; rendering the banner waits until a body needs it."""
        assert self.page is not None
        lang, next_url, nonce, inline = self.page
        mw, state, config = self.mw, self.state, self.mw.config
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
        start = self.start
        if start is not None:
            self.start = None
            headers: RawHeaders = start["headers"]
            if not more and not start.get("trailers", False):
                body = self.mw.rewrite_page(self.key, body, self.build_rewriter)
                set_header(headers, b"content-length", str(len(body)).encode("ascii"))
                await self.server_send(start)
                await self.server_send({"type": "http.response.body", "body": body})
                return
            delete_header(headers, b"content-length")
            await self.server_send(start)
        rewriter = self.rewriter or self.build_rewriter()
        out = rewriter.feed(body) if more else rewriter.feed(body) + rewriter.finish()
        if out or not more:
            await self.server_send({"type": "http.response.body", "body": out, "more_body": more})

    def on_start(self, message: Message) -> None:
        """Guard the headers; set up the rewriter when the response is an HTML page."""
        headers = header_list(message)
        content_type = b""
        policies: list[bytes] = []
        sets_cookie = False
        plain = True  # not compressed, not a download
        for key, value in headers:
            key = key.lower()
            if key == b"content-type":
                content_type = value
            elif key == b"set-cookie":
                sets_cookie = True
            elif key == b"content-encoding":
                plain = plain and value.strip().lower() in (b"", b"identity")
            elif key == b"content-disposition":
                plain = plain and not value.lstrip()[:10].lower().startswith(b"attachment")
            elif key == b"content-security-policy":
                policies.append(value)
        mw, state = self.mw, self.state
        if sets_cookie:
            mw.guard.filter(headers, state)
        status: int = message["status"]
        if (
            not plain
            or content_type.lstrip()[:9].lower() != b"text/html"
            or status in _NO_PAGE
            or status < 200
            or 300 <= status < 400
        ):
            return
        # The page now depends on the consent cookie: say so to caches, and drop the
        # validators of the app's own bytes (a 304 would bring back a stale banner).
        delete_header(headers, b"etag")
        delete_header(headers, b"last-modified")
        merge_vary(headers, b"Cookie")
        scope = self.scope
        if scope["method"] == "HEAD":
            # Same headers as a GET would get, but the length of the rewritten page is
            # unknown without its body, so none is given.
            delete_header(headers, b"content-length")
            return
        cookie = host = accept = b""
        for key, value in scope["headers"]:
            if key == b"cookie":
                cookie = cookie + b"; " + value if cookie else value
            elif key == b"host":
                host = value
            elif key == b"accept-language":
                accept = value
        cookies = cookie_parser(cookie.decode("latin-1")) if cookie else {}
        if cookies:
            # Expire the cookies of denied categories that the browser still sends.
            mw.guard.expire(
                headers,
                state,
                list(cookies),
                host=host.decode("latin-1").lower() or "localhost",
                secure=scope.get("scheme") == "https",
            )
        nonce, inline = csp_script_policy(policies)
        config = mw.config
        lang = mw.language(scope, accept, cookies.get(config.language_cookie, ""))
        query: bytes = scope.get("query_string", b"")
        next_url = scope["path"] + ("?" + query.decode("latin-1") if query else "")
        self.page = (lang, next_url, nonce, inline)
        if nonce is None:
            # What the banner, the consent mode snippet and the activation show of the
            # state: the same fields banner.py caches its markup on.
            self.key = (state.decided, state.gpc, frozenset(state.allowed), *self.page)
