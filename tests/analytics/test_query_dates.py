"""Date ranges, comparison periods and time labels of the query engine; the SQL binds values."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from analytics.period import Period
from analytics.query.dates import (
    DateRangeError,
    comparison_period,
    resolve_date_range,
    time_bucket,
    time_labels,
)
from analytics.query.parse import Filter, Logic
from analytics.query.sql import Params, filter_sql
from tests.clock import days_ago, today

TODAY = today()


def first_of_month_back(day: dt.date, months: int) -> dt.date:
    first = day.replace(day=1)
    for _ in range(months):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return first


@pytest.mark.parametrize(
    ("name", "start"),
    [
        ("day", TODAY),
        ("7d", days_ago(6)),
        ("28d", days_ago(27)),
        ("30d", days_ago(29)),
        ("91d", days_ago(90)),
        ("month", TODAY.replace(day=1)),
        ("6mo", first_of_month_back(TODAY, 5)),
        ("12mo", first_of_month_back(TODAY, 11)),
        ("year", TODAY.replace(month=1, day=1)),
    ],
)
def test_relative_ranges_end_today(name: str, start: dt.date) -> None:
    period, all_time = resolve_date_range(name, today=TODAY)
    assert (period.start, period.end, all_time) == (start, TODAY, False)


def test_all_and_custom_ranges() -> None:
    period, all_time = resolve_date_range("all", today=TODAY)
    assert all_time and period.end == TODAY
    custom, _ = resolve_date_range([days_ago(9).isoformat(), days_ago(2).isoformat()], today=TODAY)
    assert (custom.start, custom.end, custom.days) == (days_ago(9), days_ago(2), 8)
    for bad in (["x", "y"], [TODAY.isoformat()], "1y", 7, None):
        with pytest.raises(DateRangeError):
            resolve_date_range(bad, today=TODAY)


def test_without_a_date_today_is_the_site_s_today() -> None:
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14 and UTC-11
        before = dt.datetime.now(ZoneInfo(zone)).date()
        period, _ = resolve_date_range("day", tz=zone)
        assert period.end in (before, dt.datetime.now(ZoneInfo(zone)).date())


def test_comparison_periods() -> None:
    period = Period("custom", days_ago(13), days_ago(7), TODAY)
    previous = comparison_period(period, "previous_period")
    assert (previous.start, previous.end) == (days_ago(20), days_ago(14))
    year = comparison_period(period, "year_over_year")

    def year_before(day: dt.date) -> dt.date:
        leap_day = (day.month, day.day) == (2, 29)
        return day.replace(year=day.year - 1, day=28 if leap_day else day.day)

    assert (year.start, year.end) == (year_before(period.start), year_before(period.end))


def test_time_labels_and_default_buckets() -> None:
    period = Period("custom", days_ago(39), TODAY, TODAY)
    days = time_labels("day", period)
    assert len(days) == 40 and days[0] == days_ago(39).isoformat()
    weeks = time_labels("week", period)
    assert weeks[0] == days_ago(39).isoformat()
    assert all(dt.date.fromisoformat(w).weekday() == 0 for w in weeks[1:])
    assert len(weeks) in (6, 7)
    months = time_labels("month", period)
    assert months[0] == days_ago(39).isoformat()
    assert all(m.endswith("-01") for m in months[1:]) and len(months) in (2, 3)
    assert len(time_labels("hour", Period("day", TODAY, TODAY))) == 24
    assert time_bucket("time", Period("day", TODAY, TODAY)) == "hour"
    assert time_bucket("time", period) == "day"
    assert time_bucket("time", Period("x", days_ago(40), TODAY)) == "month"
    assert time_bucket("time:week", period) == "week"


def test_filter_values_are_bound_never_written_into_the_sql() -> None:
    evil = "x'); DROP TABLE events; --"
    params = Params()
    sql = filter_sql(
        Logic(
            "or",
            (
                Filter("is", "event:page", (evil,)),
                Filter("contains_not", "visit:source", (evil,), case_sensitive=False),
                Filter("matches", "event:props:plan", (evil,)),
            ),
        ),
        params,
    )
    assert evil not in sql and "DROP" not in sql
    assert "{p0:Array(String)}" in sql
    assert evil in params.values.values() or [evil] in params.values.values()
    assert "plan" in params.values.values()  # the property name too
