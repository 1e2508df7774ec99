"""The one source of "now" for tests: today's real date, never a literal calendar date.

ClickHouse applies a table's TTL when it writes a part, so a row already expired at INSERT is
never visible: a test that writes a fixed date into a table with a TTL (salts 48 h, consent log
13 months, events 25 months) turns red once the calendar passes it. Every clock that reaches the
store is anchored here instead.

``KRUIMEL_TEST_DAY_OFFSET`` moves the anchor by whole days. ``tests/test_calendar.py`` reruns the
date-sensitive suites with the anchor 400 and 800 days ahead, which proves that no test depends on
the day it happens to run.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta

OFFSET_ENV = "KRUIMEL_TEST_DAY_OFFSET"


def offset_days() -> int:
    """Days the test calendar runs ahead of the real one (0 unless the environment says so)."""
    raw = os.environ.get(OFFSET_ENV, "0")
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{OFFSET_ENV} must be a whole number of days, got {raw!r}") from None


def today() -> date:
    """Today's UTC date, moved by the offset."""
    return datetime.now(UTC).date() + timedelta(days=offset_days())


def days_ago(n: int) -> date:
    """The date ``n`` days before :func:`today` (negative ``n`` is in the future)."""
    return today() - timedelta(days=n)


def at(day: date, hms: str = "12:00:00") -> datetime:
    """``day`` at the wall-clock time ``hms`` in UTC, as an aware datetime."""
    return datetime.combine(day, time.fromisoformat(hms), tzinfo=UTC)


def noon() -> datetime:
    """Today at 12:00 UTC: the default instant of the injected clocks (13:00 or 14:00 in
    Amsterdam, the same day in every zone the tests use)."""
    return at(today())
