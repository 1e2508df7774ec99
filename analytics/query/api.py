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
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from analytics.api_common import NO_STORE, BearerToken, error, store_unavailable
from analytics.config import AnalyticsConfig
from kruimel.base.store import Store

from .parse import QueryError, parse_query
from .run import run_query

__all__ = ["MAX_BODY_BYTES", "QueryEndpoint", "make_query_endpoint"]

MAX_BODY_BYTES = 64 * 1024


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
        self._auth = BearerToken(config.api_token, "query API")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        """Answer one request; see the module docstring for the statuses."""
        if request.method != "POST":
            return error(405, "use POST with a JSON query", {"Allow": "POST"})
        denied = self._auth.refuse(request.headers.get("authorization", ""))
        if denied is not None:
            return denied
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return error(413, f"the query is larger than {MAX_BODY_BYTES} bytes")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return error(415, "send the query as a JSON object (Content-Type: application/json)")
        return await self.answer(data)

    async def answer(self, data: Any) -> Response:
        """Validate and run a decoded query (after authorisation)."""
        domain = data.get("site_id") if isinstance(data, dict) else None
        site = self.config.site(domain.strip()) if isinstance(domain, str) else None
        if isinstance(domain, str) and domain.strip() and site is None:
            return error(404, f"site {domain[:253]!r} is not a configured site")
        try:
            today = self._clock().astimezone(site.tz).date() if self._clock and site else None
            query = parse_query(data, tz=site.tz if site else "UTC", today=today)
            assert site is not None  # parse_query refuses a query without site_id
            if self.flush is not None:
                await self.flush()
            result = await run_query(self.store, query, site=site.domain, tz=site.timezone)
        except QueryError as e:
            return error(400, str(e))
        except Exception as e:
            return store_unavailable(e, "query")
        return JSONResponse(result, headers=NO_STORE)


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
