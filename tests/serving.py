"""The one home in the tests for starting servers: a free port, a child process that answers
(and is stopped on any failure to start), and driving an app's lifespan by hand."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import httpx

__all__ = ["StartFailed", "free_port", "run_lifespan", "start_process", "stop_process"]


class StartFailed(AssertionError):
    """The child exited, or did not answer in time; the message holds its output."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    """Any HTTP answer below 500: the server is up (404 included)."""
    return httpx.get(url, timeout=2).status_code < 500


def start_process(
    argv: Sequence[str],
    ready_url: str,
    *,
    env: Mapping[str, str | None] | None = None,
    cwd: Path | None = None,
    output: IO[Any] | int = subprocess.PIPE,
    timeout: float = 60,
    ready: Callable[[str], bool] = _answers,
    describe: Callable[[subprocess.Popen[Any]], str] | None = None,
) -> subprocess.Popen[Any]:
    """Start ``argv`` (environment: this one plus ``env``, where None removes a variable)
    and wait until ``ready(ready_url)``.

    The child is stopped on any exception while it starts (an exit, the deadline, a
    KeyboardInterrupt, a bug in ``ready``), so a failed start never leaves a server running.

    :param output: where the child's stdout and stderr go (a pipe, read on failure, by default).
    :param describe: the child's output for the failure message (default: read the pipe).
    :raises StartFailed: it exited or did not answer within ``timeout`` seconds.
    """
    environment = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    proc: subprocess.Popen[Any] = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=environment,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=output == subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StartFailed(f"{argv[0]} exited with {proc.returncode}")
            try:
                if ready(ready_url):
                    return proc
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise StartFailed(f"{list(argv)} did not answer {ready_url} within {timeout:.0f} s")
    except BaseException as e:
        out = stop_process(proc)
        told = describe(proc) if describe is not None else out
        if isinstance(e, StartFailed):
            raise StartFailed(f"{e}:\n{told}") from None
        raise


def stop_process(proc: subprocess.Popen[Any], timeout: float = 30) -> str:
    """Stop ``proc`` (SIGTERM, then SIGKILL after ``timeout`` s); its piped output, if any."""
    if proc.poll() is None:
        proc.terminate()
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    if isinstance(out, bytes):
        return out.decode(errors="replace")
    return out or ""


async def run_lifespan(app: Any, scope: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Drive ``app`` through a lifespan startup and shutdown; the messages it sent."""
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    lifespan = scope or {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    await app(dict(lifespan), receive, send)
    return sent
