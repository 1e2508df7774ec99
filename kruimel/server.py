"""``kruimel serve``: the collector and the consent endpoints, without a site of its own.

A static site includes ``<script src="https://COLLECTOR/_analytics/kruimel.js"
data-site="example.nl" defer>``; that snippet talks to this server's ``/_analytics`` and
``/_consent`` endpoints (CORS limited to the configured origins).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from analytics.errors import AnalyticsConfigError
from kruimel import __version__
from kruimel.app import build_app
from kruimel.base.store import Store
from kruimel.settings import Settings, SettingsError

__all__ = ["build_server_app"]


async def _health(request: Request) -> Response:
    return JSONResponse({"kruimel": __version__, "status": "ok"})


def build_server_app(
    settings: Settings, *, data_dir: Path, trusted_proxies: tuple[str, ...] = ()
) -> ASGIApp:
    """The ``kruimel serve`` app for ``settings``; journals live under ``data_dir``.

    :param trusted_proxies: added to ``[analytics] trusted_proxies`` (``--trusted-proxy``);
        together they alone decide whose ``X-Forwarded-For`` and ``X-Forwarded-Proto`` count.
    :raises SettingsError: the settings have no ``[analytics]`` table, or a proxy is not an
        address or network.
    """
    if settings.analytics is None:
        raise SettingsError(
            "kruimel serve needs an [analytics] table with at least one [[analytics.sites]]"
        )
    # Journals are per process state, so they follow --data-dir rather than the shared file.
    proxies = tuple(dict.fromkeys((*settings.analytics.trusted_proxies, *trusted_proxies)))
    try:
        analytics = dataclasses.replace(
            settings.analytics, journal_dir=data_dir / "journal" / "events", trusted_proxies=proxies
        )
    except AnalyticsConfigError as e:
        raise SettingsError(f"--trusted-proxy: {e}") from e
    store = Store.connect(settings.store_url, cluster=settings.cluster)
    return build_app(
        store,
        consent=settings.consent,
        analytics=analytics,
        journal_dir=data_dir / "journal",
        routes=[Route("/healthz", _health)],
    )
