"""The one helper for the ASGI lifespan protocol: start a resource with the server, close it
when the server stops.

Two cases: an app that serves alone answers the protocol itself (:func:`answer_lifespan`),
and a middleware with a resource of its own takes part in the app's lifespan
(:func:`lifespan_around`). Either way, a resource that cannot start is reported to the server
as ``lifespan.startup.failed``, so the server exits instead of serving requests that would
all fail.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Describe", "Hook", "answer_lifespan", "lifespan_around"]

Hook = Callable[[], Awaitable[object]]
# Says why the startup failed, for the server's log. Called inside the ``except`` block, so
# it may log the traceback itself (``log.exception``).
Describe = Callable[[BaseException], str]


async def answer_lifespan(
    receive: Receive, send: Send, start: Hook, stop: Hook, describe: Describe
) -> None:
    """Answer the lifespan protocol alone: ``start`` at startup, ``stop`` at shutdown."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await start()
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": describe(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


class _StartFailed(Exception):
    """Ends the app's lifespan when the resource could not start."""


async def lifespan_around(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    start: Hook,
    stop: Hook,
    describe: Describe,
) -> None:
    """Run ``app``'s lifespan with ``start`` before the app's startup and ``stop`` after its
    shutdown; answer the protocol alone when the app does not speak it.

    The startup message is caught on its way to the app, so the app's own startup runs after
    ``start``. When ``start`` fails, the server is told (``lifespan.startup.failed``) and the
    app's lifespan ends here: a server then exits, with lifespan "on" or "auto" alike.
    """
    took_part = failed = False

    async def receive_with_start() -> Message:
        nonlocal took_part, failed
        took_part = True
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await start()
            except Exception as exc:
                failed = True
                await send({"type": "lifespan.startup.failed", "message": describe(exc)})
                raise _StartFailed from exc
        return message

    async def send_with_stop(message: Message) -> None:
        if failed:
            return  # the server already heard why the startup failed
        # After the app has shut down: release what start() opened.
        if message["type"] == "lifespan.shutdown.complete":
            await stop()
        await send(message)

    try:
        await app(scope, receive_with_start, send_with_stop)
    except Exception:
        if failed:
            return
        if took_part:
            raise
    if failed:
        return
    if not took_part:
        # The app does not speak lifespan (it raised or returned at once, as Django and
        # bare apps do): answer the protocol for the resource alone.
        await answer_lifespan(receive, send, start, stop, describe)
