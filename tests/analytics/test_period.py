from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from analytics.period import MAX_CUSTOM_DAYS, PERIODS, Period, PeriodError

TODAY = dt.date(2026, 3, 15)


@pytest.mark.parametrize(
    ("name", "today", "start", "end"),
    [
        ("day", TODAY, TODAY, TODAY),
        ("7d", TODAY, dt.date(2026, 3, 9), TODAY),
        ("30d", TODAY, dt.date(2026, 2, 14), TODAY),
        ("month", TODAY, dt.date(2026, 3, 1), TODAY),
        ("12mo", TODAY, dt.date(2025, 4, 1), TODAY),
        ("12mo", dt.date(2026, 1, 10), dt.date(2025, 2, 1), dt.date(2026, 1, 10)),
        ("12mo", dt.date(2026, 12, 31), dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
        ("month", dt.date(2024, 2, 29), dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
    ],
)
def test_period_relative_to_today(name: str, today: dt.date, start: dt.date, end: dt.date) -> None:
    period = Period.parse(name, None, None, tz="Europe/Amsterdam", today=today)
    assert (period.name, period.start, period.end) == (name, start, end)
    assert period.dates()[0] == start and period.dates()[-1] == end
    assert period.days == len(period.dates())


def test_period_default_is_30d() -> None:
    assert Period.parse(None, today=TODAY) == Period.parse("30d", today=TODAY)
    assert Period.parse("", today=TODAY).name == "30d"


def test_period_custom_inclusive_range() -> None:
    period = Period.parse("custom", "2026-02-27", "2026-03-02", today=TODAY)
    assert [d.isoformat() for d in period.dates()] == [
        "2026-02-27",
        "2026-02-28",
        "2026-03-01",
        "2026-03-02",
    ]
    assert Period.parse("custom", "2026-03-02", "2026-03-02", today=TODAY).days == 1


def test_period_custom_longest_span_is_allowed() -> None:
    start = dt.date(2024, 1, 1)
    end = start + dt.timedelta(days=MAX_CUSTOM_DAYS - 1)
    assert Period.parse("custom", start.isoformat(), end.isoformat()).days == MAX_CUSTOM_DAYS


def test_period_today_follows_the_site_timezone() -> None:
    # UTC+14 and UTC-11 are 25 hours apart: at any instant their dates differ.
    east = Period.parse("day", tz="Pacific/Kiritimati")
    west = Period.parse("day", tz=ZoneInfo("Pacific/Pago_Pago"))
    assert east.start > west.start


@pytest.mark.parametrize(
    ("period", "from_", "to", "parameter"),
    [
        ("week", None, None, "period"),
        ("DAY", None, None, "period"),
        ("custom", None, "2026-03-01", "from"),
        ("custom", "2026-03-01", None, "to"),
        ("custom", "2026-3-1", "2026-03-02", "from"),
        ("custom", "2026-03-01", "tomorrow", "to"),
        ("custom", "2026-02-30", "2026-03-02", "from"),
        ("custom", "2026-03-01T00:00", "2026-03-02", "from"),
        ("custom", "2026-03-02", "2026-03-01", "from"),
        ("custom", "2020-01-01", "2026-03-01", "to"),
        ("7d", "2026-03-01", None, "from"),
        ("month", None, "2026-03-01", "to"),
    ],
)
def test_period_invalid_names_the_parameter(
    period: str, from_: str | None, to: str | None, parameter: str
) -> None:
    with pytest.raises(PeriodError) as caught:
        Period.parse(period, from_, to, today=TODAY)
    assert caught.value.parameter == parameter
    assert str(caught.value).startswith(parameter)


def test_period_names_are_the_issue_s() -> None:
    assert PERIODS == ("day", "7d", "30d", "month", "12mo", "custom")


def test_period_unknown_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        Period.parse("day", tz="Mars/Olympus")


def test_period_error_is_an_analytics_error() -> None:
    from analytics.errors import AnalyticsError

    with pytest.raises(AnalyticsError):
        Period.parse("week")
