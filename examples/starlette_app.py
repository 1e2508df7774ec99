"""Kruimel as drop-in middleware for an existing Starlette app.

Run:  uvicorn examples.starlette_app:app
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consent import ConsentLog, ConsentMiddleware
from consent.frameworks import consent_of
from examples.common import PAGE, config, store_url


async def home(request: Request) -> HTMLResponse:
    # The middleware tells the app what the visitor chose.
    greeting = "Welcome back!" if consent_of(request).allows("marketing") else "Welcome."
    return HTMLResponse(PAGE.format(greeting=greeting))


app = Starlette(routes=[Route("/", home)])
app.add_middleware(GZipMiddleware)  # added first: runs inside the consent middleware
# Every decision is recorded as proof of consent (GDPR 7(1)); without a log the middleware
# refuses decisions (503) rather than take one it cannot prove. The store opens when the
# app starts (its lifespan), not here.
app.add_middleware(ConsentMiddleware, config=config(), log=ConsentLog.open(store_url()))
