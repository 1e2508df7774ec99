"""Helpers that run the real ``kruimel`` command as a subprocess on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.serving import free_port, start_process, stop_process

__all__ = ["Server", "free_port", "one_line", "run_kruimel", "start_kruimel", "stop"]


@dataclass
class Server:
    base: str
    process: subprocess.Popen[str]
    data_dir: Path
    token: str
    output: str = ""


def start_kruimel(
    args: list[str], env: dict[str, str], ready_path: str
) -> tuple[str, subprocess.Popen[str]]:
    """``python -m kruimel ARGS --port P`` on a free port, once ``ready_path`` answers; the
    child is stopped when it does not start (tests.serving.start_process)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "kruimel", *args, "--port", str(port)]
    return base, start_process(argv, base + ready_path, env=env)


def stop(proc: subprocess.Popen[str]) -> str:
    """Stop a server started by :func:`start_kruimel`; its output."""
    return stop_process(proc)


def run_kruimel(
    args: list[str], env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m kruimel ARGS`` to its end (a start that should fail, a one-off command)."""
    return subprocess.run(
        [sys.executable, "-m", "kruimel", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single ``kruimel: ...`` line a failed command must print, with exit status 2."""
    lines = result.stderr.splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("kruimel: "), lines
    assert "Traceback" not in result.stderr and "urllib3" not in result.stderr
    return lines[0]
