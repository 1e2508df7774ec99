"""The write-ahead journal behind :class:`~kruimel.store.writer.BatchWriter`.

Rows (already anonymised: the journal is on disk, so nothing personal may enter it) are
appended as JSON lines to the active *segment* file before the caller acknowledges them.
Each batch is one segment: when the writer flushes, the active segment is sealed (fsynced) and
a new one is started; a sealed segment is deleted only after ClickHouse confirmed its
INSERT, and its id is the INSERT's deduplication token, so a segment inserted just before a
crash and replayed after it is still stored once.

Durability: every append is written and flushed to the operating system (``write`` +
``flush``, about 2 µs per row here), so a crash of the *process* loses nothing acknowledged.
The segment is ``fsync``-ed once per batch, when it is sealed, i.e. at least every
``max_delay`` seconds: an fsync per event measured 190 µs on the development machine (a
hundred times the append), which would cap one collector at a few thousand events per second.
So a power loss or kernel crash can lose at most the last ``max_delay`` seconds of events.

Format: one JSON array per line, one element per column. ``datetime``, ``date``, ``bytes`` and
``dict`` (ClickHouse ``Map``) values are wrapped as ``{"$dt": iso}``, ``{"$d": iso}``,
``{"$b": hex}`` and ``{"$m": {...}}``, so that they round-trip and a map's own keys are never
mistaken for a wrapper. A torn last line (a crash in the middle of a write) is skipped with a
warning; replay never fails on it.
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

__all__ = ["Journal", "Segment", "encode_row", "decode_row", "new_segment_id"]

log = logging.getLogger("kruimel.store.journal")
_SUFFIX = ".jsonl"
Row = Sequence[Any]


@dataclass
class Segment:
    """One batch: its id (also the dedup token), rows (None when only on disk), file and size."""

    id: str
    rows: list[Row] | None
    nbytes: int
    path: Path | None = None


def new_segment_id(name: str) -> str:
    """A unique id, sortable by creation time: ``{name}-{time_ns}-{random}``."""
    return f"{name}-{time.time_ns():020d}-{secrets.token_hex(4)}"


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, bytes | bytearray):
        return {"$b": bytes(value).hex()}
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot journal a value of type {type(value).__name__}")


_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default)


def encode_row(row: Row) -> bytes:
    """One journal line (with its newline) for ``row``."""
    values = [{"$m": v} if type(v) is dict else v for v in row]
    return (_encoder.encode(values) + "\n").encode("utf-8")


def decode_row(line: bytes) -> list[Any]:
    """The row of one journal line. :raises ValueError: the line is not a journal row."""
    values = json.loads(line)
    if not isinstance(values, list):
        raise ValueError("not a journal row")
    for i, v in enumerate(values):
        if type(v) is dict:
            if "$m" in v:
                values[i] = v["$m"]
            elif "$dt" in v:
                values[i] = datetime.fromisoformat(v["$dt"])
            elif "$d" in v:
                values[i] = date.fromisoformat(v["$d"])
            elif "$b" in v:
                values[i] = bytes.fromhex(v["$b"])
            else:
                raise ValueError("unknown journal wrapper")
    return values


class Journal:
    """The segment files of one writer (``name``) in ``directory``.

    Only one process may use a journal at a time: :meth:`open` takes an exclusive lock.

    :raises StoreError: (from :meth:`open`) the directory cannot be created, or another
        process holds its lock.
    """

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = Path(directory)
        self.name = name
        self._lock_file: IO[bytes] | None = None
        self._active: IO[bytes] | None = None
        self._active_id = ""

    def open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
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
        """The segments left by an earlier run, oldest first (their rows not loaded)."""
        segments = []
        for path in sorted(self.directory.glob(f"{self.name}-*{_SUFFIX}")):
            size = path.stat().st_size
            if size == 0:
                path.unlink()
                continue
            segments.append(Segment(path.name[: -len(_SUFFIX)], None, size, path))
        return segments

    @property
    def active_id(self) -> str:
        """The id of the segment being appended to ("" when none is open)."""
        return self._active_id

    def write(self, lines: Sequence[bytes]) -> None:
        """Append encoded rows to the active segment (started when needed), flushed to the OS."""
        if self._active is None:
            self._active_id = new_segment_id(self.name)
            self._active = open(self.directory / f"{self._active_id}{_SUFFIX}", "ab")
        self._active.write(b"".join(lines) if len(lines) > 1 else lines[0])
        self._active.flush()

    def seal(self) -> tuple[str, Path] | None:
        """Close the active segment (fsynced); return its id and path, None when none is open."""
        active, self._active = self._active, None
        if active is None:
            return None
        os.fsync(active.fileno())
        active.close()
        return self._active_id, Path(active.name)

    def load(self, segment: Segment) -> list[Row]:
        """Read a segment's rows from disk, skipping a torn or corrupt line with a warning."""
        assert segment.path is not None
        rows: list[Row] = []
        data = segment.path.read_bytes()
        lines = data.split(b"\n")
        for number, line in enumerate(lines, 1):
            if not line:
                continue
            torn = number == len(lines)  # no newline after it: the write never finished
            try:
                if torn:
                    raise ValueError("no trailing newline")
                rows.append(decode_row(line))
            except (ValueError, UnicodeDecodeError) as e:
                log.warning(
                    "journal %s: skipped %s line %d (%s)",
                    segment.path.name,
                    "torn last" if torn else "corrupt",
                    number,
                    e,
                )
        return rows

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
