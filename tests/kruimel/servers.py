"""Helpers that run the real ``kruimel`` command as a subprocess on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kruimel", *args, "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"kruimel exited with {proc.returncode}:\n{out}")
        try:
            if httpx.get(base + ready_path, timeout=1).status_code < 500:
                return base, proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("kruimel did not start within 60 s")


def stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


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
