"""The consent middleware: the server half of Kruimel in front of any ASGI app.

Per HTTP request it reads the visitor's choice once and puts it in ``scope["consent"]``;
requests under ``config.prefix`` go to :class:`~consent.endpoints.ConsentEndpoints`; every
other response passes the cookie guard, and HTML pages are rewritten as they stream (banner
or manage control, head assets, Consent Mode, gated elements of allowed categories).

Pure ASGI, like Starlette's ``GZipMiddleware``: options and everything derived from them
are set up once in ``__init__``; each request gets its own
:class:`~consent.responder.Responder`. The per-cookie reading cache is ``consent.reading``,
the CSP parsing ``consent.csp``, the lifespan handling ``kruimel.base.lifespan``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from kruimel.base.headers import RawHeaders
from kruimel.base.lifespan import lifespan_around
from kruimel.base.memo import BoundedMemo

from .banner import render_head
from .config import ConsentConfig
from .consent_mode import ConsentMode
from .csp import csp_script_policy
from .endpoints import ConsentEndpoints
from .errors import ConsentConfigError
from .frameworks import check_placement
from .guard import CookieGuard
from .i18n import choose_language
from .reading import MAX_COOKIE, MEMO_VISITORS, Reading, ReadingCache
from .records import ConsentLog
from .responder import Responder
from .rewrite import HtmlRewriter

__all__ = ["ConsentMiddleware", "csp_script_policy"]

# The page memo holds at most this many pages of at most this size (a few MiB in all).
_MEMO_PAGES = 128
_MEMO_MAX_BODY = 64 * 1024
_SPLICE = "kruimel-nonce-splice"


class PagePlan(NamedTuple):
    """What a page response takes from the request beyond the state (``page_plan``).

    :param lang: the banner's language.
    :param expired: ``Set-Cookie`` lines expiring cookies of categories the visitor does
        not allow that the browser still sends.
    """

    lang: str
    expired: tuple[tuple[bytes, bytes], ...]


def _drop_nonce(html: str) -> str:
    return html.replace(f' nonce="{_SPLICE}"', "")


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
        self._heads: dict[str, str] = {}  # one a language
        self._languages: BoundedMemo[tuple[bytes, bytes, str], str] = BoundedMemo(1024)
        self.readings = ReadingCache(config)
        self._plans: BoundedMemo[tuple[object, ...], PagePlan] = BoundedMemo(MEMO_VISITORS)
        # Whole rewritten pages, keyed on everything the rewrite depends on (see rewrite_page).
        self._pages: BoundedMemo[tuple[object, bytes], bytes] = BoundedMemo(_MEMO_PAGES)

    def read(self, scope: Scope) -> Reading:
        """The request's consent state: ``read_cookie``, memoised per visitor
        (:class:`~consent.reading.ReadingCache`)."""
        return self.readings.read(scope)

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
            if len(cookie) > MAX_COOKIE:
                return plan  # too long to keep (see consent.reading.MAX_COOKIE)
            self._plans.put(key, plan)
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
            self._pages.put(memo_key, page)
        return page

    def head_html(self, lang: str, nonce: str | None) -> bytes:
        """``render_head`` for ``lang``; rendered once per language, the nonce spliced in.

        A nonce holds only ``[A-Za-z0-9+/_=-]`` (:data:`consent.csp.NONCE`), which HTML
        escaping leaves as it is, so splicing it equals rendering with it.
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
            headers = [(b"accept-language", accept)]
            if chosen:
                cookie = f"{self.config.language_cookie}={chosen}".encode("latin-1")
                headers.append((b"cookie", cookie))
            probe = {"type": "http", "query_string": key[0], "headers": headers}
            lang = self._languages.put(key, choose_language(self.config, probe))
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
        responder = Responder(self, scope, reading, send)
        await self.app(scope, receive, responder.send)

    async def _lifespan(self, log: ConsentLog, scope: Scope, receive: Receive, send: Send) -> None:
        # The log's table must exist before the first decision: it starts before the app's
        # own startup, and when it cannot start the server exits instead of serving 503s to
        # every decision (kruimel.base.lifespan).
        await lifespan_around(self.app, scope, receive, send, log.start, log.close, _failure)


def _failure(exc: BaseException) -> str:
    return f"the consent log could not start: {exc}"
