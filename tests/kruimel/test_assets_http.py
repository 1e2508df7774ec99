"""The asset routes (``/_consent/static/*``, ``/_analytics/script.js`` and ``kruimel.js``)
answer every request that is not a GET or HEAD of an existing file with a 4xx JSON error,
never a 500 (issue 8 §2: StaticFiles raised its HTTPException out of a bare ASGI app)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from kruimel.base.assets import AssetFiles
from kruimel.base.store import Store

from ..fuzzkit import FuzzRequest, build_fuzz_app, lifespan, run

SITE = "https://www.example.nl"


@pytest.fixture
async def consent_static() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=AssetFiles())
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as client:
        yield client


def _is_json_error(response: httpx.Response, status: int) -> bool:
    return (
        response.status_code == status
        and isinstance(response.json().get("error"), str)
        and response.headers["cache-control"] == "no-store"
    )


@pytest.mark.parametrize(
    "name",
    [
        "missing.js",
        "",
        "standin",  # a directory
        "b" * 5000,  # longer than a file name may be (OSError before)
        "banner.js%00",
        "%00",
        "%01banner.js",
        "..",
        "%2e%2e",
        "..%2fpyproject.toml",
        "banner.js%2f",
    ],
)
async def test_a_missing_or_malformed_name_is_404(
    consent_static: httpx.AsyncClient, name: str
) -> None:
    for method in ("GET", "HEAD", "POST"):
        response = await consent_static.request(method, f"/_consent/static/{name}")
        assert response.status_code == 404, (method, name)
        if method != "HEAD":
            assert _is_json_error(response, 404)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
async def test_another_method_on_a_file_is_405_with_allow(
    consent_static: httpx.AsyncClient, method: str
) -> None:
    response = await consent_static.request(method, "/_consent/static/banner.js")
    assert _is_json_error(response, 405)
    assert response.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("value", ["bytes=x", "bytes=10-0", "items=0-1", "bytes=999999-"])
async def test_a_range_is_ignored_not_answered_in_plain_text(
    consent_static: httpx.AsyncClient, value: str
) -> None:
    whole = await consent_static.get("/_consent/static/banner.css")
    ranged = await consent_static.get("/_consent/static/banner.css", headers={"Range": value})
    assert ranged.status_code == 200 and ranged.content == whole.content


async def test_existing_files_still_served_with_validators(
    consent_static: httpx.AsyncClient,
) -> None:
    first = await consent_static.get("/_consent/static/banner.js")
    assert first.status_code == 200 and first.headers["x-content-type-options"] == "nosniff"
    again = await consent_static.get(
        "/_consent/static/banner.js", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    head = await consent_static.head("/_consent/static/banner.js")
    assert head.status_code == 200 and head.content == b""


async def test_through_the_whole_app(tmp_path: Path) -> None:
    """The same answers where the app serves them: under /_consent and the collector."""
    store = Store.connect(f"chdb://{tmp_path / 'store'}")
    try:
        app = build_fuzz_app(store, tmp_path)
        host = [(b"host", b"www.example.nl")]
        async with lifespan(app):
            cases = [
                ("GET", b"/_consent/static/missing.js", 404),
                ("POST", b"/_consent/static/banner.js", 405),
                ("GET", b"/_consent/static/" + b"a" * 5000, 404),
                ("GET", b"/_consent/static/%00", 404),
                ("GET", b"/_consent/static/..", 404),
                ("POST", b"/_analytics/script.js", 405),
                ("DELETE", b"/_analytics/kruimel.js", 405),
                ("GET", b"/_analytics/script.js", 200),
            ]
            for method, path, status in cases:
                exchange = await run(app, FuzzRequest(method, path, b"", host, [b""]))
                assert exchange.error is None, (method, path, exchange.error)
                assert exchange.status == status, (method, path)
    finally:
        store.close()


async def test_a_path_under_the_collector_with_a_line_break_gets_its_json_404(
    tmp_path: Path,
) -> None:
    # Starlette's Mount pattern ends in '.*', which stops at a line break: such paths fell
    # through to the pages' app and its plain-text 404.
    store = Store.connect(f"chdb://{tmp_path / 'store'}")
    try:
        app = build_fuzz_app(store, tmp_path)
        async with lifespan(app):
            for path in (b"/_analytics/%0d%0a", b"/_analytics/a%0ab", b"/_analytics/api/event%0a"):
                request = FuzzRequest("GET", path, b"", [(b"host", b"www.example.nl")], [b""])
                exchange = await run(app, request)
                assert exchange.status == 404, path
                assert json.loads(exchange.body()) == {"error": "not found"}, path
    finally:
        store.close()
