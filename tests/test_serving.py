"""tests.serving.start_process stops its child on any failure to start, so a failed start
never leaves a server running (issue 9 §2)."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.serving import StartFailed, free_port, start_process

_SLEEPER = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(600)"


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _pid_of(path: Path) -> int | None:
    text = path.read_text() if path.exists() else ""
    return int(text) if text else None


def _wait_for_pid(path: Path) -> int:
    """The child's pid once it wrote it (bounded: a child that never does fails the test)."""
    for _ in range(600):
        pid = _pid_of(path)
        if pid is not None:
            return pid
        time.sleep(0.1)
    raise AssertionError("the child never wrote its pid")


def test_a_child_that_never_answers_is_stopped_at_the_deadline(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    argv = [sys.executable, "-c", _SLEEPER, str(pid_file)]

    def never(url: str) -> bool:
        _wait_for_pid(pid_file)  # running, and silent
        return False

    with pytest.raises(StartFailed, match="did not answer"):
        start_process(argv, f"http://127.0.0.1:{free_port()}/", timeout=1, ready=never)
    pid = _pid_of(pid_file)
    assert pid is not None and _gone(pid)


def test_a_child_is_stopped_when_anything_raises_while_it_starts(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    argv = [sys.executable, "-c", _SLEEPER, str(pid_file)]

    def interrupted(url: str) -> bool:
        if _pid_of(pid_file) is None:
            return False  # not running yet
        raise KeyboardInterrupt  # the developer's Ctrl-C, or a bug in the check

    with pytest.raises(KeyboardInterrupt):
        start_process(argv, "http://127.0.0.1:1/", ready=interrupted)
    pid = _pid_of(pid_file)
    assert pid is not None and _gone(pid)


def test_a_child_that_exits_fails_with_its_output() -> None:
    argv = [sys.executable, "-c", "print('no config here'); raise SystemExit(2)"]
    with pytest.raises(StartFailed, match="exited with 2") as failed:
        start_process(argv, f"http://127.0.0.1:{free_port()}/")
    assert "no config here" in str(failed.value)


def test_kruimel_demo_is_stopped_when_its_start_up_fails_after_it_listens(
    tmp_path: Path,
) -> None:
    """The real demo: it answers, then the start-up check fails; its port is free again."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "kruimel", "demo", "--port", str(port)]
    argv += ["--data-dir", str(tmp_path / "data")]

    def answers_then_fails(url: str) -> bool:
        httpx.get(url, timeout=2)  # raises TransportError until the demo listens
        raise RuntimeError("a start-up check failed")

    env = {"KRUIMEL_SECRET_KEY": "serving-test-" + os.urandom(8).hex()}
    with pytest.raises(RuntimeError, match="start-up check failed"):
        start_process(argv, base + "/_consent", env=env, timeout=120, ready=answers_then_fails)
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))
