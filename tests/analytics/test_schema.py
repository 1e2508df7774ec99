from __future__ import annotations

import re

import pytest

import analytics.schema
from analytics.schema import (
    EVENT_COLUMNS,
    FILTERED_COLUMNS,
    MIGRATIONS,
    SALT_COLUMNS,
    apply_retention,
)
from kruimel.base.store import Store, render


def engine_full(store: Store, table: str) -> str:
    rows = store.query(
        "SELECT engine_full FROM system.tables WHERE database = currentDatabase() "
        "AND name = {t:String}",
        {"t": table},
    )
    return str(rows[0][0])


def test_schema_public_names() -> None:
    assert set(analytics.schema.__all__) == {
        "DEFAULT_RETENTION_MONTHS",
        "EVENT_COLUMNS",
        "FILTERED_COLUMNS",
        "MAX_RETENTION_MONTHS",
        "MIGRATIONS",
        "SALT_COLUMNS",
        "apply_retention",
    }


def test_schema_columns_match_the_tables(store: Store) -> None:
    store.migrate(MIGRATIONS)
    for table, columns in (
        ("events", EVENT_COLUMNS),
        ("filtered", FILTERED_COLUMNS),
        ("salts", SALT_COLUMNS),
    ):
        names = store.query(
            "SELECT name FROM system.columns WHERE database = currentDatabase() "
            "AND table = {t:String} ORDER BY position",
            {"t": table},
        )
        assert tuple(n for (n,) in names) == columns


def test_schema_events_layout(store: Store) -> None:
    store.migrate(MIGRATIONS)
    engine = engine_full(store, "events")
    assert "PARTITION BY toYYYYMM(day)" in engine
    assert "ORDER BY (site, day, visitor, ts)" in engine
    assert "TTL toStartOfMonth(day) + toIntervalMonth(25)" in engine
    assert "ttl_only_drop_parts = 1" in engine
    assert "non_replicated_deduplication_window = 10000" in engine


def test_schema_renders_for_a_cluster() -> None:
    for migration in MIGRATIONS:
        for statement in migration.statements:
            single = render(statement, None)
            clustered = render(statement, "web")
            assert "$" not in single and "$" not in clustered
            if "CREATE" in statement:
                assert "ON CLUSTER web" in clustered
            for engine in re.findall(r"ENGINE = (\w+)", clustered):
                assert engine.startswith("Replicated"), engine


def test_apply_retention_moves_every_ttl_once(store: Store) -> None:
    store.migrate(MIGRATIONS)
    assert apply_retention(store, 25) == []
    assert apply_retention(store, 13) == ["events", "pages_daily", "visits_daily", "filtered"]
    assert apply_retention(store, 13) == []
    for table in ("events", "pages_daily", "visits_daily", "filtered"):
        assert "TTL toStartOfMonth(day) + toIntervalMonth(13)" in engine_full(store, table)
    assert "toIntervalHour(48)" in engine_full(store, "salts")


def test_apply_retention_deletes_expired_rows(store: Store) -> None:
    store.migrate(MIGRATIONS)
    store.command(
        "INSERT INTO filtered (site, day, reason, count) VALUES "
        "('example.nl', today() - 200, 'crawler', 1), ('example.nl', today() - 10, 'crawler', 2)"
    )
    apply_retention(store, 3)
    store.command("OPTIMIZE TABLE filtered FINAL")
    assert store.query("SELECT sum(count) FROM filtered") == [(2,)]


def test_retention_no_row_outlives_the_limit(store: Store) -> None:
    """A month's part is dropped once its first day reaches the limit, with all its rows.

    Counted from each row's own day, the part (dropped whole) would live until its last row
    expired, keeping the month's first rows up to a month longer than the limit.
    """
    store.migrate(MIGRATIONS)
    apply_retention(store, 3)
    first = "toStartOfMonth(today()) - toIntervalMonth(3)"
    store.command(
        "INSERT INTO filtered (site, day, reason, count) VALUES "
        f"('example.nl', {first}, 'crawler', 1), "
        f"('example.nl', toLastDayOfMonth({first}), 'crawler', 10), "
        "('example.nl', toStartOfMonth(today()) - toIntervalMonth(2), 'crawler', 100)"
    )
    store.command("OPTIMIZE TABLE filtered FINAL")
    assert store.query("SELECT sum(count) FROM filtered") == [(100,)]


@pytest.mark.parametrize("months", [0, 26, -1, 2.5, "13", True])
def test_apply_retention_refuses_bad_months(store: Store, months: object) -> None:
    with pytest.raises(ValueError, match="retention_months"):
        apply_retention(store, months)  # type: ignore[arg-type]


def test_schema_salts_keep_every_row_and_leave_disk_quickly(store: Store) -> None:
    store.migrate(MIGRATIONS)
    engine = engine_full(store, "salts")
    # Plain MergeTree: no merge may replace the day's winning salt by a later insert.
    assert engine.startswith("MergeTree ")
    # A deleted salt's outdated part is removed after 30 s, not ClickHouse's default 8 minutes.
    assert "old_parts_lifetime = 30" in engine
    assert "TTL created_at + toIntervalHour(48)" in engine
