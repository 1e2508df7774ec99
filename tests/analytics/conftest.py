"""Fixtures of the analytics tests: a collector over a real chDB store, an injectable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from analytics import AnalyticsConfig, Collector, SiteConfig
from kruimel.base.store import Store
from tests.clock import noon


class Clock:
    """A settable UTC clock for salts and event timestamps."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(noon())


@pytest.fixture
def config(tmp_path: Path) -> AnalyticsConfig:
    return AnalyticsConfig(
        sites=(
            SiteConfig("example.nl"),
            SiteConfig("strict.org", visitor_hash="masked_ip", ip_mask_bytes=3, honor_dnt=False),
        ),
        api_token="secret-token",
        trusted_proxies=("127.0.0.1", "10.0.0.0/8"),
        flush_seconds=60.0,
        journal_dir=tmp_path / "journal",
    )


@pytest.fixture
async def collector(
    store: Store, config: AnalyticsConfig, clock: Clock
) -> AsyncIterator[Collector]:
    c = Collector(config, store, clock=clock)
    await c.start()
    try:
        yield c
    finally:
        await c.stop()


@pytest.fixture
async def client(collector: Collector) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=collector, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://collector") as c:
        yield c
