"""The demo site: a small bakery's website behind the consent middleware, with the collector.

``kruimel demo`` serves it. It shows what Kruimel is for: a Pardot tag (a local stand-in, so no
network is needed) and a YouTube embed that stay inert until the visitor allows marketing; a
server-side Pardot cookie the middleware drops without consent; first-party cookieless
analytics at ``/_analytics`` that needs no consent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template

from markupsafe import escape
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

__all__ = ["DemoOptions", "build_demo_app", "demo_consent_config", "demo_pages_app"]

_HERE = Path(__file__).parent / "demo_site"
_PAGE = Template((_HERE / "page.html").read_text(encoding="utf-8"))

# path -> (title, page file in demo_site/pages/)
_PAGES: dict[str, tuple[str, str]] = {
    "/": ("Home", "home.html"),
    "/assortiment": ("Assortiment", "assortiment.html"),
    "/nieuwsbrief": ("Nieuwsbrief", "nieuwsbrief.html"),
    "/privacy": ("Privacyverklaring", "privacy.html"),
}


@dataclass(frozen=True)
class DemoOptions:
    """What ``kruimel demo`` was asked for."""

    data_dir: Path
    site: str
    secret_keys: tuple[str, ...]
    api_token: str
    #: proxies whose X-Forwarded-For/-Proto are believed (``--trusted-proxy``); none by default
    trusted_proxies: tuple[str, ...] = ()


def demo_consent_config(secret_keys: tuple[str, ...]) -> ConsentConfig:
    """The demo's consent configuration: Pardot and YouTube (marketing), one analytics stand-in."""
    return ConsentConfig(
        controller="Bakkerij De Kruimel",
        privacy_url="/privacy",
        policy_version="2026-11",
        services=(
            preset("pardot"),
            preset("youtube"),
            preset("hotjar"),
        ),
        secret_keys=secret_keys,
    )


def demo_pages_app(site: str = "localhost") -> Starlette:
    """The bare demo website, without middleware or collector (also used by the benchmark)."""
    rendered = {
        path: _PAGE.substitute(
            title=title,
            body=(_HERE / "pages" / file).read_text(encoding="utf-8"),
            site=escape(site),
        )
        for path, (title, file) in _PAGES.items()
    }

    async def page(request: Request) -> Response:
        # scope["path"], not request.url: Starlette builds the URL by decoding the query
        # string as UTF-8 and raises on other bytes, which some servers pass on.
        path = request.scope["path"]
        response = HTMLResponse(rendered[path])
        if path == "/nieuwsbrief":
            # What a CMS plug-in for Pardot does server side; the middleware must drop it.
            response.set_cookie("pi_opt_in123456", "true", max_age=3600 * 24 * 365)
        return response

    async def css(request: Request) -> Response:
        return Response((_HERE / "demo.css").read_bytes(), media_type="text/css")

    routes: list[Route | Mount] = [Route(path, page) for path in _PAGES]
    routes.append(Route("/demo.css", css))
    routes.append(Mount("/standin", app=StaticFiles(directory=asset_dir() / "standin")))
    return Starlette(routes=routes)


def build_demo_app(options: DemoOptions) -> ASGIApp:
    """The full demo: pages + collector at ``/_analytics``, behind :class:`ConsentMiddleware`."""
    store = Store.connect(f"chdb://{options.data_dir / 'store'}")
    analytics_config = AnalyticsConfig(
        # The demo runs on 127.0.0.1/localhost, whose origins a real site would not allow.
        sites=(SiteConfig(domain=options.site, allow_localhost=True),),
        api_token=options.api_token,
        trusted_proxies=options.trusted_proxies,
        journal_dir=options.data_dir / "journal" / "events",
    )
    pages = demo_pages_app(options.site)
    return build_app(
        store,
        consent=demo_consent_config(options.secret_keys),
        analytics=analytics_config,
        journal_dir=options.data_dir / "journal",
        site=options.site,
        routes=[Mount("/", app=pages)],
    )
