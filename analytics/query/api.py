"""``POST /api/v2/query``: Plausible's Stats API v2 request and response, behind a token.

The caller sends ``Authorization: Bearer TOKEN`` (the summary endpoint's token, compared in
constant time) and a JSON query (:mod:`analytics.query.parse`). Answers: 200 with
``{"results", "meta", "query"}``; 400 ``{"error"}`` naming the invalid part; 401 (with
``WWW-Authenticate: Bearer``) for a missing or wrong token, or when the server has none;
404 for a site that is not configured; 405 for another method; 413 for a body over 64 KiB;
415 for a body that is not JSON; 503 with ``Retry-After`` when the store does not answer.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from analytics.config import AnalyticsConfig
from kruimel.store import Store, StoreError

from .parse import QueryError, parse_query
from .run import run_query

__all__ = ["MAX_BODY_BYTES", "QueryEndpoint", "make_query_endpoint"]

MAX_BODY_BYTES = 64 * 1024
log = logging.getLogger("kruimel.analytics")
_NO_STORE = {"Cache-Control": "no-store"}


class QueryEndpoint:
    """The query endpoint as a pure ASGI app (a Starlette ``Route`` accepts it as endpoint).
    No per-request state is kept on the instance."""

    def __init__(
        self,
        config: AnalyticsConfig,
        store: Store,
        flush: Callable[[], Awaitable[None]] | None = None,
        *,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.flush = flush
        self._clock = clock
        self._token = config.api_token.encode() if config.api_token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        """Answer one request; see the module docstring for the statuses."""
        if request.method != "POST":
            return _error(405, "use POST with a JSON query", {"Allow": "POST"})
        denied = self._authorize(request.headers.get("authorization", ""))
        if denied is not None:
            return denied
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _error(413, f"the query is larger than {MAX_BODY_BYTES} bytes")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _error(415, "send the query as a JSON object (Content-Type: application/json)")
        return await self.answer(data)

    async def answer(self, data: Any) -> Response:
        """Validate and run a decoded query (after authorisation)."""
        domain = data.get("site_id") if isinstance(data, dict) else None
        site = self.config.site(domain.strip()) if isinstance(domain, str) else None
        if isinstance(domain, str) and domain.strip() and site is None:
            return _error(404, f"site {domain[:253]!r} is not a configured site")
        try:
            today = self._clock().astimezone(site.tz).date() if self._clock and site else None
            query = parse_query(data, tz=site.tz if site else "UTC", today=today)
            assert site is not None  # parse_query refuses a query without site_id
            if self.flush is not None:
                await self.flush()
            result = await run_query(self.store, query, site=site.domain, tz=site.timezone)
        except QueryError as e:
            return _error(400, str(e))
        except Exception as e:
            if not _only_store_errors(e):
                raise
            log.warning("query: the store did not answer: %s", e)
            return _error(503, "the store is unavailable; retry later", {"Retry-After": "30"})
        return JSONResponse(result, headers=_NO_STORE)

    def _authorize(self, header: str) -> Response | None:
        challenge = {"WWW-Authenticate": 'Bearer realm="kruimel"'}
        if self._token is None:
            return _error(
                401,
                "the server has no API token set: set KRUIMEL_API_TOKEN (or [analytics] "
                "api_token) to use the query API",
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


def make_query_endpoint(
    config: AnalyticsConfig,
    store: Store,
    flush: Callable[[], Awaitable[None]] | None = None,
    *,
    clock: Callable[[], dt.datetime] | None = None,
) -> QueryEndpoint:
    """The ``POST /api/v2/query`` endpoint for ``config``'s sites, reading ``store``.

    :param flush: awaited before each query, so that events just accepted are counted.
    :param clock: the current aware time (tests); relative date ranges count from its
        date in the site's timezone. Default: the real time.
    """
    return QueryEndpoint(config, store, flush, clock=clock)


def _only_store_errors(error: BaseException) -> bool:
    if isinstance(error, BaseExceptionGroup):
        return all(_only_store_errors(e) for e in error.exceptions)
    return isinstance(error, StoreError)


def _error(status: int, message: str, headers: dict[str, Any] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=_NO_STORE | (headers or {}))
