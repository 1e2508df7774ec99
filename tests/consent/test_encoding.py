"""Compressed pages from inside the middleware: a real Starlette app with ``GZipMiddleware``
added before ``ConsentMiddleware`` (so the compressor runs inside it) still gets the banner,
the gating and the cookie guard, and the client still gets gzip."""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from consent import encoding
from consent.config import ConsentConfig
from consent.encoding import MAX_PIECE, page_codec
from consent.middleware import ConsentMiddleware
from consent.records import ConsentLog

SITE = "https://www.example.nl"
# Long enough for GZipMiddleware (minimum_size 500) to compress it.
PAGE = (
    "<!DOCTYPE html><html lang='nl'><head><meta charset='utf-8'><title>Bakkerij</title>"
    '<script type="text/plain" data-consent="marketing" src="https://pi.pardot.com/pd.js">'
    "</script></head><body><h1>Welkom</h1>"
    + "<p>Vers brood, elke dag.</p>"
    * 40
    + '<iframe data-consent="marketing" data-src="https://www.youtube-nocookie.com/embed/ID">'
    "</iframe></body></html>"
)


async def page(request: Request) -> Response:
    response = HTMLResponse(PAGE)
    response.set_cookie("pi_opt_in123456", "true")  # marketing: dropped without consent
    return response


async def streamed(request: Request) -> Response:
    async def parts() -> AsyncIterator[str]:
        half = len(PAGE) // 2
        yield PAGE[:half]
        yield PAGE[half:]

    return StreamingResponse(parts(), media_type="text/html")


def gzipped_app(config: ConsentConfig, log: ConsentLog) -> Starlette:
    """The order the issue reports: GZip added first, so it runs inside the consent one."""
    app = Starlette(routes=[Route("/", page), Route("/streamed", streamed)])
    app.add_middleware(GZipMiddleware)
    app.add_middleware(ConsentMiddleware, config=config, log=log)
    return app


@pytest.fixture
async def client(
    config: ConsentConfig, consent_log: ConsentLog
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gzipped_app(config, consent_log))
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as c:
        yield c


async def raw_get(client: httpx.AsyncClient, path: str) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent, before httpx decodes it."""
    async with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, raw


async def test_gzip_inside_the_middleware_still_gets_the_banner(
    client: httpx.AsyncClient,
) -> None:
    response, raw = await raw_get(client, "/")
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) == len(raw)
    body = gzip.decompress(raw).decode()
    assert body.count('id="kruimel-banner"') == 1
    assert "/_consent/static/banner.js" in body
    assert body.count("data-consent-active") == 0
    vary = response.headers["vary"].lower()
    assert "cookie" in vary and "accept-encoding" in vary
    # The cookie guard reads the headers, which are never compressed.
    assert "pi_opt_in123456" not in response.headers.get("set-cookie", "")


async def test_gzip_streamed_page_is_rewritten_as_it_streams(client: httpx.AsyncClient) -> None:
    response, raw = await raw_get(client, "/streamed")
    assert response.headers["content-encoding"] == "gzip"
    assert "content-length" not in response.headers
    body = gzip.decompress(raw).decode()
    assert body.count('id="kruimel-banner"') == 1 and body.endswith("</html>")


async def test_gzip_decision_then_gated_elements_run(
    client: httpx.AsyncClient, config: ConsentConfig, consent_log: ConsentLog
) -> None:
    decided = await client.post("/_consent", json={"accept": "all"}, headers={"Origin": SITE})
    assert decided.status_code == 200 and config.cookie_name in decided.cookies
    assert len(await consent_log.records_for(decided.json()["id"])) == 1
    response = await client.get("/")  # httpx decodes the gzip
    assert response.headers["content-encoding"] == "gzip"
    assert 'id="kruimel-manage"' in response.text
    assert 'src="https://www.youtube-nocookie.com/embed/ID"' in response.text
    assert "pi_opt_in123456=true" in response.headers["set-cookie"]


async def test_gzip_is_left_alone_when_the_client_did_not_ask(
    client: httpx.AsyncClient,
) -> None:
    async with client.stream("GET", "/", headers={"Accept-Encoding": "identity"}) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert "content-encoding" not in response.headers
    assert b'id="kruimel-banner"' in raw


async def test_deflate_zlib_and_raw_are_rewritten(
    config: ConsentConfig, consent_log: ConsentLog
) -> None:
    plain = PAGE.encode()
    bodies = {"zlib": zlib.compress(plain)}
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    bodies["raw"] = raw_deflate.compress(plain) + raw_deflate.flush()

    async def deflated(request: Request) -> Response:
        body = bodies[request.query_params["kind"]]
        return Response(body, media_type="text/html", headers={"Content-Encoding": "deflate"})

    app = ConsentMiddleware(Starlette(routes=[Route("/", deflated)]), config=config, log=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE) as c:
        for kind in bodies:
            response = await c.get("/", params={"kind": kind})
            assert response.headers["content-encoding"] == "deflate"
            assert 'id="kruimel-banner"' in response.text, kind


async def test_brotli_passes_through_and_warns_once(
    config: ConsentConfig, caplog: pytest.LogCaptureFixture
) -> None:
    async def brotli(request: Request) -> Response:
        return Response(
            b"\x8b\x02\x80<html>", media_type="text/html", headers={"Content-Encoding": "br"}
        )

    encoding._warned.discard("br")
    caplog.set_level(logging.WARNING, logger="kruimel.consent")
    app = ConsentMiddleware(Starlette(routes=[Route("/", brotli)]), config=config)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE) as c:
        for _ in range(3):
            async with c.stream("GET", "/") as response:
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
            assert raw == b"\x8b\x02\x80<html>"
            assert response.headers["content-encoding"] == "br"
    warnings = [r.getMessage() for r in caplog.records if "br-encoded" in r.getMessage()]
    assert len(warnings) == 1
    assert "outside ConsentMiddleware" in warnings[0]


def test_a_bomb_is_decoded_in_bounded_pieces() -> None:
    codec = page_codec(b"gzip")
    assert codec is not None
    bomb = gzip.compress(b"<p>" + b" " * (5 * MAX_PIECE) + b"</p>")
    assert len(bomb) < MAX_PIECE // 50
    pieces = list(codec.decode(bomb, more=False))
    assert all(len(piece) <= MAX_PIECE for piece, _ in pieces)
    assert [more for _, more in pieces] == [True] * (len(pieces) - 1) + [False]
    assert b"".join(piece for piece, _ in pieces) == b"<p>" + b" " * (5 * MAX_PIECE) + b"</p>"


def test_gzip_members_are_joined_and_padding_ignored() -> None:
    codec = page_codec(b"gzip")
    assert codec is not None
    body = gzip.compress(b"<p>one</p>") + gzip.compress(b"<p>two</p>") + b"\x00" * 8
    assert list(codec.decode(body, more=False)) == [(b"<p>one</p>", True), (b"<p>two</p>", False)]


def test_a_corrupt_body_names_the_coding() -> None:
    codec = page_codec(b"gzip")
    assert codec is not None
    with pytest.raises(ValueError, match="Content-Encoding: gzip"):
        list(codec.decode(b"\x1f\x8b\x08\x00garbage-garbage", more=False))
