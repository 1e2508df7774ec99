"""Kruimel in a Quart app: wrap Quart's ASGI app, as Quart documents for ASGI middleware.

Run:  uvicorn examples.quart_app:app
"""

from __future__ import annotations

from quart import Quart, request

from consent import ConsentLog, ConsentMiddleware
from consent.state import ConsentState
from examples.common import PAGE, config, store_url

app = Quart(__name__)


@app.get("/")
async def home() -> str:
    consent: ConsentState = request.scope["consent"]
    return PAGE.format(greeting="Welcome back!" if consent.decided else "Welcome.")


# `app` stays the Quart object (its decorators, test client and `quart run` keep working);
# every request and the lifespan now pass through the middleware first.
app.asgi_app = ConsentMiddleware(  # type: ignore[method-assign]
    app.asgi_app, config=config(), log=ConsentLog.open(store_url())
)
