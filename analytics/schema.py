"""The analytics tables. Raw events, a daily rollup, bot counts and the daily salts.

``day`` is the site-local calendar day (the site's timezone), computed at ingestion: the
rollup, the salts and the summary all agree on which day an event belongs to. ``ts`` is UTC.

Storage choices (measured by ``bench/disk.py``; under 10 bytes per event in all):

* ``events`` is ordered by ``(site, day, visitor, ts)``: a site's time range is a contiguous
  range of the primary key, a visitor's events of one day sit side by side in time order
  (the summary splits them into visits without sorting), and the repetitive per-visitor
  columns (browser, os, device) compress to almost nothing. Partitions are months, so the
  retention TTL drops whole parts (``ttl_only_drop_parts``) instead of rewriting them.
* ``pages_daily`` is filled by a materialised view: page views and a ``uniq`` state of
  visitor keys per site, day and path. It keeps a deduplication window like ``events``, so
  that a batch retried with the same token is counted once in the rollup too (ClickHouse
  derives the view's block ids from the insert's, so distinct batches are never merged).
  The summary reads it for the time series, the top pages and the visitor and page-view
  totals.
* ``visits_daily`` holds each closed day's visits (totals and per source, referrer, UTM
  tags, browser, os, device) and pages (exact visitors and page views per path), rolled up
  by the summary from the raw events once the day is over (visits cannot be cut by a
  materialised view); see :func:`analytics.summary.roll_up`.
* Every statement uses ``$on_cluster`` and ``$<Engine>`` (see :func:`kruimel.base.store.render`),
  so the same schema runs on chDB, a single server and a replicated cluster.

Retention is configuration: :func:`apply_retention` moves the TTL of every analytics table
(the salts keep their own 48 hours; all their rows are kept, so the deterministic winner
never changes, and a deleted salt leaves the disk within 30 seconds, not the default 8 minutes).
"""

from __future__ import annotations

from kruimel.base.store import Migration, Store, ensure_ttl

__all__ = [
    "DEFAULT_RETENTION_MONTHS",
    "EVENT_COLUMNS",
    "FILTERED_COLUMNS",
    "MAX_RETENTION_MONTHS",
    "MIGRATIONS",
    "SALT_COLUMNS",
    "apply_retention",
]

DEFAULT_RETENTION_MONTHS = 25
# Raw analytics data may be kept at most 25 months for the consent exemption
# (CNIL audience measurement; docs/REGULATION.md item 14).
MAX_RETENTION_MONTHS = 25

# Column order of a row handed to the writer (kruimel.base.store.writer) for the events table.
EVENT_COLUMNS = (
    "site",
    "ts",
    "day",
    "name",
    "visitor",
    "path",
    "referrer_host",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "browser",
    "os",
    "device",
    "duration_ms",
    "props",
)
FILTERED_COLUMNS = ("site", "day", "reason", "count")
SALT_COLUMNS = ("site", "day", "salt", "created_at")

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "analytics/0001_events",
        (
            """
            CREATE TABLE IF NOT EXISTS events $on_cluster (
                site LowCardinality(String),
                ts DateTime('UTC') CODEC(Delta, ZSTD(3)),
                day Date CODEC(Delta, ZSTD(1)),
                name LowCardinality(String) CODEC(ZSTD(3)),
                visitor UInt64 CODEC(ZSTD(3)),
                path LowCardinality(String) CODEC(ZSTD(3)),
                referrer_host LowCardinality(String) CODEC(ZSTD(3)),
                source LowCardinality(String) CODEC(ZSTD(3)),
                utm_source LowCardinality(String) CODEC(ZSTD(3)),
                utm_medium LowCardinality(String) CODEC(ZSTD(3)),
                utm_campaign LowCardinality(String) CODEC(ZSTD(3)),
                browser LowCardinality(String) CODEC(ZSTD(3)),
                os LowCardinality(String) CODEC(ZSTD(3)),
                device LowCardinality(String) CODEC(ZSTD(3)),
                duration_ms UInt32 CODEC(T64, ZSTD(1)),
                props Map(LowCardinality(String), String) CODEC(ZSTD(3))
            ) ENGINE = $MergeTree
            PARTITION BY toYYYYMM(day)
            ORDER BY (site, day, visitor, ts)
            TTL toStartOfMonth(day) + toIntervalMonth(25)
            SETTINGS non_replicated_deduplication_window = 10000, ttl_only_drop_parts = 1
            """,
        ),
    ),
    Migration(
        "analytics/0002_pages_daily",
        (
            """
            CREATE TABLE IF NOT EXISTS pages_daily $on_cluster (
                site LowCardinality(String),
                day Date,
                path LowCardinality(String),
                pageviews SimpleAggregateFunction(sum, UInt64),
                visitors AggregateFunction(uniq, UInt64)
            ) ENGINE = $AggregatingMergeTree
            PARTITION BY toYYYYMM(day)
            ORDER BY (site, day, path)
            TTL toStartOfMonth(day) + toIntervalMonth(25)
            SETTINGS non_replicated_deduplication_window = 10000, ttl_only_drop_parts = 1
            """,
            """
            CREATE MATERIALIZED VIEW IF NOT EXISTS pages_daily_mv $on_cluster TO pages_daily AS
            SELECT site, day, path, count() AS pageviews, uniqState(visitor) AS visitors
            FROM events WHERE name = 'pageview'
            GROUP BY site, day, path
            """,
        ),
    ),
    Migration(
        "analytics/0003_filtered",
        (
            """
            CREATE TABLE IF NOT EXISTS filtered $on_cluster (
                site LowCardinality(String),
                day Date,
                reason LowCardinality(String),
                count UInt64
            ) ENGINE = $SummingMergeTree
            PARTITION BY toYYYYMM(day)
            ORDER BY (site, day, reason)
            TTL toStartOfMonth(day) + toIntervalMonth(25)
            SETTINGS non_replicated_deduplication_window = 10000, ttl_only_drop_parts = 1
            """,
        ),
    ),
    Migration(
        "analytics/0004_salts",
        (
            """
            CREATE TABLE IF NOT EXISTS salts $on_cluster (
                site LowCardinality(String),
                day Date,
                salt String,
                created_at DateTime('UTC')
            ) ENGINE = $MergeTree
            ORDER BY (site, day)
            TTL created_at + toIntervalHour(48)
            SETTINGS old_parts_lifetime = 30
            """,
        ),
    ),
    Migration(
        "analytics/0005_visits_daily",
        (
            # Visits (and pages) of closed days, per dimension, written by
            # analytics.summary.roll_up:
            # a visit is a sequence of events, which no materialised view can cut, so the
            # summary computes a day's visits once from the raw events when the day is over
            # and reads this table afterwards. Counts are final per day; visitors per day
            # sum to the daily-unique visitors of a period. A later roll-up of the same day
            # (after late events) replaces it: ReplacingMergeTree on rolled_at, read FINAL.
            """
            CREATE TABLE IF NOT EXISTS visits_daily $on_cluster (
                site LowCardinality(String),
                day Date,
                dim LowCardinality(String),
                k1 String,
                k2 String,
                k3 String,
                visitors UInt64,
                visits UInt64,
                pageviews UInt64,
                bounces UInt64,
                duration_ms UInt64,
                rolled_at DateTime64(3, 'UTC')
            ) ENGINE = $ReplacingMergeTree(rolled_at)
            PARTITION BY toYYYYMM(day)
            ORDER BY (site, day, dim, k1, k2, k3)
            TTL toStartOfMonth(day) + toIntervalMonth(25)
            SETTINGS ttl_only_drop_parts = 1
            """,
        ),
    ),
)

# Tables whose TTL follows the configured retention. Every one is partitioned by month and
# drops whole parts, so the TTL counts from the start of the month: a part goes when its
# OLDEST row reaches the limit, and no row outlives it (counting from each row's own day
# would keep a month's first rows until its last row expired, a month too long).
_RETAINED = ("events", "pages_daily", "visits_daily", "filtered")
_TTL_FROM = "toStartOfMonth(day)"


def apply_retention(store: Store, months: int = DEFAULT_RETENTION_MONTHS) -> list[str]:
    """Keep analytics data ``months`` months: set the TTL of events, rollups and bot counts.

    Idempotent and cheap at every start: a table is altered only when its TTL changes
    (:func:`kruimel.base.store.ensure_ttl`). Run after migrating. Returns the tables altered.

    :raises ValueError: ``months`` is not a whole number from 1 to 25 (the longest
        retention the consent exemption for audience measurement allows).
    """
    if isinstance(months, bool) or not isinstance(months, int):
        raise ValueError(f"analytics retention_months must be a whole number, got {months!r}")
    if not 1 <= months <= MAX_RETENTION_MONTHS:
        raise ValueError(
            f"analytics retention_months must be 1 to {MAX_RETENTION_MONTHS} (raw analytics "
            f"data may be kept at most {MAX_RETENTION_MONTHS} months), got {months}"
        )
    return [
        table
        for table in _RETAINED
        if ensure_ttl(store, table, f"{_TTL_FROM} + toIntervalMonth({months})")
    ]
