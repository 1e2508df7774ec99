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
            "database: one data directory serves exactly one Kruimel process. Run a single "
            "collector (stop the other one, or give this one its own --data-dir), or point "
            "every process at a ClickHouse server: store url "
            "'http://user:password@host:8123/database'."
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
