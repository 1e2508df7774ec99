"""The browser assets go out precompressed when the browser accepts it (issue 9): the build's
``.br`` or ``.gz`` copy with ``Content-Encoding``, ``Vary: Accept-Encoding`` always, and the
plain file otherwise."""

from __future__ import annotations

import gzip

import httpx
import pytest
from starlette.exceptions import HTTPException

from kruimel.base.assets import AssetFiles, asset_path, asset_version


async def fetch(path: str, accept: str) -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent on the wire (not decoded)."""
    headers = {"accept-encoding": accept}
    transport = httpx.ASGITransport(app=AssetFiles())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        async with client.stream("GET", path, headers=headers) as response:
            body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip, deflate, br, zstd", "br"),  # Chromium's header
        ("gzip, br;q=0", "gzip"),
        ("GZIP;q=0.5", "gzip"),
        ("deflate", None),
        ("br;q=0, gzip;q=0", None),
        ("identity", None),
    ],
)
@pytest.mark.parametrize("name", ["banner.js", "banner.css", "tracker.js", "kruimel.js"])
async def test_asset_sent_in_the_best_accepted_encoding(
    name: str, accept: str, coding: str | None
) -> None:
    response, body = await fetch(f"/{name}?v={asset_version(name)}", accept)
    assert response.status_code == 200
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers.get("content-encoding") == coding
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"].startswith(("text/javascript", "text/css"))
    assert int(response.headers["content-length"]) == len(body)
    original = asset_path(name).read_bytes()
    if coding == "gzip":
        assert gzip.decompress(body) == original
    elif coding == "br":
        assert body == asset_path(name + ".br").read_bytes() and len(body) < len(original)
    else:
        assert body == original


@pytest.mark.parametrize("name", ["banner.js.gz", "banner.js.br", "tracker.js.br"])
async def test_precompressed_copies_are_not_served_by_their_own_name(name: str) -> None:
    # Sent by that name they would go out without Content-Encoding: unreadable. The answer is
    # StaticFiles' 404 (an HTTPException, or a response once the route answers it itself).
    try:
        response, _ = await fetch(f"/{name}", "gzip, br")
        status = response.status_code
    except HTTPException as refused:
        status = refused.status_code
    assert status == 404


async def test_revalidation_of_the_brotli_copy_answers_304() -> None:
    first, _ = await fetch("/banner.js", "br")
    transport = httpx.ASGITransport(app=AssetFiles())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        again = await client.get(
            "/banner.js",
            headers={"accept-encoding": "br", "if-none-match": first.headers["etag"]},
        )
    assert again.status_code == 304 and again.headers["vary"] == "Accept-Encoding"
    plain, _ = await fetch("/banner.js", "identity")
    assert plain.headers["etag"] != first.headers["etag"]  # each copy its own validator
