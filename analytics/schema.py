"""The analytics tables. Raw events, a daily rollup, bot counts and the daily salts.

``day`` is the site-local calendar day (the site's timezone), computed at ingestion: the
rollup, the salts and the summary all agree on which day an event belongs to.
"""

from __future__ import annotations

from kruimel.store import Migration

__all__ = ["MIGRATIONS", "EVENT_COLUMNS", "FILTERED_COLUMNS", "SALT_COLUMNS"]

# Column order of a row handed to the writer (analytics.writer) for the events table.
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
                ts DateTime('UTC') CODEC(Delta, ZSTD(1)),
                day Date CODEC(Delta, ZSTD(1)),
                name LowCardinality(String),
                visitor UInt64 CODEC(Delta, ZSTD(1)),
                path LowCardinality(String),
                referrer_host LowCardinality(String),
                source LowCardinality(String),
                utm_source LowCardinality(String),
                utm_medium LowCardinality(String),
                utm_campaign LowCardinality(String),
                browser LowCardinality(String),
                os LowCardinality(String),
                device LowCardinality(String),
                duration_ms UInt32 CODEC(T64, ZSTD(1)),
                props Map(LowCardinality(String), String)
            ) ENGINE = $MergeTree
            PARTITION BY toYYYYMM(day)
            ORDER BY (site, day, visitor, ts)
            TTL ts + toIntervalMonth(25)
            SETTINGS non_replicated_deduplication_window = 10000
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
            TTL day + toIntervalMonth(25)
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
            TTL day + toIntervalMonth(25)
            SETTINGS non_replicated_deduplication_window = 10000
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
            ) ENGINE = $ReplacingMergeTree
            ORDER BY (site, day)
            TTL created_at + toIntervalHour(48)
            """,
        ),
    ),
)
