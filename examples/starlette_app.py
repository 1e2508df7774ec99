"""Kruimel as drop-in middleware for an existing Starlette app.

Run:  KRUIMEL_SECRET_KEY=change-me uvicorn examples.starlette_app:app
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consent import ConsentConfig, ConsentLog, ConsentMiddleware, preset

PAGE = """<!doctype html><html lang="en"><head><title>Shop</title></head><body>
<h1>Welcome</h1>
<script type="text/plain" data-consent="marketing"
        src="https://pi.pardot.com/pd.js"></script>
<iframe data-consent="marketing" title="Video"
        data-src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"></iframe>
</body></html>"""


async def home(request: Request) -> HTMLResponse:
    # The middleware tells the app what the visitor chose.
    if request.scope["consent"].allows("marketing"):
        pass  # e.g. render a personalised block
    return HTMLResponse(PAGE)


config = ConsentConfig(
    controller="Example Shop Ltd",
    privacy_url="/privacy",
    policy_version="1",
    services=(preset("pardot"), preset("youtube")),
)

app = Starlette(routes=[Route("/", home)])
# Every decision is recorded as proof of consent (GDPR 7(1)); without a log the middleware
# refuses decisions (503) rather than take one it cannot prove.
app.add_middleware(
    ConsentMiddleware, config=config, log=ConsentLog.open("chdb://./kruimel-data/store")
)
