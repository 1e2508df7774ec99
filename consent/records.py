"""Proof of consent (GDPR art. 7(1)): one append-only record per decision, and the
visitor's rights of access and erasure over what is held under their consent id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import anyio.to_thread

from kruimel.base.store import Store, StoreError, ensure_ttl

from .schema import ACTIONS, CONTROLS, LOG_COLUMNS, MIGRATIONS, TABLE, retention_ttl
from .state import ConsentState

__all__ = ["ConsentLog", "EraseCallback", "RowWriter"]

EraseCallback = Callable[[str], Awaitable[str]]


class RowWriter(Protocol):
    """What :class:`ConsentLog` needs of ``kruimel.base.store.writer.BatchWriter``."""

    def append(self, rows: Sequence[Sequence[Any]]) -> Any: ...

    async def flush(self) -> Any: ...


class ConsentLog:
    """The ``consent_log`` table: append a decision, list and erase by consent id.

    :param store: the shared :class:`~kruimel.base.store.Store`.
    :param writer: a ``BatchWriter`` for ``consent_log`` (columns
        :data:`consent.schema.LOG_COLUMNS`); without one each decision is one INSERT,
        which is fine at one decision per visitor per months.
    :param site: the site the records belong to (several sites may share a store).
    :param retention_months: how long records are kept (the table's TTL).
    """

    def __init__(
        self,
        store: Store,
        *,
        writer: RowWriter | None = None,
        site: str = "",
        retention_months: int = 13,
    ) -> None:
        self._store: Store | None = store
        self._url = ""  # set by open(): the store is connected in start()
        self.writer = writer
        self.site = site
        self.retention_months = retention_months
        self._erasers: list[EraseCallback] = []
        self._owns_store = False

    @classmethod
    def open(cls, url: str, *, site: str = "", retention_months: int = 13) -> ConsentLog:
        """A log with a store of its own, for ``add_middleware`` without more wiring.

        ``ConsentLog.open("chdb://./kruimel-data/store")`` or a ClickHouse server URL. Nothing
        is opened at import: the middleware opens the store when the app's lifespan starts
        (so a wrong URL or a held data directory fails the start, and tools that import the
        app open nothing) and closes it at shutdown. Each decision is then one INSERT before
        the answer (durable, and decisions are rare).
        """
        log = cls(None, site=site, retention_months=retention_months)  # type: ignore[arg-type]
        log._url = url
        log._owns_store = True
        return log

    @property
    def store(self) -> Store:
        """The store; for a log made by :meth:`open`, only once :meth:`start` has run.

        :raises kruimel.base.store.StoreError: the log was opened from a URL and not started.
        """
        if self._store is None:
            raise StoreError(
                f"the consent log for {self._url!r} opens its store when the app's lifespan "
                "starts, and it has not: run the app under a server with lifespan enabled "
                "(uvicorn's default), or give ConsentLog an open Store"
            )
        return self._store

    async def close(self) -> None:
        """Close the store if this log opened it (:meth:`open`); otherwise nothing."""
        if self._owns_store and self._store is not None:
            self._store.close()

    async def start(self) -> None:
        """Create the table (idempotent) and apply the configured retention."""

        def setup() -> None:
            if self._url and (self._store is None or self._store.closed):
                # Opened from a URL: connect now, and again after a shutdown (test clients
                # run an app's lifespan once per test).
                self._store = Store.connect(self._url)
            self.store.migrate(MIGRATIONS)
            ensure_ttl(self.store, TABLE, retention_ttl(self.retention_months))

        await anyio.to_thread.run_sync(setup)

    async def record(
        self,
        state: ConsentState,
        action: str,
        control: str,
        lang: str,
        banner_hash: str,
        *,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Append one decision; returns the record as stored.

        :raises ValueError: ``action`` or ``control`` is not one the table knows.
        """
        if action not in ACTIONS:
            raise ValueError(f"action {action!r}: use one of {', '.join(ACTIONS)}")
        if control not in CONTROLS:
            raise ValueError(f"control {control!r}: use one of {', '.join(CONTROLS)}")
        ts = (now or datetime.now(UTC)).astimezone(UTC)
        ts = ts.replace(microsecond=ts.microsecond // 1000 * 1000)
        categories = {name: state.allows(name) for name in state.categories}
        row = [
            state.id,
            ts,
            action,
            categories,
            state.policy_version,
            banner_hash,
            lang,
            control,
            self.site,
        ]
        if self.writer is not None:
            self.writer.append([row])
        else:
            await self.store.ainsert(TABLE, LOG_COLUMNS, [row])
        return _public(dict(zip(LOG_COLUMNS, row, strict=True)))

    async def records_for(self, consent_id: str) -> list[dict[str, Any]]:
        """Every record held under ``consent_id`` for this site, oldest first."""
        if not consent_id:  # a visitor who never decided: nothing is held under no id
            return []
        if self.writer is not None:
            await self.writer.flush()
        rows = await self.store.aquery_dicts(
            f"SELECT {', '.join(LOG_COLUMNS)} FROM {TABLE} "
            "WHERE consent_id = {id:String} AND site = {site:String} ORDER BY ts",
            {"id": consent_id, "site": self.site},
        )
        return [_public(row) for row in rows]

    def on_erase(self, callback: EraseCallback) -> EraseCallback:
        """Register an app's eraser: ``async callback(consent_id) -> str`` deletes what the
        app keeps under that id and says what it erased. Usable as a decorator."""
        self._erasers.append(callback)
        return callback

    async def erase(self, consent_id: str) -> dict[str, Any]:
        """Erase everything held under ``consent_id`` except the proof of consent.

        Kruimel itself keeps nothing else under a consent id (its analytics never store
        one); apps' registered erasers run in order. The proof-of-consent records stay:
        GDPR art. 7(1) requires the controller to be able to show consent was given, so
        they are kept until their retention ends and are then purged automatically.
        """
        # No id (a visitor who never decided): nothing is held, and no eraser is asked to
        # erase "everything under the empty id".
        erased = [await callback(consent_id) for callback in self._erasers] if consent_id else []
        kept = len(await self.records_for(consent_id))
        return {
            "consent_id": consent_id,
            "erased": erased,
            "kept": {
                "what": "proof of consent (consent_log)",
                "records": kept,
                "why": "GDPR art. 7(1): we must be able to show what you chose and when",
                "until": f"{self.retention_months} months after each record, then deleted "
                "automatically",
            },
        }


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """A record as JSON: ISO 8601 UTC time, plain dict of categories."""
    ts = row["ts"]
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        row["ts"] = ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    row["categories"] = {str(k): bool(v) for k, v in dict(row["categories"]).items()}
    return row
