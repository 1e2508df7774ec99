"""Run a :class:`~analytics.query.parse.Query` against the store; answer in Plausible's shape.

Metric definitions (the same as :mod:`analytics.summary`'s, so the two agree):

* ``visitors``: daily-unique visitor keys (a key is one person on one site-local day),
  summed over the days, among the events that match the filters;
* ``visits``: visits (see :mod:`analytics.query.sql`) with a matching event;
* ``pageviews`` / ``events``: matching page views / page views and custom events;
* ``views_per_visit`` (2 decimals), ``bounce_rate`` (whole percent of visits with one page
  view and no custom event), ``visit_duration`` (whole seconds: first to last page view plus
  the engagement time reported for the last page), over the matching visits;
* ``percentage``: the row's visitors as a percentage of all matching visitors (1 decimal);
* ``time_on_page``: the engagement time reported on the row's (or filtered) pages, divided
  by the visits that viewed them, in whole seconds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import anyio

from analytics.period import Period
from kruimel.base.store import Store, StoreError

from .dates import comparison_period, time_bucket, time_labels
from .parse import EVENT_DIMENSIONS, PROPS_PREFIX, Filter, Logic, Query, QueryError
from .sql import (
    Params,
    event_query,
    first_day_query,
    regex_check_query,
    visit_only_query,
    visit_query,
)

__all__ = ["run_query"]

_VISIT_METRICS = frozenset({"visits", "views_per_visit", "bounce_rate", "visit_duration"})

Key = tuple[str, ...]


async def run_query(
    store: Store, query: Query, *, site: str, tz: str | dt.tzinfo = "UTC"
) -> dict[str, Any]:
    """Answer ``query`` for ``site`` (the configured domain) in the site's timezone ``tz``.

    :raises QueryError: a ``matches`` pattern is not valid re2.
    :raises kruimel.base.store.StoreError: ClickHouse failed.
    """
    zone = str(tz) if isinstance(tz, ZoneInfo) else tz
    await _check_patterns(store, query.filters)
    period = query.period
    if query.all_time:
        rows = await store.aquery(first_day_query(), {"site": site})
        first = rows[0][0] if rows and rows[0][0] else None
        if isinstance(first, dt.date) and dt.date(1971, 1, 1) < first < period.end:
            period = dataclasses.replace(period, start=first)
        mode = query.comparison_mode
        comparison = comparison_period(period, mode) if mode else None
        query = dataclasses.replace(query, period=period, comparison=comparison)
    bucket = time_bucket(query.time_dimension, period) if query.time_dimension else None
    main = await _rows(store, query, period, bucket, site, str(zone))
    labels = time_labels(bucket, period) if bucket else []
    if query.comparison is not None and query.dimensions == (query.time_dimension,):
        # A time series with comparisons lists every bucket (Plausible does the same).
        present = {key for key, _ in main}
        zeros = [_metric(m, (0,) * 6, (0,) * 4, 0) for m in query.metrics]
        main += [((label,), list(zeros)) for label in labels if (label,) not in present]
    ordered = _order(main, query)
    page = ordered[query.offset : query.offset + query.limit]
    results: list[dict[str, Any]] = [
        {"metrics": metrics, "dimensions": list(key)} for key, metrics in page
    ]
    if query.comparison is not None:
        previous = await _rows(store, query, query.comparison, bucket, site, str(zone))
        shifted = dict(previous)
        other_labels = time_labels(bucket, query.comparison) if bucket else []
        to_other = dict(zip(labels, other_labels, strict=False))
        index = query.dimensions.index(query.time_dimension) if bucket else -1
        for result, (key, metrics) in zip(results, page, strict=True):
            other = list(key)
            if index >= 0:
                other[index] = to_other.get(key[index], "")
            values = shifted.get(
                tuple(other), [_metric(m, (0,) * 6, (0,) * 4, 0) for m in query.metrics]
            )
            result["comparison"] = {
                "dimensions": other,
                "metrics": values,
                "change": [
                    _change(m, old, new)
                    for m, old, new in zip(query.metrics, values, metrics, strict=True)
                ],
            }
    meta: dict[str, Any] = {}
    if query.imports:
        meta["imports_included"] = False
        meta["imports_warning"] = "Kruimel has no imported data."
    if query.time_labels:
        meta["time_labels"] = labels
    if query.total_rows:
        meta["total_rows"] = len(ordered)
    return {"results": results, "meta": meta, "query": _echo(query, period, tz)}


async def _check_patterns(store: Store, filters: Sequence[Filter | Logic]) -> None:
    """Let ClickHouse compile every ``matches`` pattern (re2) and name the first it refuses."""
    patterns: list[str] = []

    def walk(node: Filter | Logic) -> None:
        if isinstance(node, Logic):
            for child in node.children:
                walk(child)
        elif node.operator.startswith("matches"):
            patterns.extend(node.clauses)

    for node in filters:
        walk(node)
    for pattern in dict.fromkeys(patterns):
        params = Params()
        try:
            await store.aquery(regex_check_query([pattern], params), params.values)
        except StoreError:
            raise QueryError(
                f"invalid regular expression {pattern[:100]!r}: filters use re2 syntax "
                "(https://github.com/google/re2/wiki/Syntax)"
            ) from None


async def _rows(
    store: Store, query: Query, period: Period, bucket: str | None, site: str, tz: str
) -> list[tuple[Key, list[Any]]]:
    """Every group of ``query`` over ``period``, with its metric values in query order."""
    base = {"site": site, "from": period.start, "to": period.end, "tz": tz}
    event_dims = any(d in EVENT_DIMENSIONS or d.startswith(PROPS_PREFIX) for d in query.dimensions)
    event_filters = any(
        d in EVENT_DIMENSIONS or d.startswith(PROPS_PREFIX) for d in query.filter_dimensions()
    )
    # Without event dimensions, event filters, hours or time on page, the visits alone
    # answer every metric (a visit's events all fall in its group): one cheaper pass.
    visits_only = not (
        event_dims or event_filters or bucket == "hour" or "time_on_page" in query.metrics
    )
    needs_visits = bool(_VISIT_METRICS.intersection(query.metrics)) and not event_dims
    results: dict[str, list[tuple[Any, ...]]] = {}

    async def fetch(name: str, build: Callable[..., str], dims: tuple[str, ...]) -> None:
        params = Params()
        sql = build(dims, bucket if dims else None, query.filters, params)
        results[name] = await store.aquery(sql, base | params.values)

    async with anyio.create_task_group() as tg:
        if visits_only:
            tg.start_soon(fetch, "both", visit_only_query, query.dimensions)
        else:
            tg.start_soon(fetch, "events", event_query, query.dimensions)
            if needs_visits:
                tg.start_soon(fetch, "visits", visit_query, query.dimensions)
        if "percentage" in query.metrics:
            tg.start_soon(fetch, "total", visit_only_query if visits_only else event_query, ())
    n = len(query.dimensions)
    if visits_only:
        results["events"] = [row[: n + 6] for row in results["both"]]
        results["visits"] = [row[:n] + row[n + 6 :] for row in results["both"]]
    events = {_key(row[:n]): row[n:] for row in results["events"]}
    visits = {_key(row[:n]): row[n:] for row in results.get("visits", [])}
    total_visitors = int(results["total"][0][0]) if "total" in results else 0
    if not query.dimensions:
        keys: list[Key] = [()]
    else:
        keys = list(dict.fromkeys([*events, *visits]))
    out = []
    for key in keys:
        e = events.get(key, (0, 0, 0, 0, 0, 0))
        s = visits.get(key) if needs_visits else None
        out.append((key, [_metric(m, e, s, total_visitors) for m in query.metrics]))
    return out


def _key(values: Sequence[Any]) -> Key:
    """Dimension values as the API writes them: dates ISO; hours arrive as text already."""
    return tuple(v.isoformat() if isinstance(v, dt.date) else str(v) for v in values)


def _metric(
    metric: str, e: Sequence[Any], s: Sequence[Any] | None, total_visitors: int
) -> int | float:
    visitors, e_visits, pageviews, events, engaged_ms, page_visits = (int(x) for x in e)
    visits, views, bounces, duration_ms = (int(x) for x in s) if s is not None else (0, 0, 0, 0)
    if s is None:
        visits = e_visits
    if metric == "visitors":
        return visitors
    if metric == "visits":
        return visits
    if metric == "pageviews":
        return pageviews
    if metric == "events":
        return events
    if metric == "views_per_visit":
        return round(views / visits, 2) if visits else 0.0
    if metric == "bounce_rate":
        return round(100 * bounces / visits) if visits else 0
    if metric == "visit_duration":
        return round(duration_ms / 1000 / visits) if visits else 0
    if metric == "percentage":
        return round(100 * visitors / total_visitors, 1) if total_visitors else 0.0
    # time_on_page
    return round(engaged_ms / 1000 / page_visits) if page_visits else 0


def _order(rows: list[tuple[Key, list[Any]]], query: Query) -> list[tuple[Key, list[Any]]]:
    """Sort by ``order_by`` (stable passes, last key first), ties by the dimensions."""
    ordered = sorted(rows, key=lambda row: row[0])
    for name, direction in reversed(query.order_by):
        is_metric = name in query.metrics
        index = (query.metrics if is_metric else query.dimensions).index(name)

        def key(row: tuple[Key, list[Any]], i: int = index, m: bool = is_metric) -> Any:
            return row[1][i] if m else row[0][i]

        ordered.sort(key=key, reverse=direction == "desc")
    return ordered


def _change(metric: str, old: float, new: float) -> int | float | None:
    """Plausible's change: points for bounce rate, else a whole percent (100 from zero)."""
    if metric == "bounce_rate":
        return new - old if old > 0 else None
    if old == 0:
        return 100 if new > 0 else 0
    return round((new - old) / old * 100)


def _echo(query: Query, period: Period, tz: str | dt.tzinfo) -> dict[str, Any]:
    """The query as run: Plausible's echo, with the resolved date range and defaults."""
    zone = tz if isinstance(tz, dt.tzinfo) else ZoneInfo(tz)
    start = dt.datetime.combine(period.start, dt.time(0, 0), zone)
    end = dt.datetime.combine(period.end, dt.time(23, 59, 59), zone)
    raw = query.raw or {}
    return {
        "site_id": query.site_id,
        "metrics": list(query.metrics),
        "date_range": [start.isoformat(), end.isoformat()],
        "filters": raw.get("filters", []),
        "dimensions": list(query.dimensions),
        "order_by": [list(entry) for entry in query.order_by],
        "include": raw.get("include", {}),
        "pagination": {"limit": query.limit, "offset": query.offset},
    }
