"""The serving stack: httptools + uvloop by default, h11 + asyncio where they are missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kruimel.servers import start_kruimel, stop


@pytest.mark.slow
def test_demo_runs_and_names_httptools_and_uvloop(tmp_path: Path) -> None:
    """The demo's start-up line names the fast stack, and its process has both loaded."""
    env = {"KRUIMEL_SECRET_KEY": "stack-secret-key-123456", "KRUIMEL_API_TOKEN": "stack-token"}
    base, proc = start_kruimel(["demo", "--data-dir", str(tmp_path / "data")], env, "/_consent")
    try:
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
    finally:
        out = stop(proc)
    assert "Serving with uvicorn" in out and ", httptools + uvloop" in out
    # the compiled parser and loop are mapped into the server process, not only importable
    assert "/httptools/parser/" in maps
    assert "/uvloop/loop." in maps


def test_stack_falls_back_to_h11_and_asyncio_when_missing() -> None:
    """Where uvloop and httptools cannot be installed uvicorn's fallback is what is named."""
    code = (
        "import sys; sys.modules['uvloop'] = None; sys.modules['httptools'] = None\n"
        "from kruimel.stack import serving_stack; print(serving_stack())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(", h11 + asyncio")
