"""The scheme behind a proxy: believed from trusted_proxies only (kruimel.forwarded)."""

from __future__ import annotations

from typing import Any

import pytest

from kruimel.forwarded import TrustedSchemeMiddleware, forwarded_proto


async def _scheme(
    headers: list[tuple[bytes, bytes]], peer: str = "10.0.0.5", kind: str = "http"
) -> str:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    scheme = "ws" if kind == "websocket" else "http"
    scope = {"type": kind, "scheme": scheme, "client": (peer, 5000), "headers": headers}
    await TrustedSchemeMiddleware(app, ["10.0.0.0/8"])(scope, None, None)  # type: ignore[arg-type]
    return str(seen["scheme"])


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"x-forwarded-proto", b"https")], "https"),
        ([(b"x-forwarded-proto", b"http, HTTPS")], "https"),  # the nearest proxy's entry
        ([(b"x-forwarded-proto", b"https, http")], "http"),
        ([(b"forwarded", b'for=1.2.3.4;proto="https"')], "https"),
        ([(b"x-forwarded-proto", b"ftp")], "http"),  # not a scheme we serve: ignored
        ([], "http"),
    ],
)
async def test_trusted_proxy_sets_the_scheme(
    headers: list[tuple[bytes, bytes]], expected: str
) -> None:
    assert await _scheme(headers) == expected


async def test_anyone_else_cannot_claim_https() -> None:
    assert await _scheme([(b"x-forwarded-proto", b"https")], peer="203.0.113.7") == "http"
    assert await _scheme([(b"x-forwarded-proto", b"https")], peer="127.0.0.1") == "http"


async def test_websocket_gets_wss() -> None:
    assert await _scheme([(b"x-forwarded-proto", b"https")], kind="websocket") == "wss"


def test_forwarded_proto_reads_the_last_element() -> None:
    value = b"for=1.1.1.1;proto=http, for=10.0.0.1;proto=https"
    assert forwarded_proto([(b"forwarded", value)]) == "https"
