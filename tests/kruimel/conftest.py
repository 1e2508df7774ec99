"""Fixtures that run the real ``kruimel`` command."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .servers import Server, start_kruimel, stop


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[Server]:
    token = "test-token-" + os.urandom(4).hex()
    env = {"KRUIMEL_SECRET_KEY": "test-secret", "KRUIMEL_API_TOKEN": token}
    data_dir = tmp_path / "data"
    base, proc = start_kruimel(
        ["demo", "--data-dir", str(data_dir), "--site", "localhost"], env, "/_consent"
    )
    server = Server(base, proc, data_dir, token)
    yield server
    output = stop(proc)
    server.output = output
