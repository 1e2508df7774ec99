"""The store's outage log: one line when it starts, a count every interval, one when it ends."""

from __future__ import annotations

import logging

import pytest

from kruimel.store import Outage, StoreError


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_outage_logs_start_counts_and_end(caplog: pytest.LogCaptureFixture) -> None:
    ticks = Ticks()
    outage = Outage("the store at chdb:///x", interval=60, clock=ticks)
    caplog.set_level(logging.DEBUG, logger="kruimel.store")
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
