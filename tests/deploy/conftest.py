"""Fixtures for the deployment tests: the examples under ``examples/``, imported as a user
runs them (environment set first), and an ASGI lifespan driver."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

# 43 characters from secrets.token_urlsafe(32): long enough for Kruimel's key check.
KEY = "q0Jc1m2rVt6bJ8kYl3sXn9u4wH5eG7aZ0dF1iK2pQ3o"


@pytest.fixture(scope="session")
def examples_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The store URL every example is imported with (each test opens and closes it)."""
    root = tmp_path_factory.mktemp("examples")
    url = f"chdb://{root / 'store'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KRUIMEL_STORE_URL", url)
        mp.setenv("KRUIMEL_DATA_DIR", str(root / "data"))
        mp.setenv("KRUIMEL_SECRET_KEY", KEY)
        yield url


@pytest.fixture
def example(examples_store: str) -> Any:
    """``example("fastapi_app")``: the module, imported once per session like uvicorn does."""

    def load(name: str) -> ModuleType:
        assert os.environ["KRUIMEL_STORE_URL"] == examples_store
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
