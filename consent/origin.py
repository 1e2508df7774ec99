"""Where a request to the consent endpoints comes from: the same-site check of a decision,
CORS for the configured ``cors_origins``, and safe redirect targets.

A state-changing request (POST, DELETE) from another site is refused (403) unless its origin
is configured; the answer names the one proxy mix-up that looks like a cross-site request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from kruimel.base.headers import append_header, merge_vary

from .cookie import TOKEN_HEADER
from .errors import ConsentRequestError

__all__ = [
    "check_origin",
    "cors_headers",
    "default_port",
    "origin_of",
    "preflight",
    "refusal",
    "safe_next",
]


def default_port(scheme: str) -> str:
    """The port a URL of ``scheme`` leaves out, as it would be written after the host."""
    return ":443" if scheme == "https" else ":80"


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL; None for anything else, malformed included
    (``urlsplit`` raises ValueError on ``http://[`` and other broken IPv6 hosts)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    netloc = parts.netloc.lower().rsplit("@", 1)[-1].removesuffix(default_port(parts.scheme))
    return f"{parts.scheme}://{netloc}"


def safe_next(value: str | None, own_origin: str, fallback: str = "/") -> str:
    """``value`` as a same-origin path to redirect to, or ``fallback``: never an open
    redirect (no other host, no ``//host``, no backslashes or control characters)."""
    if not value or any(ord(ch) < 0x20 or ch == "\\" for ch in value):
        return fallback
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. "http://[": not a URL, so not one to go to
        return fallback
    if parts.scheme or parts.netloc:
        if origin_of(value) != own_origin:
            return fallback
        value = parts._replace(scheme="", netloc="").geturl() or "/"
    if not value.startswith("/") or value.startswith("//"):
        return fallback
    return value


def refusal(source: str | None, own_origin: str, scope: Scope) -> str:
    """Why a decision was refused; for the one mix-up that is a setting, which one.

    An ``https`` page whose request reached the server as ``http`` came through a proxy that
    terminates HTTPS but whose ``X-Forwarded-Proto`` is not believed. Its address is shown
    masked (a network to trust), never as it is.
    """
    if source != "https://" + own_origin.removeprefix("http://"):
        return "cross-site request refused"
    client = scope.get("client")
    seen = ""
    if client:
        try:
            peer = ipaddress.ip_address(str(client[0]))
            prefix = 24 if peer.version == 4 else 64
            network = ipaddress.ip_network(f"{peer}/{prefix}", strict=False)
            seen = f" (this request came from {network})"
        except ValueError:
            seen = ""
    return (
        "cross-site request refused: the page is https but the request reached the server "
        "as http. If a proxy terminates HTTPS in front of it, add the proxy's address to "
        f"trusted_proxies{seen} ([analytics] trusted_proxies or kruimel serve "
        "--trusted-proxy; for your own server, its proxy-headers setting)"
    )


def check_origin(
    headers: Mapping[str, str], own_origin: str, cors_origins: tuple[str, ...], scope: Scope
) -> None:
    """Refuse a state-changing request from another site (403)."""
    origin = headers.get("origin")
    fetch_site = headers.get("sec-fetch-site")  # set by the browser, not by pages
    if origin and origin != "null":
        source: str | None = origin_of(origin) or origin
    elif fetch_site is not None:
        # "Origin: null" comes from pages with Referrer-Policy: no-referrer, too.
        if fetch_site in ("same-origin", "none"):
            return
        source = "null"
    elif origin == "null":
        source = "null"
    elif "referer" in headers:
        source = origin_of(headers["referer"]) or "null"
    else:
        return  # no browser omits all three: a server-side client, not a forged form
    if source != own_origin and source not in cors_origins:
        raise ConsentRequestError(403, refusal(source, own_origin, scope))


def preflight(headers: Mapping[str, str], cors: str | None, methods: list[str]) -> Response:
    """The answer to an ``OPTIONS`` preflight from ``cors`` (None: not an allowed origin)."""
    if cors is None:
        return JSONResponse({"error": "origin not allowed"}, 403)
    wanted = headers.get("access-control-request-method", "").upper()
    if wanted and wanted not in methods:
        return JSONResponse({"error": "method not allowed"}, 405)
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Methods": ", ".join(methods),
            "Access-Control-Allow-Headers": f"content-type, {TOKEN_HEADER}",
            "Access-Control-Max-Age": "600",
        },
    )


def cors_headers(response: Response, cors: str | None) -> Response:
    """``response`` marked as varying by ``Origin``, and readable by ``cors`` when allowed."""
    merge_vary(response.raw_headers, b"Origin")
    if cors is not None:
        append_header(response.raw_headers, b"access-control-allow-origin", cors.encode("latin-1"))
    return response
