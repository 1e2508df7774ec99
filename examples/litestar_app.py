"""Kruimel in a Litestar app: wrap the whole Litestar app.

Run:  uvicorn examples.litestar_app:app

Not ``Litestar(middleware=[DefineMiddleware(ConsentMiddleware, ...)])``: Litestar runs that
only on matched routes, so ``/_consent`` would be a 404 and no visitor could decide
(ConsentMiddleware refuses to start that way, saying so).
"""

from __future__ import annotations

from litestar import Litestar, Request, get
from litestar.response import Response

from consent import ConsentLog, ConsentMiddleware
from consent.state import ConsentState
from examples.common import PAGE, config, store_url


@get("/")
async def home(request: Request[object, object, object]) -> Response[str]:
    consent: ConsentState = request.scope["consent"]  # type: ignore[typeddict-item]
    greeting = "Welcome back!" if consent.decided else "Welcome."
    return Response(PAGE.format(greeting=greeting), media_type="text/html")


litestar_app = Litestar(route_handlers=[home])
app = ConsentMiddleware(litestar_app, config=config(), log=ConsentLog.open(store_url()))
