"""The date range a summary covers, in the site's own calendar.

Events carry ``day``, their site-local date, so a period is a pair of site-local dates
(both inclusive); "today" is today in the site's timezone, not on the server's clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import AnalyticsError

__all__ = ["MAX_CUSTOM_DAYS", "PERIODS", "Period", "PeriodError", "PeriodName"]

PeriodName = Literal["day", "7d", "30d", "month", "12mo", "custom"]
PERIODS: tuple[str, ...] = get_args(PeriodName)
# A custom range may span at most this many days (two years and a leap day): longer than the
# retention, so every stored day can be asked for, and a bound on the zero-filled series.
MAX_CUSTOM_DAYS = 732


class PeriodError(AnalyticsError, ValueError):
    """A period parameter is invalid; ``parameter`` names it (``period``, ``from``, ``to``).

    The summary endpoint answers 400 with the message.
    """

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class Period:
    """Site-local dates ``start`` to ``end``, both inclusive; ``name`` is how it was asked.

    ``today`` is the site-local date the period was parsed on (``None`` when built by
    hand): the summary treats the days before it as over.
    """

    name: str
    start: dt.date
    end: dt.date
    today: dt.date | None = None

    @property
    def days(self) -> int:
        """How many days the period covers."""
        return (self.end - self.start).days + 1

    def dates(self) -> list[dt.date]:
        """Every date of the period, in order (the time series is zero-filled over these)."""
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]

    @classmethod
    def parse(
        cls,
        period: str | None,
        from_: str | None = None,
        to: str | None = None,
        *,
        tz: str | dt.tzinfo = "UTC",
        today: dt.date | None = None,
    ) -> Period:
        """Turn the ``period``, ``from`` and ``to`` query parameters into dates.

        ``day`` is today; ``7d`` and ``30d`` are the last 7 or 30 days including today;
        ``month`` is the current calendar month up to today; ``12mo`` is the current month
        and the 11 before it, up to today; ``custom`` is ``from`` to ``to`` (ISO dates,
        inclusive, ``from <= to``, at most :data:`MAX_CUSTOM_DAYS` days). ``period``
        defaults to ``30d``. ``from`` and ``to`` belong to ``custom`` only.

        :param tz: the site's timezone (name or tzinfo), which decides what "today" is.
        :param today: the site-local date to count from (tests); default: now in ``tz``.
        :raises PeriodError: naming the parameter that is wrong.
        """
        name = period or "30d"
        if name not in PERIODS:
            raise PeriodError("period", f"period must be one of {', '.join(PERIODS)}; got {name!r}")
        if today is None:
            today = dt.datetime.now(_zone(tz)).date()
        if name != "custom":
            for param, value in (("from", from_), ("to", to)):
                if value:
                    raise PeriodError(param, f"{param} is only allowed with period=custom")
        if name == "day":
            return cls(name, today, today, today)
        if name == "7d":
            return cls(name, today - dt.timedelta(days=6), today, today)
        if name == "30d":
            return cls(name, today - dt.timedelta(days=29), today, today)
        if name == "month":
            return cls(name, today.replace(day=1), today, today)
        if name == "12mo":
            months = today.year * 12 + today.month - 1 - 11
            return cls(name, dt.date(months // 12, months % 12 + 1, 1), today, today)
        start = _iso_date("from", from_)
        end = _iso_date("to", to)
        if start > end:
            raise PeriodError("from", f"from ({start}) must not be after to ({end})")
        if (end - start).days + 1 > MAX_CUSTOM_DAYS:
            raise PeriodError(
                "to",
                f"to must be less than {MAX_CUSTOM_DAYS} days after from (a custom period "
                f"spans at most {MAX_CUSTOM_DAYS} days); got {start} to {end}",
            )
        return cls(name, start, end, today)


def _iso_date(parameter: str, value: str | None) -> dt.date:
    if not value:
        raise PeriodError(parameter, f"{parameter} is required with period=custom (YYYY-MM-DD)")
    try:
        if len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise PeriodError(
            parameter, f"{parameter} must be a date written YYYY-MM-DD; got {value[:40]!r}"
        ) from None


def _zone(tz: str | dt.tzinfo) -> dt.tzinfo:
    if isinstance(tz, dt.tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown timezone {tz!r}") from e
