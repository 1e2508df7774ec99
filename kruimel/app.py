"""Composes a Kruimel process: the store, the consent middleware and log, the collector.

``kruimel demo`` puts the demo pages inside it; ``kruimel serve`` serves only the collector
and the consent endpoints (for static sites using the one-tag snippet). The store, the
consent log's writer and the collector start and stop with the app's lifespan, because a
mounted ASGI app receives no lifespan events of its own.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from analytics import AnalyticsConfig, Collector
from analytics.query import make_query_endpoint
from consent import CONSENT_LOG_COLUMNS, ConsentConfig, ConsentLog, ConsentMiddleware
from kruimel.base.store import Store
from kruimel.base.store.writer import BatchWriter
from kruimel.forwarded import TrustedSchemeMiddleware

__all__ = ["build_app"]


def build_app(
    store: Store,
    *,
    consent: ConsentConfig | None,
    analytics: AnalyticsConfig | None,
    journal_dir: Path,
    site: str = "",
    routes: Sequence[BaseRoute] = (),
    trusted_proxies: Sequence[str] | None = None,
) -> ASGIApp:
    """One ASGI app: ``routes`` plus the collector at ``/_analytics``, behind the middleware.

    :param store: an open store; it is closed when the app shuts down.
    :param journal_dir: the consent log journals into ``journal_dir/consent``; the collector
        uses its own ``AnalyticsConfig.journal_dir``.
    :param trusted_proxies: whose ``X-Forwarded-Proto`` sets the scheme (default: the
        analytics ``trusted_proxies``, which also govern the client address).
    """
    app = _compose(
        store,
        consent=consent,
        analytics=analytics,
        journal_dir=journal_dir,
        site=site,
        routes=routes,
    )
    if trusted_proxies is None:
        trusted_proxies = analytics.trusted_proxies if analytics is not None else ()
    return TrustedSchemeMiddleware(app, trusted_proxies) if trusted_proxies else app


def _compose(
    store: Store,
    *,
    consent: ConsentConfig | None,
    analytics: AnalyticsConfig | None,
    journal_dir: Path,
    site: str,
    routes: Sequence[BaseRoute],
) -> ASGIApp:
    collector = Collector(analytics, store) if analytics is not None else None
    writer = log = None
    if consent is not None:
        writer = BatchWriter(
            store,
            "consent_log",
            CONSENT_LOG_COLUMNS,
            journal_dir=journal_dir / "consent",
            name="consent_log",
        )
        log = ConsentLog(store, writer=writer, site=site)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            # The middleware has already started the log (created its table) by now:
            # it handles the startup message before passing it on to this app.
            if writer is not None:
                await writer.start()
            if collector is not None:
                await collector.start()
            yield
        finally:
            if collector is not None:
                await collector.stop()
            if writer is not None:
                await writer.stop()
            store.close()

    mounts: list[BaseRoute] = []
    if collector is not None:
        # The query API sits before the collector's mount, which would answer 404 for it.
        query = make_query_endpoint(collector.config, store, collector.flush)
        mounts += [Route("/_analytics/api/v2/query", query), _mount("/_analytics", collector)]
    inner = _ascii_query(Starlette(routes=[*mounts, *routes], lifespan=lifespan))
    if consent is None:
        return inner
    return ConsentMiddleware(inner, config=consent, log=log)


def _mount(path: str, app: ASGIApp) -> Mount:
    """``Mount(path, app)`` that also takes paths holding a line break (``%0A`` in the
    request), which the ``.`` of Starlette's path pattern misses: every path under the
    collector then gets the collector's JSON 404, not the host app's plain-text one."""
    mount = Mount(path, app=app)
    mount.path_regex = re.compile(mount.path_regex.pattern, re.DOTALL)
    return mount


def _ascii_query(app: ASGIApp) -> ASGIApp:
    """``app`` with bytes above 0x7F in the query string percent-encoded, as a client should
    have sent them. Some servers (httptools) pass such bytes on, and Starlette decodes the
    query string as UTF-8 where it builds ``request.url`` (its trailing-slash redirect, any
    route reading the URL), raising on anything else: a 500 for a malformed query."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        query: bytes = scope.get("query_string", b"")
        if scope["type"] == "http" and not query.isascii():
            quoted = b"".join(b"%%%02X" % c if c > 0x7F else bytes((c,)) for c in query)
            scope = dict(scope, query_string=quoted)
        await app(scope, receive, send)

    return wrapped
