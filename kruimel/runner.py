"""Runs a Kruimel app under uvicorn for ``kruimel demo`` and ``kruimel serve``.

Two promises of the command line live here. A failed start fails: uvicorn runs the lifespan
with ``lifespan="on"``, so an app whose startup raises (the consent log's table cannot be set
up, the journal is held by another process, ClickHouse does not answer) stops the process
with a non-zero status instead of serving 503s forever; :class:`StartupGuard` keeps the
reason, and the command prints it as one line. And only ``trusted_proxies`` decides whom to
believe: uvicorn's own ``proxy_headers`` (on by default, trusting ``X-Forwarded-For`` from
loopback) is off.
"""

from __future__ import annotations

import logging
import socket

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["StartupFailed", "StartupGuard", "listen", "run"]

# uvicorn's own line after a failed start; the command prints the reason instead.
_UVICORN_EXIT_LINE = "Application startup failed. Exiting."


class StartupFailed(Exception):
    """The app's lifespan startup failed; ``__cause__`` is why, when it was an exception."""


class StartupGuard:
    """Wraps an app: a failed lifespan startup is recorded in :attr:`error`, not logged.

    The server is still told (``lifespan.startup.failed``, with no message, so it writes
    no traceback), and stops.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.error: BaseException | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        failed = started = False

        async def guarded_send(message: Message) -> None:
            nonlocal failed, started
            started = started or message["type"] == "lifespan.startup.complete"
            if message["type"] == "lifespan.startup.failed":
                if failed:
                    return
                failed = True
                if self.error is None:
                    self.error = StartupFailed(_first_line(message.get("message", "")))
                message = {"type": "lifespan.startup.failed", "message": ""}
            await send(message)

        try:
            await self.app(scope, receive, guarded_send)
        except Exception as e:
            if started:
                raise  # a failed shutdown is the server's to report; the start went well
            self.error = e  # the exception says more than a traceback's text
            if not failed:
                failed = True
                await send({"type": "lifespan.startup.failed", "message": ""})


class _DropExitLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _UVICORN_EXIT_LINE


def listen(host: str, port: int) -> socket.socket:
    """A listening socket for ``host:port``, bound before the store is opened.

    :raises OSError: the address is in use or cannot be bound.
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def run(app: ASGIApp, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until SIGINT/SIGTERM.

    :raises StartupFailed: the app's startup failed (the reason is the ``__cause__``).
    """
    guard = StartupGuard(app)
    config = uvicorn.Config(
        guard,
        lifespan="on",
        proxy_headers=False,  # trusted_proxies governs the client address and scheme
        log_level="warning",
        access_log=False,
    )
    logging.getLogger("uvicorn.error").addFilter(_DropExitLine())
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except SystemExit:
        if guard.error is None:
            raise
    finally:
        sock.close()
    if guard.error is not None:
        raise StartupFailed(str(guard.error)) from guard.error


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0].strip() if lines else "the application did not start"
