"""kruimel.runner.StartupGuard: a failed start is kept for one clear line, not a traceback."""

from __future__ import annotations

from typing import Any

import pytest

from tests.serving import run_lifespan


async def _guarded_lifespan(app: Any) -> tuple[Any, list[dict[str, Any]]]:
    from kruimel.runner import StartupGuard

    guard = StartupGuard(app)
    return guard, await run_lifespan(guard, {"type": "lifespan"})


async def test_startup_guard_keeps_why_the_start_failed() -> None:
    async def failing_start(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        raise OSError("disk full")

    guard, sent = await _guarded_lifespan(failing_start)
    assert sent == [{"type": "lifespan.startup.failed", "message": ""}]  # no traceback text
    assert isinstance(guard.error, OSError)


async def test_startup_guard_lets_a_failed_shutdown_through() -> None:
    async def failing_stop(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        raise RuntimeError("shutdown bug")

    with pytest.raises(RuntimeError):
        await _guarded_lifespan(failing_stop)
