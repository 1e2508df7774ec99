"""Banner, consent log and collector in one process on one store: ``kruimel.app.build_app``.

Run:  uvicorn examples.full_app:create_app --factory

``--factory`` makes uvicorn call :func:`create_app` in the serving process when it starts,
so importing this module opens nothing. The store is closed at shutdown by the app's
lifespan. With a ClickHouse server (``KRUIMEL_STORE_URL=https://...``) it can run with
``--workers N``; the embedded store serves one process (README "Several workers").
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from analytics import AnalyticsConfig, SiteConfig
from examples.common import PAGE, config, store_url
from kruimel.app import build_app
from kruimel.base.store import Store

SITE = os.environ.get("KRUIMEL_SITE", "localhost")
TRACKER = f'<script src="/_analytics/kruimel.js" data-site="{SITE}" defer></script>'


async def home(request: Request) -> Response:
    greeting = "Welcome back!" if request.scope["consent"].decided else "Welcome."
    return HTMLResponse(PAGE.format(greeting=greeting).replace("</body>", TRACKER + "</body>"))


def create_app() -> ASGIApp:
    """The app: the page above, ``/_consent`` and the collector at ``/_analytics``."""
    data = Path(os.environ.get("KRUIMEL_DATA_DIR", "./kruimel-data"))
    analytics = AnalyticsConfig(
        # allow_localhost: so the page above can be tried on http://127.0.0.1:8000.
        sites=(SiteConfig(domain=SITE, allow_localhost=SITE == "localhost"),),
        journal_dir=data / "journal" / "events",  # the summary API needs KRUIMEL_API_TOKEN
    )
    return build_app(
        Store.connect(store_url()),
        consent=config(),
        analytics=analytics,
        journal_dir=data / "journal",
        site=SITE,
        routes=[Route("/", home)],
    )
