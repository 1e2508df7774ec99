"""The store's outage log: one line when it starts, a count every interval, one when it ends."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from kruimel.base.store import BatchWriter, Outage, Store, StoreError


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_outage_logs_start_counts_and_end(caplog: pytest.LogCaptureFixture) -> None:
    ticks = Ticks()
    outage = Outage("the store at chdb:///x", interval=60, clock=ticks)
    caplog.set_level(logging.DEBUG, logger="kruimel.base.store")
    outage.recovered()  # no outage: nothing to say
    assert caplog.records == []
    error = StoreError("connection refused\nsecond line of detail")
    for _ in range(50):
        ticks.now += 1
        outage.refused(error)
    outage.failed(error)  # the writer's retries count as the same outage
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "does not answer (connection refused)" in lines[0]
    ticks.now += 20  # 69 s after the first refusal: the count is due
    outage.refused(error)
    assert len(caplog.records) == 2
    assert "refused in the last 69 s" in caplog.records[1].getMessage()
    assert "51 request(s)" in caplog.records[1].getMessage()
    ticks.now += 5
    outage.recovered()
    assert len(caplog.records) == 3
    assert "answers again after 74 s; 51 request(s) were refused" in caplog.records[2].getMessage()
    assert all(r.exc_info is None for r in caplog.records)
    assert not outage.active


async def test_writer_retries_during_an_outage_write_one_line(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store.command("CREATE TABLE t (k UInt32) ENGINE = MergeTree ORDER BY k")
    writer = BatchWriter(
        store, "t", ("k",), journal_dir=tmp_path / "j", max_delay=3600, retry_initial=0.001
    )
    await writer.start()
    caplog.set_level(logging.DEBUG)
    store.close()  # the store goes away
    writer.append([(1,)])
    with pytest.raises(StoreError):
        await writer.flush()
    for _ in range(3000):  # the flush task retries with backoff (bounded wait, no timing)
        if writer._failures > 5:
            break
        await asyncio.sleep(0.001)
    await writer.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert writer._failures > 5
    # the outage's first line, and the one line of stop() about the batch left in the journal
    assert len(warnings) == 2, warnings
    assert "does not answer" in warnings[0] and "stay in the journal" in warnings[1]
