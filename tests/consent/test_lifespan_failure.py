"""The middleware's own start failing (its consent_log table exists with an engine it cannot
use) fails the lifespan: the server is told and exits, even under uvicorn's default
``lifespan="auto"``, instead of serving 503 to every decision forever."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette

from consent import ConsentConfig, ConsentLog, ConsentMiddleware
from kruimel.base.store import Store
from tests.serving import free_port, run_lifespan


def _broken_log(store: Store) -> ConsentLog:
    store.command("CREATE TABLE consent_log (x String) ENGINE = Memory")
    return ConsentLog(store)


async def test_log_start_failure_is_a_failed_startup(config: ConsentConfig, store: Store) -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("app startup")
        yield

    app = ConsentMiddleware(Starlette(lifespan=lifespan), config=config, log=_broken_log(store))
    sent = await run_lifespan(app)
    assert [m["type"] for m in sent] == ["lifespan.startup.failed"]
    assert "consent log could not start" in sent[0]["message"] and "TTL" in sent[0]["message"]
    assert events == []  # the app's own startup never ran


def test_uvicorn_with_default_lifespan_exits(config: ConsentConfig, store: Store) -> None:
    app = ConsentMiddleware(Starlette(), config=config, log=_broken_log(store))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="critical"))  # "auto"
    exits: list[BaseException] = []

    def serve() -> None:
        try:
            server.run()
        except SystemExit as e:  # uvicorn's exit after a failed startup
            exits.append(e)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    thread.join(60)
    if thread.is_alive():  # it kept serving: stop it, and fail
        server.should_exit = True
        thread.join(30)
    assert exits and not server.started
