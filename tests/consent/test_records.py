"""Proof of consent on a real chDB store: append, read back, erase, retention, columns."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consent.config import ConsentConfig
from consent.records import ConsentLog
from consent.schema import LOG_COLUMNS, TABLE
from consent.state import ConsentState
from kruimel.base.store import Store, StoreError
from kruimel.base.store.writer import BatchWriter
from tests.clock import noon

HASH = "a" * 64


async def test_record_direct_path_reads_back(config: ConsentConfig, store: Store) -> None:
    log = ConsentLog(store, site="www.example.nl")
    await log.start()
    state = ConsentState.decide(config, {"analytics": True}, id="c1")
    at = noon().replace(hour=10, microsecond=123456)
    stored = await log.record(state, "custom", "form", "nl", HASH, now=at)
    other = ConsentState.decide(config, {}, id="c2")
    await log.record(other, "reject_all", "banner", "en", HASH)
    records = await log.records_for("c1")
    assert records == [stored]
    assert records[0] == {
        "consent_id": "c1",
        "ts": f"{at.date().isoformat()}T10:00:00.123Z",
        "action": "custom",
        "categories": {
            "necessary": True,
            "preferences": False,
            "analytics": True,
            "marketing": False,
        },
        "policy_version": "2026-11",
        "banner_hash": HASH,
        "language": "nl",
        "control": "form",
        "site": "www.example.nl",
    }


async def test_records_are_per_site(config: ConsentConfig, store: Store) -> None:
    a, b = ConsentLog(store, site="a.nl"), ConsentLog(store, site="b.nl")
    await a.start()
    await b.start()
    state = ConsentState.decide(config, {}, id="same")
    await a.record(state, "reject_all", "api", "nl", HASH)
    assert await b.records_for("same") == []
    assert len(await a.records_for("same")) == 1


async def test_record_through_batch_writer_flushes_before_reading(
    config: ConsentConfig, store: Store
) -> None:
    writer = BatchWriter(store, TABLE, LOG_COLUMNS, journal_dir=None, max_delay=60.0,
                         name="consent_log")  # fmt: skip
    log = ConsentLog(store, writer=writer, site="s")
    await log.start()
    await writer.start()
    try:
        for action in ("accept_all", "withdraw"):
            state = ConsentState.decide(config, {"marketing": True}, id="w1")
            await log.record(state, action, "api", "en", HASH)
        assert [r["action"] for r in await log.records_for("w1")] == ["accept_all", "withdraw"]
    finally:
        await writer.stop()


@pytest.mark.parametrize(("action", "control"), [("grant", "api"), ("custom", "email")])
async def test_record_rejects_unknown_action_or_control(
    config: ConsentConfig, store: Store, action: str, control: str
) -> None:
    log = ConsentLog(store)
    await log.start()
    with pytest.raises(ValueError):
        await log.record(ConsentState.decide(config, {}), action, control, "nl", HASH)
    assert store.query("SELECT count() FROM consent_log") == [(0,)]


def test_table_refuses_unknown_action(store: Store) -> None:
    from consent.schema import MIGRATIONS

    store.migrate(MIGRATIONS)
    row = ["x", datetime.now(UTC), "maybe", {}, "1", HASH, "nl", "api", ""]
    with pytest.raises(StoreError):
        store.insert(TABLE, LOG_COLUMNS, [row])


async def test_table_holds_no_ip_or_user_agent(store: Store) -> None:
    await ConsentLog(store).start()
    columns = {
        r[0] for r in store.query(f"SELECT name FROM system.columns WHERE table = '{TABLE}'")
    }
    # Spelled out, not taken from the code under test: a new column must be a decision here.
    assert columns == {
        "consent_id",
        "ts",
        "action",
        "categories",
        "policy_version",
        "banner_hash",
        "language",
        "control",
        "site",
    }
    assert columns == set(LOG_COLUMNS)


async def test_start_applies_configured_retention(store: Store) -> None:
    log = ConsentLog(store, retention_months=20)
    await log.start()
    await log.start()  # idempotent
    engine = store.query(f"SELECT engine_full FROM system.tables WHERE name = '{TABLE}'")[0][0]
    assert "TTL toDateTime(ts) + toIntervalMonth(20)" in engine
    assert "PARTITION BY toYYYYMM(ts)" in engine and "ORDER BY (consent_id, ts)" in engine


async def test_erase_runs_app_erasers_and_keeps_proof(config: ConsentConfig, store: Store) -> None:
    log = ConsentLog(store, site="s")
    await log.start()
    await log.record(ConsentState.decide(config, {}, id="e1"), "reject_all", "api", "nl", HASH)
    seen: list[str] = []

    @log.on_erase
    async def newsletter(consent_id: str) -> str:
        seen.append(consent_id)
        return "newsletter preferences"

    result = await log.erase("e1")
    assert seen == ["e1"]
    assert result["consent_id"] == "e1"
    assert result["erased"] == ["newsletter preferences"]
    assert result["kept"]["records"] == 1
    assert "7(1)" in result["kept"]["why"]
    assert "13 months" in result["kept"]["until"]
    assert len(await log.records_for("e1")) == 1
