"""One storage layer for both halves of Kruimel, over clickhouse-connect.

``chdb://PATH`` gives the embedded engine (chDB, in-process); ``http(s)://user:pass@host:port/db``
a ClickHouse server. Both return an ordinary clickhouse-connect client, so every query and
schema statement is written once. The embedded engine is bound to one directory per process;
this module turns chDB's low-level failures (another process holds the directory, this process
has another one open) into messages that say what to do.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import re
import stat
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

from .errors import StoreConfigError, StoreError, StoreLockedError, StoreUnavailableError
from .outage import Outage
from .schema import Migration, migrate

__all__ = ["Store"]

_SCHEMES = ("chdb", "http", "https")


def _lock_holder(path: Path) -> int | None:
    """Return the pid holding ClickHouse's status-file lock under ``path``, or ``None``."""
    status = path / "status"
    if not status.exists():
        return None
    with open(status, "rb") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        else:
            fcntl.flock(fh, fcntl.LOCK_UN)
            return None
        for line in fh.read().decode(errors="replace").splitlines():
            if line.startswith("PID:"):
                try:
                    return int(line.split(":", 1)[1])
                except ValueError:
                    break
    return -1


class Store:
    """A ClickHouse connection shared by the consent log and the analytics collector.

    Use :meth:`connect`. Calls are serialised with a lock: the embedded engine is one
    process-wide object, and a server client keeps one HTTP session. Blocking calls have
    ``a``-prefixed coroutine twins that run them on a worker thread.
    """

    def __init__(self, client: Client, *, url: str, cluster: str | None = None) -> None:
        self._client = client
        self._lock = threading.RLock()
        self.url = url
        self.cluster = cluster
        self.embedded = url.startswith("chdb:")
        self.closed = False
        #: logs the start, the refused requests and the end of an outage (not each failure)
        self.outage = Outage(f"the store at {_redact(url)}")

    # -- construction -------------------------------------------------------------------
    @classmethod
    def connect(cls, url: str, *, cluster: str | None = None) -> Store:
        """Open the store at ``url``.

        :param url: ``chdb://PATH`` (embedded, the directory is created) or
            ``http(s)://user:password@host:port/database``. An embedded store is private: its
            directory is made 0700 and its files 0600 (older ones too), and the process umask
            gains ``077``, since chDB keeps creating files in this process.
        :param cluster: a ClickHouse cluster name; tables are then created ``ON CLUSTER``
            with replicated engines. Only for a server URL.
        :raises StoreConfigError: the URL is malformed or names an unknown scheme.
        :raises StoreLockedError: another process holds the embedded data directory.
        :raises StoreUnavailableError: the server cannot be reached.
        """
        try:
            scheme = urlsplit(url).scheme
        except ValueError as e:  # "http://[": urlsplit refuses a broken host
            raise StoreConfigError(
                f"store url {_redact(url)!r} is malformed ({e}): write "
                "'http(s)://user:password@host:8123/database' or 'chdb:///path/to/dir'"
            ) from e
        if scheme not in _SCHEMES:
            raise StoreConfigError(
                f"store url {_redact(url)!r}: use 'chdb:///path/to/dir' for the embedded store or "
                "'http(s)://user:password@host:8123/database' for a ClickHouse server"
            )
        if scheme == "chdb":
            if cluster:
                raise StoreConfigError("store cluster: only a ClickHouse server has clusters")
            return cls._connect_embedded(url)
        try:
            client = clickhouse_connect.get_client(
                dsn=url, autogenerate_session_id=False, compress=True
            )
        except ClickHouseError as e:
            raise StoreUnavailableError(
                f"cannot reach ClickHouse at {_redact(url)} ({_reason(e)}): check the store "
                "url (host, port, user, password, database) and that the server is running"
            ) from e
        return cls(client, url=url, cluster=cluster)

    @classmethod
    def _connect_embedded(cls, url: str) -> Store:
        raw = url[len("chdb://") :]
        if not raw:
            raise StoreConfigError(
                "store url 'chdb://': give a directory, e.g. chdb:///var/lib/kruimel"
            )
        if importlib.util.find_spec("chdb") is None:
            # chdb is an extra (it brings some 860 MB of pandas, pyarrow and numpy).
            raise StoreConfigError(
                f"store url {url!r} needs the embedded engine, which is not installed: "
                "pip install 'kruimel[embedded]' (or use a ClickHouse server URL)"
            )
        path = Path(raw).expanduser().absolute()
        # The store holds pseudonymous events and consent ids: this process's user only, like
        # the journal. chDB creates its files in this process, later too (a part per INSERT),
        # so the umask is tightened for the process; files of an older, laxer run are fixed.
        os.umask(os.umask(0o077) | 0o077)
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            _make_private(path)
        except OSError as e:
            raise StoreConfigError(
                f"store url {url!r}: cannot use {path} ({e.strerror or e}): give a directory "
                "this user may write"
            ) from e
        holder = _lock_holder(path)
        if holder is not None and holder != os.getpid():
            raise StoreLockedError(str(path), holder if holder > 0 else None)
        try:
            client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
        except ClickHouseError as e:
            message = str(e)
            if "already initialized with path" in message:
                raise StoreError(
                    f"this process already has an embedded store open at another path; close "
                    f"it before opening {path} (chDB serves one data directory per process)"
                ) from e
            holder = _lock_holder(path)
            if holder is not None or "Cannot lock file" in message:
                pid = holder if holder is not None and holder > 0 else None
                raise StoreLockedError(str(path), pid) from e
            raise StoreError(f"cannot open the embedded store at {path}: {message}") from e
        return cls(client, url=f"chdb://{path}")

    # -- schema -------------------------------------------------------------------------
    def migrate(self, migrations: Sequence[Migration]) -> list[str]:
        """Apply the migrations not yet applied, in order; return the ids applied now."""
        with self._lock:
            return migrate(self, migrations)

    # -- blocking calls -----------------------------------------------------------------
    def command(
        self,
        sql: str,
        parameters: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Any:
        """Run a statement that returns no rows (DDL, ALTER, DELETE)."""
        with self._lock:
            return self._guard(
                lambda: self._client.command(
                    sql, parameters=dict(parameters or {}), settings=dict(settings or {})
                )
            )

    def query(
        self,
        sql: str,
        parameters: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Run a SELECT with server-side ``{name:Type}`` parameters; return its rows."""
        with self._lock:
            result = self._guard(
                lambda: self._client.query(
                    sql, parameters=dict(parameters or {}), settings=dict(settings or {})
                )
            )
        return [tuple(r) for r in result.result_rows]

    def query_dicts(
        self,
        sql: str,
        parameters: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Like :meth:`query`, each row a dict keyed by column name."""
        with self._lock:
            result = self._guard(
                lambda: self._client.query(
                    sql, parameters=dict(parameters or {}), settings=dict(settings or {})
                )
            )
        names = result.column_names
        return [dict(zip(names, row, strict=True)) for row in result.result_rows]

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        dedup_token: str | None = None,
    ) -> None:
        """Insert ``rows`` in one batch. Never call this per event: one INSERT costs ms.

        :param dedup_token: with the same token, a retried batch is stored once (tables
            are created with a deduplication window for this).
        """
        if not rows:
            return
        settings: dict[str, Any] = {}
        if dedup_token:
            settings["insert_deduplication_token"] = dedup_token
        with self._lock:
            self._guard(
                lambda: self._client.insert(
                    table, list(rows), column_names=list(columns), settings=settings
                )
            )

    def close(self) -> None:
        """Close the client (and, embedded, release the data directory for this process)."""
        with self._lock:
            if not self.closed:
                self.closed = True
                self._client.close()

    # -- coroutine twins ----------------------------------------------------------------
    async def acommand(self, sql: str, parameters: Mapping[str, Any] | None = None) -> Any:
        return await anyio.to_thread.run_sync(lambda: self.command(sql, parameters))

    async def aquery(
        self, sql: str, parameters: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        return await anyio.to_thread.run_sync(lambda: self.query(sql, parameters))

    async def aquery_dicts(
        self, sql: str, parameters: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        return await anyio.to_thread.run_sync(lambda: self.query_dicts(sql, parameters))

    async def ainsert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        dedup_token: str | None = None,
    ) -> None:
        await anyio.to_thread.run_sync(
            lambda: self.insert(table, columns, rows, dedup_token=dedup_token)
        )

    # -- helpers ------------------------------------------------------------------------
    def _guard(self, call: Any) -> Any:
        if self.closed:
            error = StoreError("the store is closed")
            self.outage.failed(error)
            raise error
        try:
            result = call()
        except ClickHouseError as e:
            if self.embedded:
                # In-process: an error is the query's (a schema, a disk), not an outage.
                raise StoreError(str(e)) from e
            failure = StoreUnavailableError(f"ClickHouse at {_redact(self.url)}: {_reason(e)}")
            if isinstance(e, OperationalError):  # the server did not answer, vs. refused one
                self.outage.failed(failure)
            raise failure from e
        if self.outage.since is not None:
            self.outage.recovered()
        return result

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({_redact(self.url)!r})"


def _make_private(root: Path) -> None:
    """Take group and other permissions off ``root`` and everything below it."""
    for directory, subdirs, files in os.walk(root):
        for name in [directory, *(os.path.join(directory, n) for n in subdirs + files)]:
            info = os.lstat(name)
            if stat.S_ISLNK(info.st_mode) or not info.st_mode & 0o077:
                continue
            os.chmod(name, stat.S_IMODE(info.st_mode) & 0o700)


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def _reason(error: BaseException) -> str:
    """The short cause of a failed connection ("Connection refused"), not urllib3's essay."""
    found = _ERRNO.search(str(error))
    if found:
        return found.group(1).strip().rstrip(".")
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


def _redact(url: str) -> str:
    """The URL with its password replaced, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        # Unparsable, so a password cannot be told apart: keep the scheme only.
        return url.partition("://")[0][:20] + "://***" if "://" in url else "***"
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
