"""Shared fixtures. Every test that touches ClickHouse uses a real embedded chDB store.

chDB binds one data directory per process, so the ``store`` fixture opens a fresh
directory per test and always closes it, and no two stores are open at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kruimel.base.store import Store


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running for the rest of
    the session, which asyncio tests collected after them could not use. (``make test`` runs
    them in a process of their own; this keeps a plain ``pytest`` working too.)"""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.connect(f"chdb://{tmp_path / 'store'}")
    try:
        yield s
    finally:
        s.close()
