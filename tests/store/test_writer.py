from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from kruimel.base.store import Backpressure, BatchWriter, Migration, Store, StoreError
from tests.clock import noon, today

COLUMNS = ("k", "ts", "day", "m")
TABLE = Migration(
    "test/0001_t",
    (
        "CREATE TABLE t (k UInt32, ts DateTime('UTC'), day Date, m Map(String, String)) "
        "ENGINE = $MergeTree ORDER BY k SETTINGS non_replicated_deduplication_window = 1000",
    ),
)


def rows(start: int, n: int) -> list[tuple[object, ...]]:
    ts = noon()
    return [(k, ts, ts.date(), {"i": str(k)}) for k in range(start, start + n)]


def stored(store: Store) -> list[int]:
    return [r[0] for r in store.query("SELECT k FROM t ORDER BY k")]


async def until(condition: Callable[[], bool], rounds: int = 3000) -> None:
    """Let the event loop run until ``condition`` holds (bounded; no timing assert)."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


@pytest.fixture
def table(store: Store) -> Store:
    store.migrate([TABLE])
    return store


async def test_writer_flushes_at_max_rows(table: Store, tmp_path: Path) -> None:
    w = BatchWriter(table, "t", COLUMNS, journal_dir=tmp_path, max_rows=3, max_delay=3600)
    await w.start()
    w.append(rows(0, 2))
    await asyncio.sleep(0.05)
    assert stored(table) == []
    w.append(rows(2, 1))
    await until(lambda: w.rows_inserted == 3)
    assert stored(table) == [0, 1, 2]
    assert w.batches_inserted == 1
    await w.stop()


async def test_writer_flushes_after_max_delay(table: Store) -> None:
    w = BatchWriter(table, "t", COLUMNS, max_rows=1000, max_delay=0.05)
    await w.start()
    w.append(rows(0, 5))
    await until(lambda: w.rows_inserted == 5)
    assert stored(table) == [0, 1, 2, 3, 4]
    await w.stop()


async def test_writer_stop_flushes_and_empties_the_journal(table: Store, tmp_path: Path) -> None:
    w = BatchWriter(table, "t", COLUMNS, journal_dir=tmp_path, max_delay=3600)
    await w.start()
    w.append(rows(0, 4))
    assert len(list(tmp_path.glob("*.jsonl"))) == 1
    await w.stop()
    assert stored(table) == [0, 1, 2, 3]
    assert not list(tmp_path.glob("*.jsonl"))


async def test_writer_round_trips_values_into_clickhouse(table: Store, tmp_path: Path) -> None:
    w = BatchWriter(table, "t", COLUMNS, journal_dir=tmp_path, max_delay=3600)
    await w.start()
    tricky = {"$d": "2026-01-01", "q": 'caf\u00e9 "{x:String}" \\ \n'}
    amsterdam = timezone(timedelta(hours=1))
    day = today()
    local = datetime.combine(day, time(13, 0, 5), tzinfo=amsterdam)
    w.append([(7, local, day, tricky)])
    w.append(
        [(8, datetime.combine(day, time(12, 0, 6)), day + timedelta(days=1), {})]
    )  # naive = UTC
    await w.stop()
    assert table.query("SELECT k, ts, day, m FROM t ORDER BY k") == [
        (7, datetime.combine(day, time(12, 0, 5)), day, tricky),
        (8, datetime.combine(day, time(12, 0, 6)), day + timedelta(days=1), {}),
    ]


async def test_writer_refuses_rows_it_cannot_encode(table: Store) -> None:
    w = BatchWriter(table, "t", COLUMNS, max_delay=3600)
    with pytest.raises(TypeError):
        w.append([(1, object(), today(), {})])
    assert w.unconfirmed_rows == 0


def test_writer_rejects_injected_identifiers(store: Store) -> None:
    with pytest.raises(ValueError, match="identifier"):
        BatchWriter(store, "t; DROP TABLE t", COLUMNS)
    with pytest.raises(ValueError, match="identifier"):
        BatchWriter(store, "t", ("k", "ts) SELECT 1 --"))


_CRASHING_CHILD = """
import asyncio, sys
from datetime import UTC, datetime
from kruimel.base.store.writer import BatchWriter

async def main():
    w = BatchWriter(None, "t", ("k", "ts", "day", "m"), journal_dir=sys.argv[1], max_delay=3600)
    await w.start()
    ts = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    w.append([(k, ts, ts.date(), {"i": str(k)}) for k in range(100)])
    w.append([(k, ts, ts.date(), {}) for k in range(100, 150)])
    print("ready", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_writer_replays_the_journal_after_a_crash_exactly_once(
    table: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "journal"
    with subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_CRASHING_CHILD), str(journal)],
        stdout=subprocess.PIPE,
        text=True,
    ) as child:  # closes the pipe, whatever happens
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        finally:
            child.kill()  # SIGKILL: no shutdown, no flush
            child.wait(timeout=30)
    (segment,) = journal.glob("*.jsonl")
    with open(segment, "ab") as fh:  # and a write torn in the middle by the crash
        fh.write(b'[999,{"$dt":"2026-11-')

    with caplog.at_level(logging.WARNING):
        w = BatchWriter(table, "t", COLUMNS, journal_dir=journal, max_delay=3600)
        await w.start()
        await w.flush()
    assert stored(table) == list(range(150))
    assert "torn last line" in caplog.text
    assert not list(journal.glob("*.jsonl"))
    await w.stop()

    w = BatchWriter(table, "t", COLUMNS, journal_dir=journal, max_delay=3600)
    await w.start()
    await w.flush()
    await w.stop()
    assert stored(table) == list(range(150))


async def test_writer_replayed_batch_already_inserted_is_not_duplicated(
    table: Store, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    w = BatchWriter(table, "t", COLUMNS, journal_dir=journal, max_delay=3600)
    await w.start()
    w.append(rows(0, 10))
    (segment,) = journal.glob("*.jsonl")
    kept = tmp_path / "copy"
    shutil.copy(segment, kept)
    await w.flush()  # inserted, then the segment is deleted ...
    await w.stop()
    shutil.copy(kept, segment)  # ... as if the process had died just before the delete

    w = BatchWriter(table, "t", COLUMNS, journal_dir=journal, max_delay=3600)
    await w.start()
    await w.flush()  # the same segment id is the same dedup token
    await w.stop()
    assert stored(table) == list(range(10))
    assert not list(journal.glob("*.jsonl"))


async def test_writer_spools_while_clickhouse_is_down_and_replays_without_duplicates(
    table: Store, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    w = BatchWriter(
        table, "t", COLUMNS, journal_dir=journal, max_rows=10, max_delay=3600, retry_initial=0.01
    )
    await w.start()
    w.append(rows(0, 10))
    await until(lambda: w.rows_inserted == 10)
    table.close()  # ClickHouse goes away

    for start in range(10, 45, 5):
        w.append(rows(start, 5))  # still accepted, journaled
    with pytest.raises(StoreError):
        await w.flush()
    assert w.failing
    # the background task keeps retrying with backoff
    failures = w._failures
    await until(lambda: w._failures > failures + 2)
    await w.stop()  # what ClickHouse did not take stays in the journal
    assert list(journal.glob("*.jsonl"))

    again = Store.connect(table.url)  # ClickHouse is back (same data directory)
    try:
        w = BatchWriter(again, "t", COLUMNS, journal_dir=journal, max_delay=3600)
        await w.start()
        await w.flush()
        await w.stop()
        assert stored(again) == list(range(45))
        assert not list(journal.glob("*.jsonl"))
    finally:
        again.close()


async def test_writer_backpressure_when_the_journal_bound_is_reached(
    table: Store, tmp_path: Path
) -> None:
    w = BatchWriter(
        table, "t", COLUMNS, journal_dir=tmp_path, max_delay=3600, max_journal_bytes=2000
    )
    await w.start()
    table.close()
    with pytest.raises(StoreError):
        w.append(rows(0, 5))
        await w.flush()
    accepted = 5
    with pytest.raises(Backpressure) as info:
        for k in range(5, 500):
            w.append(rows(k, 1))
            accepted += 1
    assert info.value.retry_after >= 1
    assert "max_journal_bytes=2000" in str(info.value)
    assert 5 < accepted < 500
    assert w.unconfirmed_bytes <= 2000
    assert sum(p.stat().st_size for p in tmp_path.glob("*.jsonl")) <= 2000
    await w.stop()


async def test_writer_without_journal_keeps_rows_in_memory(table: Store) -> None:
    w = BatchWriter(table, "t", COLUMNS, max_delay=3600)
    await w.start()
    w.append(rows(0, 3))
    assert w.unconfirmed_rows == 3
    await w.flush()
    assert stored(table) == [0, 1, 2] and w.unconfirmed_rows == 0
    await w.stop()
    await w.stop()  # idempotent


async def test_writer_releases_old_pending_rows_to_the_journal(
    table: Store, tmp_path: Path
) -> None:
    w = BatchWriter(table, "t", COLUMNS, journal_dir=tmp_path, max_rows=2, max_delay=3600)
    await w.start()
    table.close()
    for k in range(0, 10, 2):
        w.append(rows(k, 2))  # five sealed batches that cannot be inserted
    assert w.unconfirmed_rows == 10
    assert w.resident_bytes < w.unconfirmed_bytes  # the oldest batches are only on disk now
    await w.stop()
    again = Store.connect(table.url)
    try:
        w = BatchWriter(again, "t", COLUMNS, journal_dir=tmp_path, max_delay=3600)
        await w.start()
        await w.flush()
        await w.stop()
        assert stored(again) == list(range(10))
    finally:
        again.close()


def test_writer_rejects_nonsense_limits(store: Store) -> None:
    with pytest.raises(ValueError):
        BatchWriter(store, "t", COLUMNS, max_rows=0)


async def test_writer_embedded_insert_reads_a_journal_path_with_quotes(
    table: Store, tmp_path: Path
) -> None:
    """The embedded store inserts a sealed segment straight from its file: a journal directory
    whose name holds a quote, a backslash and braces must not break (or inject into) that
    statement, and a retried segment is still stored once."""
    journal = tmp_path / "it's {k:String} \\ here"
    now = noon()
    batch = [(k, now, now.date(), {"i": str(k)}) for k in range(5)]
    w = BatchWriter(table, "t", COLUMNS, journal_dir=journal, max_rows=5, max_delay=3600)
    await w.start()
    w.append(batch)
    await until(lambda: w.rows_inserted == 5)
    await w.stop()
    assert stored(table) == [0, 1, 2, 3, 4]
    assert list(journal.glob("*.jsonl")) == []


async def test_writer_embedded_insert_from_the_sealed_segment(table: Store, tmp_path: Path) -> None:
    """A batch sealed in this process is inserted from its journal file, exactly once."""
    now = noon()
    w = BatchWriter(table, "t", COLUMNS, journal_dir=tmp_path / "j", max_rows=4, max_delay=3600)
    await w.start()
    for k in range(8):
        w.append([(k, now, now.date(), {"i": str(k)})])
    await until(lambda: w.rows_inserted == 8)
    await w.stop()
    assert stored(table) == list(range(8))
    assert [r[0] for r in table.query("SELECT m['i'] FROM t ORDER BY k")] == [
        str(k) for k in range(8)
    ]
