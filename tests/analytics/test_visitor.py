from __future__ import annotations

from datetime import date, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest

from analytics import DailySalts, SiteConfig, visitor_key
from analytics.schema import MIGRATIONS
from kruimel.base.store import Store
from tests.clock import at, today

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)

SITE = SiteConfig("example.nl")
STRICT = SiteConfig("strict.org", visitor_hash="masked_ip", ip_mask_bytes=2)
SALT = bytes(32)
IP = ip_address("203.0.113.77")


def test_visitor_key_is_a_keyed_64_bit_hash() -> None:
    key = visitor_key(SALT, SITE, IP, CHROME)
    assert 0 <= key < 2**64
    assert key == visitor_key(SALT, SITE, IP, CHROME)
    assert key != visitor_key(b"\x01" * 32, SITE, IP, CHROME)
    assert key != visitor_key(SALT, SiteConfig("other.nl"), IP, CHROME)
    assert key != visitor_key(SALT, SITE, ip_address("203.0.113.78"), CHROME)
    assert key != visitor_key(SALT, SITE, IP, CHROME + " Edg/131.0.0.0")
    assert visitor_key(SALT, SITE, None, CHROME) != key


def test_visitor_key_masked_ip_merges_a_network() -> None:
    neighbour = ip_address("203.0.200.1")  # same /16
    assert visitor_key(SALT, STRICT, IP, CHROME) == visitor_key(SALT, STRICT, neighbour, CHROME)
    assert visitor_key(SALT, SITE, IP, CHROME) != visitor_key(SALT, SITE, neighbour, CHROME)
    other_net = ip_address("198.51.100.1")
    assert visitor_key(SALT, STRICT, IP, CHROME) != visitor_key(SALT, STRICT, other_net, CHROME)


@pytest.fixture
def migrated(store: Store) -> Store:
    store.migrate(MIGRATIONS)
    return store


def salt_days(store: Store, site: str = "example.nl") -> list[date]:
    rows = store.query(
        "SELECT DISTINCT day FROM salts WHERE site = {s:String} ORDER BY day", {"s": site}
    )
    return [r[0] for r in rows]


async def test_salts_rotate_daily_and_old_ones_are_deleted(migrated: Store, clock: Any) -> None:
    salts = DailySalts(migrated, clock)
    day1 = salts.today(SITE)
    first = await salts.salt(SITE, day1)
    assert len(first) == 32
    assert await salts.salt(SITE, day1) is first  # cached for the day
    assert salts.cached(SITE, day1) == first

    clock.advance(days=1)
    day2 = salts.today(SITE)
    second = await salts.salt(SITE, day2)
    assert second != first
    assert salt_days(migrated) == [day1, day2]  # yesterday's is still there

    clock.advance(days=1)
    day3 = salts.today(SITE)
    third = await salts.salt(SITE, day3)
    assert third not in (first, second)
    assert salt_days(migrated) == [day2, day3]  # day 1's salt is gone from the table
    assert salts.cached(SITE, day1) is None  # and from memory
    stored = [r[0] for r in migrated.query("SELECT salt FROM salts")]
    assert first.hex() not in stored


async def test_salts_are_per_site(migrated: Store, clock: Any) -> None:
    salts = DailySalts(migrated, clock)
    day = salts.today(SITE)
    assert await salts.salt(SITE, day) != await salts.salt(STRICT, day)


async def test_salts_are_shared_by_collector_instances(migrated: Store, clock: Any) -> None:
    one, two = DailySalts(migrated, clock), DailySalts(migrated, clock)
    day = one.today(SITE)
    assert await one.salt(SITE, day) == await two.salt(SITE, day)
    assert migrated.query("SELECT count(DISTINCT salt) FROM salts") == [(1,)]


async def test_salts_racing_instances_converge_on_the_earliest(migrated: Store, clock: Any) -> None:
    day = clock.now.date()
    early, late = "aa" * 32, "bb" * 32
    # two instances inserted at once: the earliest created_at wins for everyone
    migrated.insert(
        "salts",
        ("site", "day", "salt", "created_at"),
        [
            ("example.nl", day, late, at(day, "00:00:02")),
            ("example.nl", day, early, at(day, "00:00:01")),
        ],
    )
    assert await DailySalts(migrated, clock).salt(SITE, day) == bytes.fromhex(early)
    assert await DailySalts(migrated, clock).salt(SITE, day) == bytes.fromhex(early)


def test_salts_day_is_the_site_local_day(store: Store, clock: Any) -> None:
    day = today()
    clock.now = at(day, "23:30:00")
    salts = DailySalts(store, clock)
    assert salts.today(SITE) == day + timedelta(days=1)  # already tomorrow in Amsterdam
    assert salts.today(SiteConfig("utc.example", timezone="UTC")) == day
    assert salts.today(SiteConfig("ny.example", timezone="America/New_York")) == day


async def test_salts_deleted_salt_is_not_left_in_active_parts(
    migrated: Store, clock: Any, tmp_path: Path
) -> None:
    salts = DailySalts(migrated, clock)
    old = await salts.salt(SITE, salts.today(SITE))
    clock.advance(days=2)
    await salts.salt(SITE, salts.today(SITE))
    rows = migrated.query("SELECT count() FROM salts WHERE salt = {s:String}", {"s": old.hex()})
    assert rows == [(0,)]
    mutations = migrated.query(
        "SELECT count() FROM system.mutations WHERE table = 'salts' AND NOT is_done"
    )
    assert mutations == [(0,)]  # mutations_sync=2: the delete finished before we went on


async def test_salts_winner_is_stable_after_a_later_racing_insert_and_a_merge(
    migrated: Store, clock: Any
) -> None:
    day = clock.now.date()

    class Racing(DailySalts):
        """Another collector inserts its own salt just after ours, before we read back."""

        reads = 0

        def _read(self, site: SiteConfig, day: date) -> tuple[str, datetime] | None:
            self.reads += 1
            if self.reads == 2:
                migrated.insert(
                    "salts",
                    ("site", "day", "salt", "created_at"),
                    [("example.nl", day, "ff" * 32, at(day, "23:00:00"))],
                )
            return super()._read(site, day)

    ours = await Racing(migrated, clock).salt(SITE, day)
    assert ours != bytes.fromhex("ff" * 32)  # ours is older: it wins
    migrated.command("OPTIMIZE TABLE salts FINAL")  # what a background merge does
    assert await DailySalts(migrated, clock).salt(SITE, day) == ours
