"""The proof-of-consent table. No IP address and no user agent, by design."""

from __future__ import annotations

from kruimel.base.store import Migration

__all__ = ["ACTIONS", "CONTROLS", "LOG_COLUMNS", "MIGRATIONS", "TABLE", "retention_ttl"]

TABLE = "consent_log"
ACTIONS = ("accept_all", "reject_all", "custom", "withdraw", "gpc", "expire")
CONTROLS = ("banner", "form", "api")
# Column order of a row handed to the store or to a BatchWriter.
LOG_COLUMNS = (
    "consent_id",
    "ts",
    "action",
    "categories",
    "policy_version",
    "banner_hash",
    "language",
    "control",
    "site",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "consent/0001_consent_log",
        (
            """
            CREATE TABLE IF NOT EXISTS consent_log $on_cluster (
                consent_id String,
                ts DateTime64(3, 'UTC'),
                action LowCardinality(String),
                categories Map(String, Bool),
                policy_version LowCardinality(String),
                banner_hash String,
                language LowCardinality(String),
                control LowCardinality(String),
                site LowCardinality(String),
                CONSTRAINT known_action CHECK action IN
                    ('accept_all', 'reject_all', 'custom', 'withdraw', 'gpc', 'expire'),
                CONSTRAINT known_control CHECK control IN ('banner', 'form', 'api')
            ) ENGINE = $MergeTree
            PARTITION BY toYYYYMM(ts)
            ORDER BY (consent_id, ts)
            TTL toDateTime(ts) + toIntervalMonth(13)
            SETTINGS non_replicated_deduplication_window = 10000
            """,
        ),
    ),
)


def retention_ttl(months: int) -> str:
    """The TTL expression for ``months`` of retention, in ClickHouse's normal form."""
    return f"toDateTime(ts) + toIntervalMonth({int(months)})"
