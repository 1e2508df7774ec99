"""Each framework's example app under examples/, driven through ConsentMiddleware with its
lifespan and a real chDB store: banner, a decision recorded, gated elements after it."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from litestar import Litestar, get
from litestar.middleware import DefineMiddleware

from consent import ConsentConfigError, ConsentMiddleware
from consent.fastapi import Consent
from consent.frameworks import consent_of
from tests.serving import free_port, start_process, stop_process

from .conftest import KEY, lifespan, repo_root

BASE = "http://shop.test"


async def visit_decide_revisit(app: Any) -> httpx.Response:
    """The visitor's path: banner, Accept all, the page with marketing active."""
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            first = await client.get("/")
            assert first.status_code == 200
            assert first.text.count('id="kruimel-banner"') == 1
            assert "data-src=" in first.text  # the video waits
            decided = await client.post(
                "/_consent", json={"accept": "all"}, headers={"Origin": BASE}
            )
            assert decided.status_code == 200, decided.text
            records = (await client.get("/_consent/records")).json()["records"]
            assert [r["action"] for r in records] == ["accept_all"]
            again = await client.get("/")
            assert 'id="kruimel-manage"' in again.text and 'id="kruimel-banner"' not in again.text
            assert 'src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"' in again.text
            return again


async def test_fastapi_example(example: Any) -> None:
    module = example("fastapi_app")
    page = await visit_decide_revisit(module.app)
    assert page.headers["content-encoding"] == "gzip"  # GZipMiddleware inside, still rewritten
    assert "Welcome back!" in page.text


async def test_fastapi_consent_dependency_is_typed_state(example: Any) -> None:
    module = example("fastapi_app")
    async with lifespan(module.app):
        transport = httpx.ASGITransport(app=module.app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            assert (await client.get("/api/consent")).json() == {
                "decided": False,
                "marketing": False,
            }
            await client.post("/_consent", json={"accept": "all"}, headers={"Origin": BASE})
            assert (await client.get("/api/consent")).json() == {
                "decided": True,
                "marketing": True,
            }


async def test_fastapi_route_without_the_middleware_is_told_why() -> None:
    bare = FastAPI()

    @bare.get("/")
    async def home(consent: Consent) -> bool:
        return consent.decided

    transport = httpx.ASGITransport(app=bare, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        with pytest.raises(RuntimeError, match="ConsentMiddleware must wrap the whole app"):
            await client.get("/")


async def test_django_asgi_example(example: Any) -> None:
    module = example("django_app")
    page = await visit_decide_revisit(module.application)
    assert page.headers["content-encoding"] == "gzip"  # Django's GZipMiddleware, rewritten
    assert "Welcome back!" in page.text


async def test_litestar_example(example: Any) -> None:
    module = example("litestar_app")
    page = await visit_decide_revisit(module.app)
    assert "Welcome back!" in page.text


async def test_litestar_define_middleware_is_refused_at_start(example: Any) -> None:
    config = example("common").config

    @get("/")
    async def home() -> str:
        return "hi"

    with pytest.raises(ConsentConfigError, match=r"wrap the whole app instead"):
        Litestar(
            route_handlers=[home],
            middleware=[DefineMiddleware(ConsentMiddleware, config=config())],
        )


async def test_quart_example(example: Any) -> None:
    module = example("quart_app")
    page = await visit_decide_revisit(module.app)
    assert "Welcome back!" in page.text


async def test_starlette_example(example: Any) -> None:
    module = example("starlette_app")
    page = await visit_decide_revisit(module.app)
    assert page.headers["content-encoding"] == "gzip"
    assert "Welcome back!" in page.text


async def test_build_app_example(example: Any) -> None:
    """examples/full_app.py, as ``uvicorn examples.full_app:create_app --factory`` runs it:
    importing opens nothing; the factory's app has the banner, the log and the collector."""
    module = example("full_app")
    page = await visit_decide_revisit(module.create_app())
    assert "Welcome back!" in page.text
    app = module.create_app()  # a new process would: build_app closes its store at shutdown
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            tracker = await client.get("/_analytics/kruimel.js")
            assert tracker.status_code == 200 and "javascript" in tracker.headers["content-type"]


def test_examples_sign_with_a_key_kruimel_accepts(
    example: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without KRUIMEL_SECRET_KEY the examples make a random 43-character key (and say so);
    neither way trips Kruimel's own short-key warning."""
    common = example("common")
    with caplog.at_level("WARNING", logger="kruimel.consent"):
        assert common.config().secret_keys  # from the environment
        monkeypatch.delenv("KRUIMEL_SECRET_KEY")
        generated = common.config().secret_keys
    assert len(generated) == 1 and len(generated[0]) >= 32
    assert not [r for r in caplog.records if "shorter" in r.getMessage()]


def test_consent_of_names_the_fix() -> None:
    from starlette.requests import Request

    request = Request({"type": "http", "headers": [], "method": "GET", "path": "/"})
    with pytest.raises(RuntimeError, match="ConsentMiddleware"):
        consent_of(request)


@pytest.mark.slow
def test_starlette_example_under_uvicorn_serves_gzip_with_the_banner(tmp_path: Path) -> None:
    """The README's run line for real: uvicorn, HTTP, GZipMiddleware inside the consent one."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_process(
        [sys.executable, "-m", "uvicorn", "examples.starlette_app:app", "--port", str(port)],
        base + "/_consent",
        cwd=tmp_path,
        env={
            "KRUIMEL_STORE_URL": None,  # the example's own store, not one from the environment
            "KRUIMEL_SECRET_KEY": KEY,
            "PYTHONPATH": str(repo_root()),
        },
        ready=_any_answer,
    )
    try:
        with httpx.Client(base_url=base) as client:
            with client.stream("GET", "/", headers={"Accept-Encoding": "gzip"}) as response:
                raw = b"".join(response.iter_raw())
            assert response.headers["content-encoding"] == "gzip"
            assert int(response.headers["content-length"]) == len(raw)
            assert gzip.decompress(raw).count(b'id="kruimel-banner"') == 1
            decided = client.post("/_consent", json={"accept": "all"}, headers={"Origin": base})
            assert decided.status_code == 200
            assert "Welcome back!" in client.get("/").text
    finally:
        stop_process(server)
    assert (tmp_path / "kruimel-data" / "store").is_dir()


def _any_answer(url: str) -> bool:
    httpx.get(url, timeout=1)
    return True
