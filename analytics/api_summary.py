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

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from kruimel.base.store import Store

from .api_common import NO_STORE, BearerToken, error, store_unavailable
from .config import AnalyticsConfig
from .period import Period, PeriodError
from .summary import summarize

__all__ = ["MAX_LIMIT", "SummaryEndpoint", "make_summary_endpoint"]

MAX_LIMIT = 1000


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
        self._auth = BearerToken(config.api_token, "summary API")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        """Answer one request; see the module docstring for the statuses."""
        if request.method not in ("GET", "HEAD"):
            return error(405, "use GET", {"Allow": "GET, HEAD"})
        denied = self._auth.refuse(request.headers.get("authorization", ""))
        if denied is not None:
            return denied
        query = request.query_params
        domain = query.get("site", "").strip()
        if not domain:
            return error(
                400,
                "site is required: the site's configured domain, e.g. site=example.nl",
                parameter="site",
            )
        site = self.config.site(domain)
        if site is None:
            return error(404, f"site {domain[:253]!r} is not a configured site")
        try:
            period = Period.parse(
                query.get("period") or None, query.get("from"), query.get("to"), tz=site.timezone
            )
        except PeriodError as e:
            return error(400, str(e), parameter=e.parameter)
        limit = _limit(query.get("limit"))
        if limit is None:
            return error(
                400, f"limit must be a whole number from 1 to {MAX_LIMIT}", parameter="limit"
            )
        try:
            if self.flush is not None:
                await self.flush()
            summary = await summarize(self.store, site.domain, period, limit=limit)
        except Exception as e:
            return store_unavailable(e, "summary")
        return JSONResponse(summary, headers=NO_STORE)


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
