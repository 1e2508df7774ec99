"""Exceptions raised by the storage layer. One base class, context on each."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for every storage failure."""


class StoreConfigError(StoreError):
    """The store URL or a store setting is wrong; the message names what to change."""


class StoreLockedError(StoreError):
    """Another process holds the embedded (chDB) data directory."""

    def __init__(self, path: str, pid: int | None) -> None:
        who = f"process {pid}" if pid else "another process"
        super().__init__(
            f"The embedded store at {path!r} is in use by {who}. chDB is an in-process "
            "database: one data directory serves exactly one Kruimel process. Send events "
            "and decisions to the one `kruimel serve` that owns this store (stop the other "
            "process to run this one instead), or let every process use a ClickHouse server: "
            "KRUIMEL_STORE_URL=http://user:password@host:8123/database."
        )
        self.path = path
        self.pid = pid


class StoreUnavailableError(StoreError):
    """The ClickHouse server could not be reached or refused the request."""


class Backpressure(StoreError):
    """The writer holds ``max_journal_bytes`` of unconfirmed rows; try again later.

    :ivar retry_after: seconds after which a retry is reasonable (for ``Retry-After``).
    """

    def __init__(self, name: str, pending: int, limit: int, retry_after: int) -> None:
        super().__init__(
            f"{name}: {pending} bytes wait for ClickHouse (limit max_journal_bytes={limit}); "
            "is ClickHouse reachable?"
        )
        self.retry_after = retry_after
