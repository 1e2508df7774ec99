"""A store outage seen from the collector: 503s, counted in the log, not a traceback each."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest

from analytics import AnalyticsConfig, Collector
from kruimel.base.store import Store

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0 Safari/537.36"
)
EVENT = '{"n":"pageview","u":"https://example.nl/","d":"example.nl"}'


async def test_fifty_refused_events_are_two_log_lines(
    store: Store, config: AnalyticsConfig, caplog: pytest.LogCaptureFixture
) -> None:
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    collector = Collector(config, store, clock=lambda: today)
    await collector.start()
    transport = httpx.ASGITransport(app=collector, client=("192.0.2.1", 40000))
    try:
        store.command("RENAME TABLE salts TO salts_away")  # today's salt cannot be had
        caplog.set_level(logging.INFO)
        async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
            statuses = [
                (
                    await client.post("/api/event", content=EVENT, headers={"User-Agent": CHROME})
                ).status_code
                for _ in range(50)
            ]
            assert set(statuses) == {503}
            store.command("RENAME TABLE salts_away TO salts")  # the store is back
            back = await client.post("/api/event", content=EVENT, headers={"User-Agent": CHROME})
            assert back.status_code == 202
    finally:
        await collector.stop()
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 2, lines
    assert "does not answer" in lines[0]
    assert "answers again" in lines[1] and "50 request(s) were refused" in lines[1]
    assert all(r.exc_info is None for r in caplog.records)
