"""Cookieless visitor keys and the daily salts behind them.

A visitor key is a keyed BLAKE2b-64 over ``site | client IP | user agent`` with the site's salt
of the day as the key. It is computed in memory while the request is handled; only the 64-bit
result is stored. Salts are random (``secrets.token_bytes(32)``), one per site per site-local
day, shared by every collector through the ``salts`` table, and deleted when they are two days
old (an explicit ``ALTER TABLE salts DELETE`` at rotation, besides the table's 48 h TTL). Once a
salt is gone, nobody, not even with the server's secrets and the raw logs of a proxy, can
recompute which visitor key belonged to which IP address: yesterday's keys are anonymous.

``visitor_hash = "masked_ip"`` hashes the Matomo-masked address instead of the full one, so
the full IP never enters even the hash. The price is accuracy: every visitor on the same
network prefix (a /16 at the default level) with the same browser build, e.g. every
Chrome-on-Windows user of one provider region, becomes one "visitor". Choose it only when a
site must not process full IP addresses at all.

"visitors" are therefore daily-unique: the same person on two days has two keys.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from hashlib import blake2b

import anyio.to_thread

from kruimel.base.store import Store

from .anonymize import IPAddress, mask_ip
from .config import SiteConfig
from .schema import SALT_COLUMNS

__all__ = ["DailySalts", "visitor_key", "utc_now"]

SALT_BYTES = 32
KEEP_DAYS = 2  # today's and yesterday's salt; older ones are deleted


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the default clock)."""
    return datetime.now(UTC)


def visitor_key(salt: bytes, site: SiteConfig, ip: IPAddress | None, user_agent: str) -> int:
    """The 64-bit visitor key (a ClickHouse ``UInt64``) for one request.

    :param salt: the site's salt of the day (the BLAKE2b key).
    :param ip: the client address; masked first when ``site.visitor_hash == "masked_ip"``.
    """
    if ip is not None and site.visitor_hash == "masked_ip":
        ip = mask_ip(ip, site.ip_mask_bytes)
    packed = ip.packed if ip is not None else b""
    # the address is length-prefixed: its bytes may hold any value, a separator included
    data = b"".join(
        (
            site.domain.encode(),
            b"\x00",
            bytes((len(packed),)),
            packed,
            user_agent.encode("utf-8", "replace"),
        )
    )
    return int.from_bytes(blake2b(data, digest_size=8, key=salt).digest(), "big")


class DailySalts:
    """The salt of each site's current local day, shared through the ``salts`` table.

    The first collector to need a day's salt inserts a random one and reads back the winner,
    the row with the earliest ``(created_at, salt)``; the table keeps every row (plain
    MergeTree), so the winner never changes. Instances that race at midnight converge when
    each insert is visible before the other's read; two inserts in the same second that each
    read before the other's insert landed can still pick different salts for that day (a
    known, narrow race; documented in the README). The result is cached for the day, so the
    table is read once per site per day per process.

    :param store: the store holding the ``salts`` table (analytics migrations applied).
    :param clock: returns the current aware UTC time; injectable for tests.
    """

    def __init__(self, store: Store, clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self._clock = clock
        self._cache: dict[tuple[str, date], bytes] = {}
        self._lock = asyncio.Lock()

    def today(self, site: SiteConfig, now: datetime | None = None) -> date:
        """The site-local calendar day of ``now`` (default: the clock)."""
        return (now or self._clock()).astimezone(site.tz).date()

    def cached(self, site: SiteConfig, day: date) -> bytes | None:
        """The salt if it is already known in this process (no I/O)."""
        return self._cache.get((site.domain, day))

    async def salt(self, site: SiteConfig, day: date) -> bytes:
        """The salt of ``site`` for ``day``, created (and old ones deleted) when needed."""
        salt = self._cache.get((site.domain, day))
        if salt is not None:
            return salt
        async with self._lock:
            salt = self._cache.get((site.domain, day))
            if salt is None:
                salt = await anyio.to_thread.run_sync(self._rotate, site, day)
                self._cache = {
                    k: v for k, v in self._cache.items() if k[1] >= day - timedelta(days=1)
                }
                self._cache[(site.domain, day)] = salt
        return salt

    def _rotate(self, site: SiteConfig, day: date) -> bytes:
        winner = self._read(site, day)
        if winner is None:
            row = (site.domain, day, secrets.token_bytes(SALT_BYTES).hex(), self._clock())
            self._store.insert("salts", SALT_COLUMNS, [row])
            winner = self._read(site, day)
            if winner is None:  # pragma: no cover - the insert above succeeded or raised
                raise RuntimeError("salt insert was not visible")
        self.delete_expired(site, day)
        return bytes.fromhex(winner[0])

    def _read(self, site: SiteConfig, day: date) -> tuple[str, datetime] | None:
        """The day's winning salt (earliest ``created_at``, then smallest) and its time."""
        rows = self._store.query(
            "SELECT salt, created_at FROM salts WHERE site = {site:String} AND day = {day:Date} "
            "ORDER BY created_at, salt LIMIT 1",
            {"site": site.domain, "day": day},
        )
        if not rows:
            return None
        salt, created = rows[0]
        return salt, created if created.tzinfo else created.replace(tzinfo=UTC)

    def delete_expired(self, site: SiteConfig, today: date) -> None:
        """Delete the site's salts older than yesterday, synchronously (``mutations_sync=2``)."""
        self._store.command(
            "ALTER TABLE salts DELETE WHERE site = {site:String} AND day < {keep:Date}",
            {"site": site.domain, "keep": today - timedelta(days=KEEP_DAYS - 1)},
            settings={"mutations_sync": 2},
        )
