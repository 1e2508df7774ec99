"""Versioned, idempotent schema migrations, written once for chDB and a ClickHouse server.

A migration is a list of statements in which ``$on_cluster`` and engine names such as
``$MergeTree`` or ``$SummingMergeTree`` are placeholders: on one machine (chDB, or a single
server) they become ``''`` and ``MergeTree``; with a cluster they become ``ON CLUSTER name``
and ``ReplicatedMergeTree`` (whose replica path comes from the server's
``default_replica_path``). Each package keeps its own list (``consent.schema.MIGRATIONS``,
``analytics.schema.MIGRATIONS``) and migrates at start; applied ids are kept in
``kruimel_migrations``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from string import Template
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client import Store

__all__ = ["Migration", "migrate", "render", "ensure_ttl"]

_ENGINES = ("MergeTree", "SummingMergeTree", "AggregatingMergeTree", "ReplacingMergeTree")
_TABLE = "kruimel_migrations"


@dataclass(frozen=True)
class Migration:
    """One schema step. ``id`` is unique across packages, e.g. ``consent/0001_consent_log``."""

    id: str
    statements: tuple[str, ...]


def render(statement: str, cluster: str | None) -> str:
    """Fill the ``$on_cluster`` and ``$<Engine>`` placeholders for this deployment."""
    values = {"on_cluster": f"ON CLUSTER {_ident(cluster)}" if cluster else ""}
    for engine in _ENGINES:
        values[engine] = f"Replicated{engine}" if cluster else engine
    return Template(statement).substitute(values)


def migrate(store: Store, migrations: Sequence[Migration]) -> list[str]:
    """Apply, in order, every migration of ``migrations`` that is not yet recorded."""
    ids = [m.id for m in migrations]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate migration ids in {ids}")
    store.command(
        render(
            f"CREATE TABLE IF NOT EXISTS {_TABLE} $on_cluster "
            "(id String, applied_at DateTime('UTC') DEFAULT now()) "
            "ENGINE = $ReplacingMergeTree ORDER BY id",
            store.cluster,
        )
    )
    done = {row[0] for row in store.query(f"SELECT id FROM {_TABLE}")}
    applied: list[str] = []
    for m in migrations:
        if m.id in done:
            continue
        for statement in m.statements:
            store.command(render(statement, store.cluster))
        store.insert(_TABLE, ["id"], [[m.id]])
        applied.append(m.id)
    return applied


def ensure_ttl(store: Store, table: str, ttl: str) -> bool:
    """Make ``table``'s TTL expression ``ttl`` (e.g. ``toDateTime(ts) + toIntervalMonth(13)``).

    Retention is configuration, not schema: this compares with what ClickHouse reports and
    alters only on a change, so a restart does not rewrite a large table. Returns whether it
    altered. Write ``ttl`` in ClickHouse's own normal form (``toIntervalMonth(13)``, not
    ``INTERVAL 13 MONTH``) or it will be re-applied at every start.
    """
    rows = store.query(
        "SELECT engine_full FROM system.tables WHERE database = currentDatabase() "
        "AND name = {table:String}",
        {"table": table},
    )
    if not rows:
        raise ValueError(f"table {table} does not exist; migrate first")
    match = re.search(r"\bTTL (.+?)(?: SETTINGS |$)", str(rows[0][0]))
    if match and match.group(1).strip() == ttl:
        return False
    store.command(
        render(f"ALTER TABLE {_ident(table)} $on_cluster MODIFY TTL {ttl}", store.cluster),
        settings={"materialize_ttl_after_modify": 1},
    )
    return True


def _ident(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"not a plain ClickHouse identifier: {name!r}")
    return name
