"""The request's scheme behind a reverse proxy, believed only from ``trusted_proxies``.

A proxy that terminates HTTPS passes the original scheme in ``X-Forwarded-Proto`` (or RFC
7239 ``Forwarded: proto=``). :class:`TrustedSchemeMiddleware` puts it in ``scope["scheme"]``
only when the connection comes from one of the trusted proxies, the same setting that lets
the collector read the client's address from ``X-Forwarded-For``
(:func:`analytics.clientip.client_ip`). Anyone else could claim ``https`` and so get cookies
marked ``Secure`` and pass the consent endpoints' same-origin check for an ``https`` page.

``kruimel demo`` and ``kruimel serve`` put it in front of everything (uvicorn's own
``proxy_headers`` is off there); an app of your own served by uvicorn can do the same::

    app = TrustedSchemeMiddleware(app, ["10.0.0.0/8"])   # and uvicorn --no-proxy-headers
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from analytics.clientip import TrustedProxies

__all__ = ["TrustedSchemeMiddleware", "forwarded_proto"]

_SCHEMES = {"http": ("http", "ws"), "https": ("https", "wss")}


def forwarded_proto(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The scheme the nearest proxy reports: the last ``X-Forwarded-Proto`` entry, else the
    last ``proto=`` of ``Forwarded``; None when neither names http or https."""
    xfp = forwarded = None
    for key, value in headers:
        if key == b"x-forwarded-proto":
            xfp = value.decode("latin-1")
        elif key == b"forwarded":
            forwarded = value.decode("latin-1")
    proto = None
    if xfp is not None:
        proto = xfp.rsplit(",", 1)[-1]
    elif forwarded is not None:
        for pair in forwarded.rsplit(",", 1)[-1].split(";"):
            name, _, val = pair.partition("=")
            if name.strip().lower() == "proto":
                proto = val
    if proto is None:
        return None
    proto = proto.strip().strip('"').lower()
    return proto if proto in _SCHEMES else None


class TrustedSchemeMiddleware:
    """Sets ``scope["scheme"]`` from a trusted proxy's forwarded headers.

    :param trusted_proxies: CIDRs or addresses (``[analytics] trusted_proxies``); empty
        means no proxy is trusted and the scheme stays that of the connection.
    """

    def __init__(self, app: ASGIApp, trusted_proxies: Iterable[str]) -> None:
        self.app = app
        self.trusted = TrustedProxies(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.trusted:
            client = scope.get("client")
            if client and self.trusted.trusts_host(str(client[0])):
                proto = forwarded_proto(scope["headers"])
                if proto is not None:
                    scheme = _SCHEMES[proto][scope["type"] == "websocket"]
                    scope = {**scope, "scheme": scheme}
        await self.app(scope, receive, send)
