"""Kruimel in a FastAPI app: the middleware, and the visitor's choice as a typed dependency.

Run:  uvicorn examples.fastapi_app:app
The store opens when the app starts (its lifespan), not at import.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.middleware.gzip import GZipMiddleware

from consent import ConsentLog, ConsentMiddleware
from consent.fastapi import Consent
from examples.common import PAGE, config, store_url

app = FastAPI()


@app.get("/", response_class=HTMLResponse)
async def home(consent: Consent) -> str:
    # The middleware tells the app what the visitor chose.
    greeting = "Welcome back!" if consent.allows("marketing") else "Welcome."
    return PAGE.format(greeting=greeting)


@app.get("/api/consent")
async def my_consent(consent: Consent) -> dict[str, bool]:
    return {"decided": consent.decided, "marketing": consent.allows("marketing")}


# Order: the middleware added last runs first. Compression added before ConsentMiddleware
# runs inside it; Kruimel decodes gzip pages to add the banner and encodes them again.
app.add_middleware(GZipMiddleware)
app.add_middleware(ConsentMiddleware, config=config(), log=ConsentLog.open(store_url()))
