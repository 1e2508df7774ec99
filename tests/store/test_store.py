from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analytics.schema import MIGRATIONS as ANALYTICS
from kruimel.base.store import (
    Migration,
    Store,
    StoreConfigError,
    StoreLockedError,
    ensure_ttl,
    render,
)


def test_render_single_node_and_cluster() -> None:
    sql = "CREATE TABLE t $on_cluster (a UInt8) ENGINE = $MergeTree ORDER BY a"
    assert render(sql, None) == "CREATE TABLE t  (a UInt8) ENGINE = MergeTree ORDER BY a"
    assert render(sql, "web") == (
        "CREATE TABLE t ON CLUSTER web (a UInt8) ENGINE = ReplicatedMergeTree ORDER BY a"
    )


def test_render_rejects_injected_cluster_name() -> None:
    with pytest.raises(ValueError):
        render("$on_cluster", "x; DROP TABLE events")


@pytest.mark.parametrize("url", ["sqlite:///x.db", "clickhouse://h", "chdb://", "/just/a/path"])
def test_connect_bad_url_names_the_setting(url: str) -> None:
    with pytest.raises(StoreConfigError, match="store url"):
        Store.connect(url)


def test_migrate_is_idempotent(store: Store) -> None:
    first = store.migrate(ANALYTICS)
    assert first == [m.id for m in ANALYTICS]
    assert store.migrate(ANALYTICS) == []
    tables = {r[0] for r in store.query("SHOW TABLES")}
    assert {"events", "pages_daily", "filtered", "salts", "kruimel_migrations"} <= tables


def test_insert_with_same_dedup_token_is_stored_once(store: Store) -> None:
    store.migrate(
        [
            Migration(
                "t/1",
                (
                    "CREATE TABLE d (a UInt32) ENGINE = $MergeTree ORDER BY a "
                    "SETTINGS non_replicated_deduplication_window = 100",
                ),
            )
        ]
    )
    for _ in range(3):
        store.insert("d", ["a"], [[1], [2]], dedup_token="batch-1")
    store.insert("d", ["a"], [[1], [2]], dedup_token="batch-2")
    assert store.query("SELECT count() FROM d") == [(4,)]


def test_ensure_ttl_alters_only_on_change(store: Store) -> None:
    store.migrate(ANALYTICS)
    assert ensure_ttl(store, "events", "toStartOfMonth(day) + toIntervalMonth(25)") is False
    assert ensure_ttl(store, "events", "ts + toIntervalMonth(14)") is True
    assert ensure_ttl(store, "events", "ts + toIntervalMonth(14)") is False


def test_second_process_gets_a_clear_error(store: Store) -> None:
    path = store.url[len("chdb://") :]
    code = (
        "from kruimel.base.store import Store, StoreLockedError\n"
        "try:\n"
        f"    Store.connect('chdb://{path}')\n"
        "except StoreLockedError as e:\n"
        "    print('LOCKED', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "LOCKED" in out.stdout, out.stderr[-2000:]
    assert "one data directory serves exactly one Kruimel process" in out.stdout
    assert "http://user:password@host:8123/database" in out.stdout


def test_locked_error_carries_pid(tmp_path: Path) -> None:
    err = StoreLockedError(str(tmp_path), 1234)
    assert err.pid == 1234 and "process 1234" in str(err)
