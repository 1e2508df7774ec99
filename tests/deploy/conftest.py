"""Fixtures for the deployment tests: the examples under ``examples/``, imported as a user
runs them (environment set first), and an ASGI lifespan driver."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

# 43 characters from secrets.token_urlsafe(32): long enough for Kruimel's key check.
KEY = "q0Jc1m2rVt6bJ8kYl3sXn9u4wH5eG7aZ0dF1iK2pQ3o"


@pytest.fixture(scope="session")
def examples_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the examples keep their store and journals, one for the session: a module is
    imported once (as uvicorn does), so its store URL is the one of its first import."""
    return tmp_path_factory.mktemp("examples")


@pytest.fixture
def example(examples_root: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``example("fastapi_app")``: the module, imported as a user runs it (environment set
    first). The environment is set for this test only, not left to later tests."""
    url = f"chdb://{examples_root / 'store'}"
    monkeypatch.setenv("KRUIMEL_STORE_URL", url)
    monkeypatch.setenv("KRUIMEL_DATA_DIR", str(examples_root / "data"))
    monkeypatch.setenv("KRUIMEL_SECRET_KEY", KEY)

    def load(name: str) -> ModuleType:
        return importlib.import_module(f"examples.{name}")

    return load


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[list[str]]:
    """Run ``app``'s lifespan around the block, as a server does; yields what it answered."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    said: list[str] = []
    started = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        said.append(message["type"])
        if message["type"].startswith("lifespan.startup"):
            started.set()

    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, send)
    )
    await inbox.put({"type": "lifespan.startup"})
    waiting = asyncio.create_task(started.wait())
    await asyncio.wait([task, waiting], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiting.cancel()
        task.result()  # raises what the app raised
    assert said == ["lifespan.startup.complete"], said
    try:
        yield said
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await task


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]
