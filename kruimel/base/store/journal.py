"""The write-ahead journal behind :class:`~kruimel.base.store.writer.BatchWriter`.

Rows (already anonymised: the journal is on disk, so nothing personal may enter it) are
appended to the active *segment* file before the caller acknowledges them. Each batch is one
segment: when the writer flushes, the active segment is sealed (fsynced) and a new one is
started; a sealed segment is deleted only after ClickHouse confirmed its INSERT, and its id is
the INSERT's deduplication token, so a segment inserted just before a crash and replayed after
it is still stored once.

Format: ClickHouse's ``JSONCompactEachRow``, one JSON array per line, one element per column,
so a segment *is* the body of its INSERT: no Python work per row at flush time, and
ClickHouse converts each value to its column's type. ``datetime`` values are written in ISO
8601 with their offset (inserted with ``date_time_input_format = 'best_effort'``), ``date`` as
``YYYY-MM-DD``, ``dict`` (``Map``) as a JSON object, tuples and lists as arrays. A torn last
line (a crash in the middle of a write) or any line that is not a JSON array of the right
width is skipped with a warning at replay; replay never fails on it.

Durability: every append is handed to the operating system (one unbuffered ``write``, about
2 µs per row on the development machine), so a crash of the *process* loses
nothing acknowledged. The segment is ``fsync``-ed once per batch, when it is sealed, i.e. at
least every ``max_delay`` seconds: an fsync per event measured 190 µs (a hundred times the
append), which would cap a collector at a few thousand events per second. So a power loss or
kernel crash can lose at most the last ``max_delay`` seconds of events.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from .errors import StoreError

__all__ = ["Journal", "Segment", "encode_row", "new_segment_id"]

log = logging.getLogger("kruimel.base.store.journal")
_SUFFIX = ".jsonl"
Row = Sequence[Any]


@dataclass
class Segment:
    """One batch: id (also the dedup token), body (None when only on disk), size, row count."""

    id: str
    data: bytes | None
    nbytes: int
    rows: int
    path: Path | None = None


def new_segment_id(name: str) -> str:
    """A unique id, sortable by creation time: ``{name}-{time_ns}-{random}``."""
    return f"{name}-{time.time_ns():020d}-{secrets.token_hex(4)}"


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot journal a value of type {type(value).__name__}")


# rows are flat (a map is one level deep), so no circular-reference bookkeeping
_encoder = json.JSONEncoder(
    ensure_ascii=False,
    allow_nan=False,
    check_circular=False,
    separators=(",", ":"),
    default=_default,
)


def encode_row(row: Row) -> bytes:
    """One ``JSONCompactEachRow`` line (with its newline) for ``row``.

    :raises TypeError: a value has no JSON form (e.g. bytes).
    :raises ValueError: a float is NaN or infinite.
    :raises UnicodeEncodeError: a string holds an unpaired surrogate.
    """
    return (_encoder.encode(row) + "\n").encode("utf-8")


class Journal:
    """The segment files of one writer (``name``) in ``directory``.

    Only one process may use a journal at a time: :meth:`open` takes an exclusive lock.
    """

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = Path(directory)
        self.name = name
        self._lock_file: IO[bytes] | None = None
        self._active: IO[bytes] | None = None
        self._active_id = ""
        self._active_size = 0

    def open(self) -> None:
        """Create the directory and lock the journal.

        :raises StoreError: the directory cannot be used, or another writer holds the lock.
        """
        try:
            # Journals hold consent ids and pseudonymous rows: this process's user only.
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            lock = open(self.directory / f"{self.name}.lock", "ab")
        except OSError as e:
            raise StoreError(f"journal_dir {self.directory}: cannot use it: {e}") from e
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            lock.close()
            raise StoreError(
                f"journal_dir {self.directory}: the {self.name!r} journal is in use by another "
                "writer; give each collector process its own journal_dir"
            ) from e
        self._lock_file = lock

    def recover(self) -> list[Segment]:
        """The segments left by an earlier run, oldest first (their bodies not loaded)."""
        segments = []
        for path in sorted(self.directory.glob(f"{self.name}-*{_SUFFIX}")):
            size = path.stat().st_size
            if size == 0:
                path.unlink()
                continue
            segments.append(Segment(path.name[: -len(_SUFFIX)], None, size, 0, path))
        return segments

    def write(self, lines: Sequence[bytes]) -> str:
        """Append encoded rows to the active segment (started when needed), flushed to the OS.

        Returns the active segment's id.

        :raises StoreError: the rows could not be written (nothing of them is kept).
        """
        try:
            if self._active is None:
                self._active_id = new_segment_id(self.name)
                # unbuffered: one write(2) per append, straight to the operating system
                self._active = open(
                    self.directory / f"{self._active_id}{_SUFFIX}", "ab", 0, opener=_private
                )
                self._active_size = 0
            active = self._active
            start = self._active_size  # kept here: tell() would cost a syscall per append
            data = memoryview(b"".join(lines) if len(lines) > 1 else lines[0])
            try:
                while data:
                    written = active.write(data)
                    if not written:
                        raise OSError("the journal file accepted no bytes")
                    data = data[written:]
                    self._active_size += written
            except OSError:
                # e.g. a full disk: cut the partial line so later appends stay readable
                active.truncate(start)
                self._active_size = start
                raise
        except OSError as e:
            raise StoreError(f"journal_dir {self.directory}: cannot append: {e}") from e
        return self._active_id

    def seal(self) -> tuple[str, Path] | None:
        """Close the active segment (fsynced); return its id and path, None when none is open."""
        active, self._active = self._active, None
        if active is None:
            return None
        os.fsync(active.fileno())
        active.close()
        return self._active_id, Path(active.name)

    def load(self, segment: Segment, width: int) -> tuple[bytes, int]:
        """A segment's INSERT body and row count, read from disk.

        Lines that are torn (no final newline) or are not JSON arrays of ``width`` values are
        skipped with a warning.
        """
        assert segment.path is not None
        good: list[bytes] = []
        lines = segment.path.read_bytes().split(b"\n")
        for number, line in enumerate(lines, 1):
            if not line:
                continue
            torn = number == len(lines)  # no newline after it: the write never finished
            try:
                if torn:
                    raise ValueError("no trailing newline")
                values = json.loads(line)
                if not isinstance(values, list) or len(values) != width:
                    raise ValueError(f"not a row of {width} values")
            except (ValueError, UnicodeDecodeError) as e:
                kind = "torn last" if torn else "corrupt"
                log.warning(
                    "journal %s: skipped %s line %d (%s)", segment.path.name, kind, number, e
                )
                continue
            good.append(line + b"\n")
        return b"".join(good), len(good)

    def remove(self, segment: Segment) -> None:
        """Delete a segment whose insert ClickHouse confirmed."""
        if segment.path is not None:
            segment.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Seal the active segment and release the lock."""
        self.seal()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def _private(path: str, flags: int) -> int:
    """``open`` opener creating files readable by this process's user only."""
    return os.open(path, flags, 0o600)
