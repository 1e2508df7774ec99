"""A small site behind the real middleware and collector, for what the demo does not show:
a strict Content-Security-Policy with a per-response nonce, Google Consent Mode, a
single-page app, and Plausible's own tracker (from the npm package) sending to Kruimel.

Run by the browser tests as ``uvicorn lab_app:create_app --factory``; the data directory
comes from ``KRUIMEL_LAB_DATA``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from analytics import AnalyticsConfig, SiteConfig
from consent import ConsentConfig, preset
from kruimel.app import build_app
from kruimel.base.assets import asset_dir
from kruimel.base.store import Store

SITE = "127.0.0.1"
NPM = Path(__file__).parent / "node_modules"

_HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{extra}
</head>
<body>
<main>
<h1>{title}</h1>
{body}
</main>
</body>
</html>"""

_CSP_BODY = """
<p>This page is served with a strict Content-Security-Policy and a fresh nonce.</p>
<script type="text/plain" data-consent="marketing" src="/standin/pardot.js"></script>
<script type="text/plain" data-consent="analytics">
window.inlineGated = (window.inlineGated || 0) + 1;
</script>
<script type="text/plain" data-consent="analytics" src="/standin/analytics.js"></script>
<script type="text/plain" data-consent="analytics" data-type="module">
window.moduleGated = (window.moduleGated || 0) + (import.meta.url ? 1 : 0);
</script>
"""

_GTAG = """<script nonce="{nonce}">
window.dataLayer = window.dataLayer || [];
function gtag() {{ window.dataLayer.push(arguments); }}
</script>
<script src="/_analytics/script.js" data-site="{site}" data-local data-automation defer></script>"""

_SPA_BODY = """
<p>A single-page app: the links below change the URL with the History API.</p>
<p><a href="/spa/next" id="next">Next view</a> <a href="/spa/last" id="last">Last view</a></p>
<p><a href="https://example.org/bakery?x=1" id="out">Elsewhere</a>
<a href="/files/menu.pdf?v=2" id="file">Menu (PDF)</a>
<a href="/spa/next" id="inside">Inside</a></p>
"""

_HASH_BODY = """<p>Routed on the URL fragment.</p>"""

_HASH_EXTRA = """<script src="/_analytics/script.js" data-site="{site}" data-local data-automation
 data-hash defer></script>"""

_SPA_EXTRA = """<script src="/_analytics/script.js" data-site="{site}" data-local data-automation
 data-outbound data-downloads defer></script>
<script src="/spa.js" defer></script>"""

_SPA_JS = """document.addEventListener('click', function (e) {
  var a = e.target.closest('a[href^="/spa/"]');
  if (!a) return;
  e.preventDefault();
  history.pushState({}, '', a.getAttribute('href'));
});"""

_PLAUSIBLE_EXTRA = """<script type="module" nonce="{nonce}">
import {{ init }} from '/npm/@plausible-analytics/tracker/plausible.js';
window.__plausible = true;  // Plausible's own switch for automated browsers
init({{ domain: '{site}', endpoint: '/_analytics/api/event', captureOnLocalhost: true }});
</script>"""


def _csp(nonce: str) -> str:
    return f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'"


def _page(title: str, body: str, extra: str, nonce: str) -> Response:
    html = _HEAD.format(title=title, body=body, extra=extra.format(nonce=nonce, site=SITE))
    return HTMLResponse(html, headers={"Content-Security-Policy": _csp(nonce)})


async def strict(request: Request) -> Response:
    return _page("Strict CSP", _CSP_BODY, _GTAG, secrets.token_urlsafe(16))


async def spa(request: Request) -> Response:
    return _page("Single-page app", _SPA_BODY, _SPA_EXTRA, secrets.token_urlsafe(16))


async def hash_page(request: Request) -> Response:
    return _page("Hash routing", _HASH_BODY, _HASH_EXTRA, secrets.token_urlsafe(16))


async def spa_js(request: Request) -> Response:
    return Response(_SPA_JS, media_type="text/javascript")


async def plausible(request: Request) -> Response:
    return _page("Plausible tracker", "<p>Counted by Kruimel.</p>", _PLAUSIBLE_EXTRA, "pl-nonce")


def create_app() -> ASGIApp:
    """The lab site: pages + collector behind the consent middleware, like ``kruimel demo``."""
    data = Path(os.environ["KRUIMEL_LAB_DATA"])
    store = Store.connect(f"chdb://{data / 'store'}")
    consent = ConsentConfig(
        controller="Kruimel Lab",
        privacy_url="/privacy",
        policy_version="lab-1",
        services=(preset("pardot"), preset("hotjar"), preset("ga4", measurement_id="G-LAB1")),
    )
    analytics = AnalyticsConfig(
        sites=(SiteConfig(domain=SITE, allow_localhost=True),),
        api_token=os.environ["KRUIMEL_API_TOKEN"],
        journal_dir=data / "journal",
    )
    pages = Starlette(
        routes=[
            Route("/", strict),
            Route("/spa", spa),
            Route("/spa/{view}", spa),
            Route("/spa.js", spa_js),
            Route("/hash", hash_page),
            Route("/plausible", plausible),
            Mount("/standin", app=StaticFiles(directory=asset_dir() / "standin")),
            Mount("/npm", app=StaticFiles(directory=NPM, check_dir=False)),
        ]
    )
    return build_app(
        store,
        consent=consent,
        analytics=analytics,
        journal_dir=data / "journal",
        site=SITE,
        routes=[Mount("/", app=pages)],
    )
