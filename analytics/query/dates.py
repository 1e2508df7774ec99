"""Plausible's date ranges and comparison periods, as site-local dates; time buckets.

Events carry their site-local ``day``, so every range is a pair of site-local dates (both
inclusive), as in :mod:`analytics.period`; "today" is today in the site's timezone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from analytics.errors import AnalyticsError
from analytics.period import MAX_CUSTOM_DAYS, Period

__all__ = [
    "COMPARISON_MODES",
    "DATE_RANGES",
    "DateRangeError",
    "comparison_period",
    "resolve_date_range",
    "time_bucket",
    "time_labels",
]

DATE_RANGES = ("day", "7d", "28d", "30d", "91d", "month", "6mo", "12mo", "year", "all")
COMPARISON_MODES = ("previous_period", "year_over_year")
_LAST_DAYS = {"7d": 7, "28d": 28, "30d": 30, "91d": 91}


class DateRangeError(AnalyticsError, ValueError):
    """``date_range`` is invalid; the message says what is accepted."""


def _zone(tz: str | dt.tzinfo) -> dt.tzinfo:
    return tz if isinstance(tz, dt.tzinfo) else ZoneInfo(tz)


def _months_back(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def resolve_date_range(
    value: Any, *, tz: str | dt.tzinfo = "UTC", today: dt.date | None = None
) -> tuple[Period, bool]:
    """Turn a ``date_range`` into a :class:`Period`; the flag is ``True`` for ``"all"``.

    ``day`` is today; ``7d``/``28d``/``30d``/``91d`` end today; ``month`` and ``year`` run
    from their first day to today; ``6mo`` and ``12mo`` start on the first of the month 5
    or 11 months back; ``all`` starts at the site's first stored day (set by the runner;
    until then, today); ``["YYYY-MM-DD", "YYYY-MM-DD"]`` is a custom range.

    :raises DateRangeError: naming what is accepted.
    """
    if today is None:
        today = dt.datetime.now(_zone(tz)).date()
    if isinstance(value, str):
        if value == "day":
            return Period(value, today, today, today), False
        if value in _LAST_DAYS:
            start = today - dt.timedelta(days=_LAST_DAYS[value] - 1)
            return Period(value, start, today, today), False
        if value == "month":
            return Period(value, today.replace(day=1), today, today), False
        if value == "6mo":
            return Period(value, _months_back(today, 5), today, today), False
        if value == "12mo":
            return Period(value, _months_back(today, 11), today, today), False
        if value == "year":
            return Period(value, today.replace(month=1, day=1), today, today), False
        if value == "all":
            return Period(value, today, today, today), True
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        start, end = (_iso_date(v) for v in value)
        if start > end:
            raise DateRangeError(f"date_range: {start} is after {end}")
        if (end - start).days + 1 > MAX_CUSTOM_DAYS:
            raise DateRangeError(f"date_range: a custom range spans at most {MAX_CUSTOM_DAYS} days")
        return Period("custom", start, end, today), False
    if value is None:
        raise DateRangeError(
            "date_range is required: one of " + ", ".join(DATE_RANGES) + ", or [from, to]"
        )
    raise DateRangeError(
        f'date_range must be one of {", ".join(DATE_RANGES)}, or ["YYYY-MM-DD", '
        f'"YYYY-MM-DD"]; got {str(value)[:60]}'
    )


def _iso_date(value: str) -> dt.date:
    if len(value) != 10:
        raise DateRangeError(
            f"date_range: {value[:40]!r} is not a date; Kruimel counts whole site-local days, "
            "write YYYY-MM-DD (date-time ranges are not supported)"
        )
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DateRangeError(f"date_range: {value!r} is not a date written YYYY-MM-DD") from None


def comparison_period(period: Period, mode: str) -> Period:
    """The period compared with ``period``: the same number of days just before it
    (``previous_period``), or the same dates a year earlier (``year_over_year``; 29 February
    becomes the 28th)."""
    if mode == "previous_period":
        end = period.start - dt.timedelta(days=1)
        return Period(mode, end - dt.timedelta(days=period.days - 1), end, period.today)

    def year_before(day: dt.date) -> dt.date:
        if day.month == 2 and day.day == 29:
            return dt.date(day.year - 1, 2, 28)
        return day.replace(year=day.year - 1)

    return Period(mode, year_before(period.start), year_before(period.end), period.today)


def time_bucket(dimension: str, period: Period) -> str:
    """The bucket of a time dimension: ``time`` picks hours for one day, days up to 40
    days, months beyond (as Plausible's default interval)."""
    if dimension != "time":
        return dimension.removeprefix("time:")
    if period.days <= 1:
        return "hour"
    return "day" if period.days <= 40 else "month"


def time_labels(bucket: str, period: Period) -> list[str]:
    """Every label of ``bucket`` in ``period``, in order (weeks and months that begin
    before the period are labelled with its first day, as Plausible does)."""
    dates = period.dates()
    if bucket == "hour":
        return [f"{d.isoformat()} {h:02d}:00:00" for d in dates for h in range(24)]
    if bucket == "day":
        return [d.isoformat() for d in dates]
    if bucket == "week":
        return [d.isoformat() for d in dates if d == period.start or d.weekday() == 0]
    return [d.isoformat() for d in dates if d == period.start or d.day == 1]
