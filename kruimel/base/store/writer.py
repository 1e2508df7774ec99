"""Durable batched inserts, shared by the analytics collector and the consent log.

:class:`BatchWriter` buffers rows in memory and inserts them in batches (at ``max_rows`` rows
or ``max_delay`` seconds, and at :meth:`~BatchWriter.stop`): one INSERT per event would cost
milliseconds each. With a ``journal_dir`` every appended row is first written to the journal
(:mod:`kruimel.base.store.journal`), so an acknowledged row survives a crash: the journal is
replayed at :meth:`~BatchWriter.start`, and a batch leaves it only once ClickHouse confirmed
the INSERT. A batch's deduplication token is its segment id, so a retried or replayed batch is
stored once.

When ClickHouse is down, rows keep being accepted while the unconfirmed bytes stay below
``max_journal_bytes``; beyond that :meth:`~BatchWriter.append` raises :class:`Backpressure`
(the collector answers 503 with ``Retry-After``). Failed inserts are retried with capped
exponential backoff.

Rows are encoded once, at :meth:`~BatchWriter.append`, as ``JSONCompactEachRow`` lines
(:mod:`kruimel.base.store.journal`); a batch is inserted by sending those bytes as the body of one
``INSERT ... FORMAT JSONCompactEachRow``, so a flush costs no Python work per row and
ClickHouse does the type conversion. Batch bodies stay in memory until inserted (the bound
above bounds that too), except that bodies of batches waiting behind two others are dropped
from memory and read back from the journal when their turn comes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio.to_thread

from .errors import Backpressure, StoreError
from .journal import Journal, Row, Segment, encode_row, new_segment_id

if TYPE_CHECKING:
    from .client import Store

__all__ = ["BatchWriter"]

log = logging.getLogger("kruimel.base.store.writer")
_IN_MEMORY_SEGMENTS = 2
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_GLOB = re.compile(r"[*?{}\[\]'\\]")


class BatchWriter:
    """Buffers rows for ``table`` and inserts them in durable batches.

    :param store: the ClickHouse store.
    :param table: table name; ``columns`` the column order of each row.
    :param journal_dir: directory of the write-ahead journal; None keeps rows in memory only
        (a crash loses the buffer).
    :param max_rows: insert when this many rows are buffered.
    :param max_delay: ... or when the oldest buffered row is this many seconds old.
    :param max_journal_bytes: bound on unconfirmed rows (journal size); then :class:`Backpressure`.
    :param name: names the journal files and log lines; unique per journal_dir.
    :param retry_initial: first retry delay after a failed insert (doubles, up to ``retry_max``).
    """

    def __init__(
        self,
        store: Store,
        table: str,
        columns: Sequence[str],
        journal_dir: Path | None = None,
        max_rows: int = 5000,
        max_delay: float = 2.0,
        max_journal_bytes: int = 256 * 2**20,
        name: str = "events",
        *,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
    ) -> None:
        if max_rows < 1 or max_delay <= 0 or max_journal_bytes < 1:
            raise ValueError("max_rows, max_delay and max_journal_bytes must be positive")
        for ident in (table, *columns):
            if not _IDENT.fullmatch(ident):
                raise ValueError(f"not a plain ClickHouse identifier: {ident!r}")
        self.store = store
        self.table = table
        self.columns = tuple(columns)
        self.name = name
        self.max_rows = max_rows
        self.max_delay = max_delay
        self.max_journal_bytes = max_journal_bytes
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._journal = Journal(Path(journal_dir), name) if journal_dir is not None else None
        self._insert_sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) "
            "SETTINGS date_time_input_format = 'best_effort' FORMAT JSONCompactEachRow\n"
        )
        self._infile_sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) FROM INFILE '{{path}}' "
            "SETTINGS date_time_input_format = 'best_effort' FORMAT JSONCompactEachRow"
        )
        self._buffer: list[bytes] = []
        self._buffer_bytes = 0
        self._first_at: float | None = None
        self._pending: deque[Segment] = deque()
        self._pending_bytes = 0
        self._failures = 0
        self._retry_at = 0.0
        self._wake = asyncio.Event()
        self._insert_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.rows_inserted = 0
        self.batches_inserted = 0

    # -- state -------------------------------------------------------------------------
    @property
    def unconfirmed_bytes(self) -> int:
        """Bytes of rows accepted but not yet confirmed by ClickHouse."""
        return self._buffer_bytes + self._pending_bytes

    @property
    def unconfirmed_rows(self) -> int:
        """Rows buffered or waiting (rows of replayed segments are counted once loaded)."""
        return len(self._buffer) + sum(s.rows for s in self._pending)

    @property
    def resident_bytes(self) -> int:
        """Bytes of unconfirmed rows held in memory (the rest is only in the journal)."""
        return self._buffer_bytes + sum(len(s.data) for s in self._pending if s.data)

    @property
    def failing(self) -> bool:
        """Whether the last insert attempt failed."""
        return self._failures > 0

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Open and replay the journal, and start the background flush task."""
        if self._task is not None:
            return
        self._stopping = False
        if self._journal is not None:
            await anyio.to_thread.run_sync(self._journal.open)
            found = await anyio.to_thread.run_sync(self._journal.recover)
            if found:
                log.info("%s: replaying %d journal segment(s)", self.name, len(found))
            for segment in found:
                self._pending.append(segment)
                self._pending_bytes += segment.nbytes
        self._task = asyncio.create_task(self._run(), name=f"BatchWriter({self.name})")
        if self._pending:
            self._wake.set()

    async def stop(self) -> None:
        """Insert what is buffered and stop. Rows ClickHouse did not take stay in the journal."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        await self._task
        self._task = None
        self._seal()
        try:
            await self._drain(raise_errors=True)
        except StoreError as e:
            if self._journal is not None:
                log.warning(
                    "%s: ClickHouse did not take %d batch(es) at shutdown (%s); they stay in "
                    "the journal and are replayed at the next start",
                    self.name,
                    len(self._pending),
                    e,
                )
            else:
                log.error("%s: lost %d unjournaled row(s): %s", self.name, self.unconfirmed_rows, e)
        if self._journal is not None:
            self._journal.close()

    # -- writing -----------------------------------------------------------------------
    def append(self, rows: Sequence[Row]) -> None:
        """Accept rows (journaled before this returns). Never blocks on ClickHouse.

        :raises Backpressure: the unconfirmed rows exceed ``max_journal_bytes``.
        :raises StoreError: the journal cannot be written (e.g. the disk is full).
        :raises TypeError, ValueError: a value cannot be encoded (see
            :func:`~kruimel.base.store.journal.encode_row`); nothing of ``rows`` is accepted.
        """
        if not rows:
            return
        lines = [encode_row(row) for row in rows]
        size = sum(map(len, lines))
        if self.unconfirmed_bytes + size > self.max_journal_bytes:
            raise Backpressure(
                self.name,
                self.unconfirmed_bytes,
                self.max_journal_bytes,
                max(1, round(self._retry_at - time.monotonic())),
            )
        if self._journal is not None:
            self._journal.write(lines)
        self._buffer.extend(lines)
        self._buffer_bytes += size
        if self._first_at is None:
            self._first_at = time.monotonic()
            self._wake.set()
        if len(self._buffer) >= self.max_rows:
            self._seal()
            self._wake.set()

    async def flush(self) -> None:
        """Insert everything accepted so far, now.

        :raises StoreError: ClickHouse did not take a batch (it stays queued for retry).
        """
        self._seal()
        await self._drain(raise_errors=True)

    def _seal(self) -> None:
        """Turn the buffer into a pending batch (and the active journal segment into its file)."""
        if not self._buffer:
            return
        path = None
        if self._journal is not None:
            sealed = self._journal.seal()
            assert sealed is not None
            segment_id, path = sealed
        else:
            segment_id = new_segment_id(self.name)
        data = b"".join(self._buffer)
        self._pending.append(Segment(segment_id, data, len(data), len(self._buffer), path))
        self._pending_bytes += len(data)
        self._buffer, self._buffer_bytes, self._first_at = [], 0, None
        if self._journal is not None and len(self._pending) > _IN_MEMORY_SEGMENTS:
            self._pending[-1 - _IN_MEMORY_SEGMENTS].data = None

    async def _drain(self, *, raise_errors: bool) -> None:
        async with self._insert_lock:
            while self._pending:
                segment = self._pending[0]
                try:
                    await anyio.to_thread.run_sync(self._insert, segment)
                except StoreError as e:
                    self._failures += 1
                    delay = min(self._retry_max, self._retry_initial * 2 ** (self._failures - 1))
                    self._retry_at = time.monotonic() + delay * random.uniform(0.8, 1.2)
                    # While the store is out, its Outage writes the few log lines (start,
                    # counts, end); one line per attempt would fill the log.
                    report = log.debug if self.store.outage.active else log.warning
                    report(
                        "%s: insert into %s failed (attempt %d, retrying in %.1fs): %s",
                        self.name,
                        self.table,
                        self._failures,
                        delay,
                        e,
                    )
                    if raise_errors:
                        raise
                    return
                self._pending.popleft()
                self._pending_bytes -= segment.nbytes
                self._failures = 0
                if self._journal is not None:
                    self._journal.remove(segment)

    def _insert(self, segment: Segment) -> None:
        data = segment.data
        path = str(segment.path.resolve()) if segment.path is not None else ""
        if (
            data is not None
            and self.store.embedded
            and path
            and not _GLOB.search(path)
            and os.path.isfile(path)
        ):
            # The sealed segment file holds exactly these bytes, and the embedded engine can
            # read it itself: half the engine's CPU per row of the same rows inlined in the
            # statement (measured: about 5 instead of 10 us of CPU per event row). A path
            # with glob or quoting characters (INFILE expands globs) is sent inline instead.
            self.store.command(
                self._infile_sql.format(path=path),
                settings={"insert_deduplication_token": segment.id},
            )
            self.rows_inserted += segment.rows
            self.batches_inserted += 1
            return
        if data is None:
            assert self._journal is not None
            data, segment.rows = self._journal.load(segment, len(self.columns))
        if data:
            self.store.command(
                self._insert_sql + data.decode("utf-8"),
                settings={"insert_deduplication_token": segment.id},
            )
        self.rows_inserted += segment.rows
        self.batches_inserted += 1

    async def _run(self) -> None:
        while not self._stopping:
            now = time.monotonic()
            timeout: float | None = None
            if self._first_at is not None:
                timeout = self._first_at + self.max_delay - now
            if self._pending:
                wait = self._retry_at - now
                timeout = wait if timeout is None else min(timeout, wait)
            if timeout is None or timeout > 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout)
                except TimeoutError:
                    pass
            self._wake.clear()
            if self._stopping:
                return
            now = time.monotonic()
            if self._first_at is not None and now - self._first_at >= self.max_delay:
                self._seal()
            if self._pending and now >= self._retry_at:
                try:
                    await self._drain(raise_errors=False)
                except Exception:  # never let the flush task die; the next round retries
                    log.exception("%s: unexpected error while inserting", self.name)
                    self._retry_at = time.monotonic() + self._retry_max
