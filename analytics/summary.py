"""The numbers behind ``GET /api/summary`` and ``kruimel summary``: one site, one period.

Definitions (what each number means, honestly):

* **visitors** is *daily-unique*: visitor keys rotate every site-local day (the salt is
  thrown away), so one person on two days counts as two visitors. Over a period it is the
  sum of each day's unique visitor keys, in the totals and in every list. Counted exactly,
  except the pages' visitors on days still open (today), which come from ClickHouse
  ``uniq`` states (exact up to tens of thousands of keys per day and page, within about
  1 % beyond).
* **pageviews** counts ``pageview`` events.
* **visits** are sessions: one visitor key's events of one day, split where more than 30
  minutes pass without an event. An ``engagement`` event keeps a visit alive but never
  starts one; a visit without a page view is not counted.
* **bounce_rate** is Plausible's: the percentage of visits with exactly one page view and no
  custom event, rounded to a whole percent.
* **visit_duration** is the mean, in whole seconds, of: the time from a visit's first to its
  last page view, plus the engagement time the tracker reported for the last page (the
  ``duration_ms`` of the engagement events after the last page view, on its path). A bounce
  without an engagement event lasts 0 seconds.
* **views_per_visit** is page views in visits / visits, to 2 decimals.
* **sources**, **referrers** and **utm** describe how a visit *entered*: the source,
  referrer host and UTM tags of its first page view (:data:`DIRECT` when it had none).
  **browsers**, **os** and **devices** are those of a visit's first page view. Each of
  these lists counts visitors and visits; **pages** counts visitors and page views;
  **events** counts custom events and the visitors who sent them, each with its most
  frequent property values (``props``: key, value, count).
* **filtered_bots** is how many requests were recognised as bots and not counted.
* **objections** counts the page events not stored because the visitor objected: ``gpc``
  (``Sec-GPC: 1``), ``dnt`` (``DNT: 1``, when the site honours it) and ``optout`` (the
  ``kruimel_optout`` cookie). Honouring them is thereby logged, as aggregates only.

Lists are sorted by their first count, descending (pages by page views, events by count,
the others by visitors), then by name, and cut at ``limit``. The time series has every day
of the period, zero-filled.

Where the numbers come from: page views per day (and the pages of open days) from the
``pages_daily`` rollup (a materialised view); visitors per day with the visits. A visit is
a property of a *sequence* of events, which no materialised view can cut, so visits and
everything counted per visit are computed from the raw events for days that are still open
and, once a day is over, rolled up into ``visits_daily`` (:func:`roll_up`, with the day's
pages) the first time a summary needs that day: in practice only today is read raw. A
closed day is rolled up again when late events (a journal replayed after an outage) change
its page-view count.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from string import Template
from typing import Any

import anyio

from kruimel.base.store import Store

from .period import Period

__all__ = ["DIRECT", "NOT_SET", "VISIT_GAP_SECONDS", "roll_up", "summarize"]

VISIT_GAP_SECONDS = 30 * 60
DIRECT = "Direct / None"
NOT_SET = "(not set)"

# The lists read from visits_daily / the visit query, and the key names of their entries.
_DIMS: dict[str, tuple[str, ...]] = {
    "sources": ("source",),
    "referrers": ("referrer",),
    "utm": ("source", "medium", "campaign"),
    "browsers": ("browser",),
    "os": ("os",),
    "devices": ("device",),
}


def _sql(text: str) -> str:
    """Fill the fixed parts of a query; values always travel as ``{name:Type}`` parameters."""
    values = {"site": "site = {site:String}", "gap": VISIT_GAP_SECONDS}
    visits = Template(_VISITS_PER_DAY).substitute(values)
    return Template(text).substitute(values, visits=visits)


# One row per day and dimension value (dim: 'total' or a list name; k1..k3 its key), for
# the days {days:Array(Date)} between {from:Date} and {to:Date}. A visit starts at a page
# view or custom event more than $gap seconds after the key's previous event that day; the
# running sum of starts numbers the visits. The window matches the table order (site, day,
# visitor, ts). Each visit is then fanned out to one row per list (ARRAY JOIN) and grouped
# (GROUPING SETS gave the same result but cost ~50 ms of query analysis on every call).
# Keys are stored as they are ('' included); _label names and filters them when read.
# Aliases differ from column names: ClickHouse resolves an alias before a column.
_VISITS_PER_DAY = """
    WITH visits AS (
        SELECT
            day, visitor, visit,
            countIf(name = 'pageview') AS v_views,
            countIf(name NOT IN ('pageview', 'engagement')) AS v_customs,
            minIf(ts, name = 'pageview') AS v_first,
            maxIf(ts, name = 'pageview') AS v_last,
            argMaxIf(path, ts, name = 'pageview') AS v_last_path,
            arraySum(arrayFilter(
                (d, t, p) -> t >= v_last AND p = v_last_path,
                groupArrayIf(duration_ms, name = 'engagement'),
                groupArrayIf(ts, name = 'engagement'),
                groupArrayIf(path, name = 'engagement'))) AS v_last_engaged_ms,
            argMinIf(source, ts, name = 'pageview') AS v_source,
            argMinIf(referrer_host, ts, name = 'pageview') AS v_referrer,
            argMinIf(utm_source, ts, name = 'pageview') AS v_utm_source,
            argMinIf(utm_medium, ts, name = 'pageview') AS v_utm_medium,
            argMinIf(utm_campaign, ts, name = 'pageview') AS v_utm_campaign,
            argMinIf(browser, ts, name = 'pageview') AS v_browser,
            argMinIf(os, ts, name = 'pageview') AS v_os,
            argMinIf(device, ts, name = 'pageview') AS v_device
        FROM (
            SELECT *, sum(starts) OVER (
                PARTITION BY site, day, visitor ORDER BY ts
                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS visit
            FROM (
                SELECT site, day, visitor, ts, name, path, duration_ms, source,
                       referrer_host, utm_source, utm_medium, utm_campaign, browser, os, device,
                       name != 'engagement'
                       AND ts - lagInFrame(ts, 1, toDateTime(0, 'UTC')) OVER (
                           PARTITION BY site, day, visitor ORDER BY ts
                           ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) > $gap
                       AS starts
                FROM events
                WHERE $site AND day BETWEEN {from:Date} AND {to:Date}
                    AND has({days:Array(Date)}, day)
            )
        )
        GROUP BY day, visitor, visit
        HAVING v_views > 0
    )
    SELECT
        day, fan.1 AS dim, fan.2 AS k1, fan.3 AS k2, fan.4 AS k3,
        uniqExact(visitor) AS visitors,
        count() AS visits,
        sum(v_views) AS pageviews,
        countIf(v_views = 1 AND v_customs = 0) AS bounces,
        sum(toUInt64(v_last - v_first) * 1000 + v_last_engaged_ms) AS duration_ms
    FROM visits
    ARRAY JOIN [
        ('total', '', '', ''),
        ('sources', v_source, '', ''),
        ('referrers', v_referrer, '', ''),
        ('utm', v_utm_source, v_utm_medium, v_utm_campaign),
        ('browsers', v_browser, '', ''),
        ('os', v_os, '', ''),
        ('devices', v_device, '', '')
    ] AS fan
    GROUP BY day, dim, k1, k2, k3
"""

# A closed day's visits per list entry, and its pages (dim 'pages', k1 the path: exact
# visitors and page views, cheaper to read than merging uniq states of every day).
_ROLL_UP = _sql("""
INSERT INTO visits_daily (site, day, dim, k1, k2, k3, visitors, visits, pageviews, bounces,
                          duration_ms, rolled_at)
SELECT {site:String}, day, dim, k1, k2, k3, visitors, visits, pageviews, bounces, duration_ms,
       now64(3)
FROM ($visits)
UNION ALL
SELECT {site:String}, day, 'pages', path, '', '', uniqExact(visitor), 0, count(), 0, 0, now64(3)
FROM events
WHERE $site AND day BETWEEN {from:Date} AND {to:Date} AND has({days:Array(Date)}, day)
    AND name = 'pageview'
GROUP BY day, path
""")

# Visit counts per list entry: closed days from visits_daily, open days from the raw events
# (per day). Merged, labelled, sorted and cut in Python: a UNION ALL and an outer GROUP BY
# cost ~25 ms of query analysis per call, more than the merge of a few hundred rows, and
# the open-day query is skipped when the period has none.
_VISITS_ROLLED = _sql("""
SELECT dim, k1, k2, k3, sum(visitors), sum(visits), sum(pageviews), sum(bounces),
       sum(duration_ms)
FROM visits_daily FINAL
WHERE $site AND day BETWEEN {start:Date} AND {rolled_end:Date} AND dim != 'pages'
GROUP BY dim, k1, k2, k3
""")

_VISITS_OPEN = _sql("$visits")

_ROLLED_DAYS = _sql("""
SELECT day, pageviews, visitors FROM visits_daily FINAL
WHERE $site AND day BETWEEN {start:Date} AND {rolled_end:Date} AND dim = 'total'
""")

# Page views per day; visitors per day come with the visits (exact, and no uniq states to
# merge, which was the bulk of this query's cost).
_DAYS = _sql("""
SELECT day, sum(pageviews) AS views
FROM pages_daily WHERE $site AND day BETWEEN {start:Date} AND {end:Date}
GROUP BY day
""")

# Pages: closed days from their roll-up, open days from pages_daily (a uniq state per day
# and path; visitors of a period are the sum of each day's).
_PAGES = _sql("""
SELECT path, sum(pv) AS views, sum(v) AS uniques
FROM (
    SELECT k1 AS path, pageviews AS pv, visitors AS v
    FROM visits_daily FINAL
    WHERE $site AND day BETWEEN {start:Date} AND {rolled_end:Date} AND dim = 'pages'
    UNION ALL
    SELECT path, sum(pageviews) AS pv, uniqMerge(visitors) AS v
    FROM pages_daily WHERE $site AND day BETWEEN {open_start:Date} AND {end:Date}
    GROUP BY day, path
)
GROUP BY path
ORDER BY views DESC, path
LIMIT {limit:UInt32}
""")

_EVENTS = _sql("""
SELECT name, sum(c) AS n, sum(u) AS uniques
FROM (
    SELECT day, name, count() AS c, uniqExact(visitor) AS u
    FROM events
    WHERE $site AND day BETWEEN {start:Date} AND {end:Date}
        AND name NOT IN ('pageview', 'engagement')
    GROUP BY day, name
)
GROUP BY name
ORDER BY n DESC, name
LIMIT {limit:UInt32}
""")

# The property values sent with custom events, per event name.
_PROPS = _sql("""
SELECT name, key, value, count() AS n
FROM events
ARRAY JOIN mapKeys(props) AS key, mapValues(props) AS value
WHERE $site AND day BETWEEN {start:Date} AND {end:Date}
    AND name NOT IN ('pageview', 'engagement')
GROUP BY name, key, value
ORDER BY name, n DESC, key, value
LIMIT {limit:UInt32} BY name
""")

# Bots, and the objections honoured (GPC, DNT, the opt-out cookie), from one table of counts.
_FILTERED = _sql(
    "SELECT sumIf(count, NOT startsWith(reason, 'signal:')), "
    "sumIf(count, reason = 'signal:gpc'), sumIf(count, reason = 'signal:dnt'), "
    "sumIf(count, reason = 'signal:optout') "
    "FROM filtered WHERE $site AND day BETWEEN {start:Date} AND {end:Date}"
)


def _closed_before() -> dt.date:
    # Without the site's today: day d is over in every timezone (UTC-12 to UTC+14) once
    # the UTC date is d + 2.
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


async def roll_up(store: Store, site: str, days: Sequence[dt.date]) -> None:
    """Compute the visits of ``site`` on each of ``days`` (closed days) into ``visits_daily``.

    :func:`summarize` calls this for the closed days it needs; a collector may call it after
    midnight to keep the first summary of a day fast. Rolling a day up again replaces it.
    """
    if not days:
        return
    await store.acommand(_ROLL_UP, _visit_params(site, days))


def _params(site: str, period: Period, limit: int, closed_before: dt.date | None) -> dict[str, Any]:
    """The query parameters of a summary: days up to ``rolled_end`` are closed."""
    closed = closed_before or period.today or _closed_before()
    rolled_end = min(period.end, closed - dt.timedelta(days=1))
    return {
        "site": site,
        "start": period.start,
        "end": period.end,
        "rolled_end": rolled_end,
        "open_start": max(period.start, rolled_end + dt.timedelta(days=1)),
        "limit": limit,
    }


def _visit_params(site: str, days: Sequence[dt.date]) -> dict[str, Any]:
    return {
        "site": site,
        "days": list(days),
        "from": min(days, default=dt.date(1970, 1, 1)),
        "to": max(days, default=dt.date(1970, 1, 1)),
    }


async def summarize(
    store: Store,
    site: str,
    period: Period,
    *,
    limit: int = 10,
    timings: dict[str, float] | None = None,
    closed_before: dt.date | None = None,
) -> dict[str, Any]:
    """Summarise ``site`` over ``period``; the module docstring defines every number.

    Independent queries are started together. Closed days whose visits are not rolled up
    yet (or changed since) are rolled up first (:func:`roll_up`).

    :param site: the site's configured domain (events carry it in ``site``).
    :param limit: how many rows each list keeps (at least 1).
    :param timings: if given, receives each query's wall time in seconds (benchmarks).
    :param closed_before: days before this date are over and read from ``visits_daily``;
        default: ``period.today`` (the site-local today the period was parsed on), else
        yesterday in UTC (when every timezone has finished the day before it).
    :raises ValueError: ``limit`` is below 1.
    :raises kruimel.base.store.StoreError: ClickHouse failed.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    params = _params(site, period, limit, closed_before)
    rolled_end: dt.date = params["rolled_end"]
    rows: dict[str, list[tuple[Any, ...]]] = {}

    async def run(key: str, sql: str, extra: dict[str, Any] | None = None) -> None:
        began = time.perf_counter()
        rows[key] = await store.aquery(sql, params | (extra or {}))
        if timings is not None:
            timings[key] = time.perf_counter() - began

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "days", _DAYS)
        tg.start_soon(run, "rolled_days", _ROLLED_DAYS)
    views_by_day = {day: int(views) for day, views in rows["days"]}
    rolled = {day: int(views) for day, views, _ in rows["rolled_days"]}
    stale = [d for d, v in sorted(views_by_day.items()) if d <= rolled_end and rolled.get(d) != v]
    if stale:
        began = time.perf_counter()
        await roll_up(store, site, stale)
        if timings is not None:
            timings["roll_up"] = time.perf_counter() - began
        await run("rolled_days", _ROLLED_DAYS)
    open_days = [d for d in sorted(views_by_day) if d > rolled_end]
    rows["visits_open"] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "visits_rolled", _VISITS_ROLLED)
        if open_days:
            tg.start_soon(run, "visits_open", _VISITS_OPEN, _visit_params(site, open_days))
        tg.start_soon(run, "pages", _PAGES)
        tg.start_soon(run, "events", _EVENTS)
        tg.start_soon(run, "props", _PROPS)
        tg.start_soon(run, "filtered", _FILTERED)
    return _assemble(site, period, rows, limit)


def _label(dim: str, k1: str, k2: str, k3: str) -> tuple[str, str, str, str] | None:
    """The list entry a stored key belongs to; ``None`` for "no referrer" and "no UTM tags"."""
    if dim == "sources" and not k1:
        return (dim, DIRECT, "", "")
    if dim in ("browsers", "os", "devices") and not k1:
        return (dim, NOT_SET, "", "")
    if (dim == "referrers" and not k1) or (dim == "utm" and not (k1 or k2 or k3)):
        return None
    return (dim, k1, k2, k3)


def _assemble(
    site: str, period: Period, rows: dict[str, list[tuple[Any, ...]]], limit: int
) -> dict[str, Any]:
    views_by_day = {day: int(views) for day, views in rows["days"]}
    # Daily-unique visitors: closed days from their roll-up, open days from today's visits.
    visitors_by_day = {day: int(u) for day, _, u in rows["rolled_days"]}
    visitors_by_day |= {row[0]: int(row[5]) for row in rows["visits_open"] if row[1] == "total"}
    # (dim, k1, k2, k3) -> [visitors, visits, pageviews, bounces, duration_ms], summed over
    # the closed and the open days (visitors are per day, so they add up too).
    counts: dict[tuple[str, str, str, str], list[int]] = {}
    open_rows = [row[1:] for row in rows["visits_open"]]  # without the day
    for dim, k1, k2, k3, *numbers in rows["visits_rolled"] + open_rows:
        key = _label(dim, k1, k2, k3)
        if key is None:
            continue
        sums = counts.setdefault(key, [0, 0, 0, 0, 0])
        for i, n in enumerate(numbers):
            sums[i] += int(n)
    _, visits, views, bounces, duration_ms = counts.pop(("total", "", "", ""), [0, 0, 0, 0, 0])
    lists: dict[str, list[dict[str, Any]]] = {name: [] for name in _DIMS}
    # Python orders str by code point, which for UTF-8 is ClickHouse's byte order.
    for (dim, *keys), (n_visitors, n_visits, *_) in sorted(
        counts.items(), key=lambda item: (-item[1][0], item[0][1:])
    ):
        if dim in lists and len(lists[dim]) < limit:
            named: dict[str, Any] = dict(zip(_DIMS[dim], keys, strict=False))
            lists[dim].append(named | {"visitors": n_visitors, "visits": n_visits})
    totals = {
        "visitors": sum(visitors_by_day.values()),
        "visits": visits,
        "pageviews": sum(views_by_day.values()),
        "views_per_visit": round(views / visits, 2) if visits else 0.0,
        "bounce_rate": round(100 * bounces / visits) if visits else 0,
        "visit_duration": round(duration_ms / 1000 / visits) if visits else 0,
    }
    props: dict[str, list[dict[str, Any]]] = {}
    for name, key, value, n in rows["props"]:
        props.setdefault(name, []).append({"key": key, "value": value, "count": int(n)})
    bots, gpc, dnt, optout = rows["filtered"][0] if rows["filtered"] else (0, 0, 0, 0)
    return {
        "site": site,
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "totals": totals,
        "timeseries": [
            {
                "date": d.isoformat(),
                "visitors": visitors_by_day.get(d, 0),
                "pageviews": views_by_day.get(d, 0),
            }
            for d in period.dates()
        ],
        "pages": [
            {"path": path, "visitors": int(u), "pageviews": int(v)} for path, v, u in rows["pages"]
        ],
        **lists,
        "events": [
            {"name": name, "count": int(n), "visitors": int(u), "props": props.get(name, [])}
            for name, n, u in rows["events"]
        ],
        "filtered_bots": int(bots or 0),
        "objections": {"gpc": int(gpc or 0), "dnt": int(dnt or 0), "optout": int(optout or 0)},
    }
