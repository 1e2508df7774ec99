"""The pages bench/banner_load.py loads: one article, once without a banner (the baseline) and
once per consent banner, served by one local ASGI app (``uvicorn banner_pages:create_app
--factory``, started by the benchmark).

Every banner offers the same choice (necessary, analytics, marketing; English texts; one
analytics and one marketing service: Hotjar and Pardot) on the same page. The peers come from
the npm registry (bench/peers/package.json, pinned; ``make bench-deps`` installs them into
bench/peers/node_modules), each in the build its documentation tells sites to use:

- ``kruimel``: the one-tag snippet of a static site (docs/BROWSER.md): ``kruimel.js`` from the
  collector (``kruimel serve`` on another origin) fetches the banner fragment;
- ``kruimel-ssr``: the same page through :class:`consent.ConsentMiddleware`, which writes the
  banner into the HTML;
- ``vanilla-cookieconsent`` (orestbida) 3, ``klaro`` (``klaro.js``, its CSS included) and
  ``tarteaucitron`` (``tarteaucitron.min.js``, which loads its language file, service list
  and CSS).

Everything but Kruimel's own assets (served precompressed by ``AssetFiles``) goes through
Starlette's ``GZipMiddleware`` at level 9, as a site would serve it compressed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from consent import ConsentConfig, ConsentMiddleware

PEERS = Path(__file__).resolve().parent / "peers" / "node_modules"

# What makes each banner visible in the page: the element the benchmark waits for.
BANNER_SELECTORS: dict[str, str | None] = {
    "baseline": None,
    "kruimel": ".kruimel-first",
    "kruimel-ssr": ".kruimel-first",
    "vanilla-cookieconsent": "#cc-main .cm",
    "klaro": ".klaro .cookie-notice",
    "tarteaucitron": "#tarteaucitronAlertBig",
}
VARIANTS = tuple(BANNER_SELECTORS)

_TEXT = {
    "title": "We use cookies",
    "description": "We use cookies to measure how visitors use this site (analytics) and to "
    "tailor advertising (marketing). You choose; the site works either way.",
    "necessary": "Necessary: needed for the site to work and to remember your choice.",
    "analytics": "Analytics: measure how visitors use the site (Hotjar).",
    "marketing": "Marketing: tailor advertising and messages to you (Pardot).",
}

_VANILLA = {
    # By default it stays hidden when navigator.webdriver is set, as it is under Playwright.
    "hideFromBots": False,
    "categories": {
        "necessary": {"enabled": True, "readOnly": True},
        "analytics": {},
        "marketing": {},
    },
    "language": {
        "default": "en",
        "translations": {
            "en": {
                "consentModal": {
                    "title": _TEXT["title"],
                    "description": _TEXT["description"],
                    "acceptAllBtn": "Accept all",
                    "acceptNecessaryBtn": "Reject all",
                    "showPreferencesBtn": "Settings",
                    "footer": '<a href="/privacy">Privacy statement</a>',
                },
                "preferencesModal": {
                    "title": "Cookie settings",
                    "acceptAllBtn": "Accept all",
                    "acceptNecessaryBtn": "Reject all",
                    "savePreferencesBtn": "Save my choice",
                    "closeIconLabel": "Close",
                    "sections": [
                        {"title": name.title(), "description": _TEXT[name], "linkedCategory": name}
                        for name in ("necessary", "analytics", "marketing")
                    ],
                },
            }
        },
    },
}

_KLARO = {
    "version": 1,
    "lang": "en",
    "privacyPolicy": "/privacy",
    "acceptAll": True,
    "hideDeclineAll": False,
    "mustConsent": False,
    "translations": {
        "en": {
            "consentNotice": {"description": _TEXT["description"]},
            "purposes": {
                "necessary": {"title": "Necessary"},
                "analytics": {"title": "Analytics"},
                "marketing": {"title": "Marketing"},
            },
        }
    },
    "services": [
        {"name": "consent", "title": "Your choice", "purposes": ["necessary"], "required": True},
        {"name": "hotjar", "title": "Hotjar", "purposes": ["analytics"], "cookies": ["_hjid"]},
        {"name": "pardot", "title": "Pardot", "purposes": ["marketing"], "cookies": ["visitor_id"]},
    ],
}

_TARTEAUCITRON = {
    "privacyUrl": "/privacy",
    "hashtag": "#tarteaucitron",
    "cookieName": "tarteaucitron",
    "orientation": "bottom",
    "showAlertSmall": False,
    "cookieslist": True,
    "highPrivacy": True,
    "DenyAllCta": True,
    "AcceptAllCta": True,
    "mandatory": True,
    "removeCredit": False,
    "useExternalCss": False,
}


def _script(source: str) -> str:
    # The configurations are ours (no visitor input); "</" cannot end the inline script early.
    return "<script>" + source.replace("</", "<\\/") + "</script>"


def banner_head(variant: str, collector: str) -> str:
    """The tags that put ``variant``'s banner on a page (nothing for the baseline)."""
    if variant == "kruimel":
        return (
            f'<script src="{collector}/_analytics/kruimel.js" data-site="localhost" defer></script>'
        )
    if variant == "vanilla-cookieconsent":
        base = "/peers/vanilla-cookieconsent/dist"
        return (
            f'<link rel="stylesheet" href="{base}/cookieconsent.css">'
            f'<script src="{base}/cookieconsent.umd.js" defer></script>'
            + _script(
                "addEventListener('DOMContentLoaded', () => CookieConsent.run("
                + json.dumps(_VANILLA)
                + "));"
            )
        )
    if variant == "klaro":
        return _script("window.klaroConfig = " + json.dumps(_KLARO) + ";") + (
            '<script defer data-config="klaroConfig" src="/peers/klaro/dist/klaro.js"></script>'
        )
    if variant == "tarteaucitron":
        return (
            _script("var tarteaucitronForceLanguage = 'en';")
            + '<script src="/peers/tarteaucitronjs/tarteaucitron.min.js"></script>'
            + _script(
                "tarteaucitron.init("
                + json.dumps(_TARTEAUCITRON)
                + ");tarteaucitron.user.hjid = '1';tarteaucitron.user.hjsv = '6';"
                "(tarteaucitron.job = tarteaucitron.job || []).push('hotjar');"
                "tarteaucitron.user.piAId = '1';tarteaucitron.user.piCId = '1';"
                "tarteaucitron.job.push('pardot');"
            )
        )
    return ""  # the baseline, and kruimel-ssr, whose banner the middleware writes in


_ARTICLE = "".join(
    f"<h2>Section {i}</h2><p>Fresh bread every morning: sourdough, rye and spelt, baked in a "
    "wood-fired oven before sunrise. The dough rests for a day, so the crust is dark and the "
    "crumb is open. Come early on Saturdays; the croissants are gone by nine.</p>"
    for i in range(1, 9)
)


def page(variant: str, collector: str) -> str:
    """The article with ``variant``'s banner."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Bakery ({variant})</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:0 auto;"
        "padding:1rem}h1{font-size:2rem}</style>"
        f"{banner_head(variant, collector)}</head>"
        f'<body><header><a href="/">Bakery</a></header><main><h1>The bakery</h1>{_ARTICLE}'
        '</main><footer><a href="/privacy">Privacy statement</a></footer></body></html>'
    )


def create_app() -> ASGIApp:
    """The site: ``/<variant>.html`` per variant, ``/ssr/`` through the consent middleware.

    Reads ``KRUIMEL_BENCH_COLLECTOR`` (the collector's origin, for the snippet) and
    ``KRUIMEL_BENCH_CONFIG`` (the kruimel.toml both Kruimel variants share).
    """
    collector = os.environ["KRUIMEL_BENCH_COLLECTOR"]
    config = ConsentConfig.from_toml(os.environ["KRUIMEL_BENCH_CONFIG"])
    pages = {name: page(name, collector) for name in VARIANTS}

    def route(path: str, html: str) -> Route:
        async def endpoint(_: Request) -> HTMLResponse:
            return HTMLResponse(html)

        return Route(path, endpoint)

    plain = Starlette(
        routes=[route(f"/{name}.html", html) for name, html in pages.items()]
        + [Mount("/peers", StaticFiles(directory=PEERS))]
    )
    ssr_page = Starlette(routes=[route("/ssr/", pages["kruimel-ssr"])])
    # No consent log: the benchmark loads pages and never decides.
    ssr = ConsentMiddleware(ssr_page, config)

    async def site(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if path.startswith(("/ssr/", config.prefix + "/")):
            await ssr(scope, receive, send)
        else:
            await plain(scope, receive, send)

    return GZipMiddleware(site, minimum_size=256, compresslevel=9)
