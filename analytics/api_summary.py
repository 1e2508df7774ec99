"""``GET /api/summary?site=&period=&from=&to=&limit=``: the summary as JSON, behind a token.

The caller sends ``Authorization: Bearer TOKEN``; the token is compared in constant time
with ``api_token`` (``KRUIMEL_API_TOKEN``). Answers: 200 with :func:`analytics.summary.summarize`'s
JSON; 401 (with ``WWW-Authenticate: Bearer``) for a missing or wrong token, or when the server
has no token set; 400 naming the invalid parameter; 404 for a site that is not configured;
405 for another method; 503 with ``Retry-After`` when the store does not answer. Every error
body is ``{"error": "..."}``; a 400 also carries
``"parameter"``, the name of the offending query parameter.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from kruimel.store import Store, StoreError

from .config import AnalyticsConfig
from .period import Period, PeriodError
from .summary import summarize

__all__ = ["MAX_LIMIT", "SummaryEndpoint", "make_summary_endpoint"]

MAX_LIMIT = 1000
log = logging.getLogger("kruimel.analytics")
_NO_STORE = {"Cache-Control": "no-store"}


class SummaryEndpoint:
    """The summary endpoint as a pure ASGI app (the collector routes ``/api/summary`` to it;
    a Starlette ``Route`` accepts it as its endpoint too). :meth:`handle` is the same as a
    request -> response function. No per-request state is kept on the instance.
    """

    def __init__(
        self,
        config: AnalyticsConfig,
        store: Store,
        flush: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.flush = flush
        token = config.api_token
        self._token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        """Answer one request; see the module docstring for the statuses."""
        if request.method not in ("GET", "HEAD"):
            return _error(405, "use GET", {"Allow": "GET, HEAD"})
        denied = self._authorize(request.headers.get("authorization", ""))
        if denied is not None:
            return denied
        query = request.query_params
        domain = query.get("site", "").strip()
        if not domain:
            return _error(
                400,
                "site is required: the site's configured domain, e.g. site=example.nl",
                parameter="site",
            )
        site = self.config.site(domain)
        if site is None:
            return _error(404, f"site {domain[:253]!r} is not a configured site")
        try:
            period = Period.parse(
                query.get("period") or None, query.get("from"), query.get("to"), tz=site.timezone
            )
        except PeriodError as e:
            return _error(400, str(e), parameter=e.parameter)
        limit = _limit(query.get("limit"))
        if limit is None:
            return _error(
                400, f"limit must be a whole number from 1 to {MAX_LIMIT}", parameter="limit"
            )
        try:
            if self.flush is not None:
                await self.flush()
            summary = await summarize(self.store, site.domain, period, limit=limit)
        except Exception as e:
            # summarize runs its queries in a task group, so a store failure may arrive
            # wrapped in an exception group.
            if not _only_store_errors(e):
                raise
            log.warning("summary: the store did not answer: %s", e)
            return _error(503, "the store is unavailable; retry later", {"Retry-After": "30"})
        return JSONResponse(summary, headers=_NO_STORE)

    def _authorize(self, header: str) -> Response | None:
        challenge = {"WWW-Authenticate": 'Bearer realm="kruimel"'}
        if self._token is None:
            return _error(
                401,
                "the server has no API token set: set KRUIMEL_API_TOKEN in the server's "
                "environment to use the summary API",
                challenge,
            )
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return _error(401, "send Authorization: Bearer <token>", challenge)
        # Constant time: the comparison must not reveal how much of the token matched.
        if not hmac.compare_digest(given.strip().encode(), self._token):
            return _error(
                401,
                "the bearer token is wrong",
                {"WWW-Authenticate": 'Bearer realm="kruimel", error="invalid_token"'},
            )
        return None


def make_summary_endpoint(
    config: AnalyticsConfig,
    store: Store,
    flush: Callable[[], Awaitable[None]] | None = None,
) -> SummaryEndpoint:
    """The ``GET /api/summary`` endpoint for ``config``'s sites, reading ``store``.

    :param flush: awaited before each summary, so that events just accepted are counted
        (the collector passes its :meth:`~analytics.collector.Collector.flush`).
    """
    return SummaryEndpoint(config, store, flush)


def _limit(value: str | None) -> int | None:
    if value is None or value == "":
        return 10
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        return None
    limit = int(value)
    return limit if 1 <= limit <= MAX_LIMIT else None


def _only_store_errors(error: BaseException) -> bool:
    if isinstance(error, BaseExceptionGroup):
        return all(_only_store_errors(e) for e in error.exceptions)
    return isinstance(error, StoreError)


def _error(
    status: int,
    message: str,
    headers: dict[str, Any] | None = None,
    *,
    parameter: str | None = None,
) -> Response:
    body = {"error": message} | ({"parameter": parameter} if parameter else {})
    return JSONResponse(body, status_code=status, headers=_NO_STORE | (headers or {}))
