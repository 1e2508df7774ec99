"""SQL of the query engine: one statement per aggregation, valid on chDB and on a server.

Values never enter the SQL text: every filter value, property name, date and the timezone
travel as server-side ``{name:Type}`` parameters (:class:`Params`). Identifiers come from
the fixed mappings below, chosen by dimension names that :mod:`.parse` has whitelisted.

Visits are cut exactly as :mod:`analytics.summary` cuts them (one visitor key's events of one
site-local day, split after more than 30 minutes without an event; an engagement event
never starts a visit; a visit without a page view does not count), and every visit
attribute (entry and exit page, source, referrer, UTM tags, browser, os, device) is the one
of its first (or, for the exit page, last) page view. Two aggregations share that base:

* **events** (:func:`event_query`): one row per stored event, each carrying its visit's
  attributes, filtered by the whole filter tree: visitors (distinct site-local day and key),
  visits (distinct visits with a matching event), page views, events (page views and custom
  events) and the engagement time reported on matching pages.
* **visits** (:func:`visit_query`): one row per visit; with filters, the visits that have at
  least one matching event (Plausible's rule): visits, their page views, bounces and
  durations. Grouped by visit and time dimensions only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from string import Template
from typing import Any

from analytics.summary import DIRECT, NOT_SET, VISIT_GAP_SECONDS

from .parse import PROPS_PREFIX, Filter, Logic

__all__ = [
    "NONE",
    "Params",
    "event_query",
    "first_day_query",
    "regex_check_query",
    "visit_only_query",
    "visit_query",
]

# A custom property an event did not send (Plausible's label).
NONE = "(none)"

# The events of the range, numbered into visits, and the visits with their attributes.
# Aliases never repeat a column name: ClickHouse resolves an alias before a column.
_BASE = f"""
WITH
marked AS (
    SELECT day, visitor, ts, name, path, $props duration_ms, source, referrer_host,
           utm_source, utm_medium, utm_campaign, browser, os, device,
           name != 'engagement'
           AND ts - lagInFrame(ts, 1, toDateTime(0, 'UTC')) OVER (
               PARTITION BY day, visitor ORDER BY ts
               ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) > {VISIT_GAP_SECONDS}
           AS starts
    FROM events
    WHERE site = {{site:String}} AND day BETWEEN {{from:Date}} AND {{to:Date}}
),
numbered AS (
    SELECT *, sum(starts) OVER (
        PARTITION BY day, visitor ORDER BY ts
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS visit
    FROM marked
),
visits AS (
    SELECT
        day AS s_day, visitor AS s_visitor, visit AS s_visit,
        countIf(name = 'pageview') AS s_views,
        countIf(name NOT IN ('pageview', 'engagement')) AS s_customs,
        minIf(ts, name = 'pageview') AS s_first,
        maxIf(ts, name = 'pageview') AS s_last,
        argMinIf(path, ts, name = 'pageview') AS v_entry_page,
        argMaxIf(path, ts, name = 'pageview') AS v_exit_page,
        arraySum(arrayFilter(
            (d, t, p) -> t >= s_last AND p = v_exit_page,
            groupArrayIf(duration_ms, name = 'engagement'),
            groupArrayIf(ts, name = 'engagement'),
            groupArrayIf(path, name = 'engagement'))) AS s_engaged_ms,
        argMinIf(source, ts, name = 'pageview') AS s_source_raw,
        argMinIf(referrer_host, ts, name = 'pageview') AS s_referrer_raw,
        argMinIf(utm_source, ts, name = 'pageview') AS s_utm_source_raw,
        argMinIf(utm_medium, ts, name = 'pageview') AS s_utm_medium_raw,
        argMinIf(utm_campaign, ts, name = 'pageview') AS s_utm_campaign_raw,
        argMinIf(browser, ts, name = 'pageview') AS s_browser_raw,
        argMinIf(os, ts, name = 'pageview') AS s_os_raw,
        argMinIf(device, ts, name = 'pageview') AS s_device_raw,
        if(s_source_raw = '', '{DIRECT}', s_source_raw) AS v_source,
        if(s_referrer_raw = '', '{DIRECT}', s_referrer_raw) AS v_referrer,
        if(s_utm_source_raw = '', '{NOT_SET}', s_utm_source_raw) AS v_utm_source,
        if(s_utm_medium_raw = '', '{NOT_SET}', s_utm_medium_raw) AS v_utm_medium,
        if(s_utm_campaign_raw = '', '{NOT_SET}', s_utm_campaign_raw) AS v_utm_campaign,
        if(s_browser_raw = '', '{NOT_SET}', s_browser_raw) AS v_browser,
        if(s_os_raw = '', '{NOT_SET}', s_os_raw) AS v_os,
        if(s_device_raw = '', '{NOT_SET}', s_device_raw) AS v_device
    FROM numbered
    GROUP BY day, visitor, visit
    HAVING s_views > 0
),
ev AS (
    SELECT
        n.day AS e_day, n.visitor AS e_visitor, n.visit AS e_visit, n.ts AS e_ts,
        n.name AS e_name, n.path AS e_path, $e_props n.duration_ms AS e_ms,
        s_first, v_entry_page, v_exit_page, v_source, v_referrer, v_utm_source,
        v_utm_medium, v_utm_campaign, v_browser, v_os, v_device
    FROM numbered AS n
    INNER JOIN visits AS v
        ON n.day = v.s_day AND n.visitor = v.s_visitor AND n.visit = v.s_visit
)
"""

# The column (in both the events and the visits rows) of each visit dimension.
_VISIT_COLUMNS = {
    "visit:entry_page": "v_entry_page",
    "visit:exit_page": "v_exit_page",
    "visit:source": "v_source",
    "visit:referrer": "v_referrer",
    "visit:utm_source": "v_utm_source",
    "visit:utm_medium": "v_utm_medium",
    "visit:utm_campaign": "v_utm_campaign",
    "visit:browser": "v_browser",
    "visit:os": "v_os",
    "visit:device": "v_device",
}
_EVENT_COLUMNS = {"event:page": "e_path", "event:name": "e_name"}


@dataclass
class Params:
    """Server-side query parameters, named ``p0``, ``p1``, ... as they are added."""

    values: dict[str, Any] = field(default_factory=dict)

    def add(self, value: Any, type_: str) -> str:
        """Bind ``value`` and return its placeholder, e.g. ``{p3:String}``."""
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"{{{name}:{type_}}}"


def _base(needs_props: bool) -> str:
    """The shared CTEs; the props map (the widest column) is read only when a query uses it."""
    if needs_props:
        return Template(_BASE).substitute(props="props,", e_props="n.props AS e_props,")
    return Template(_BASE).substitute(props="", e_props="")


def _uses_props(dimensions: tuple[str, ...], filters: tuple[Filter | Logic, ...]) -> bool:
    def walk(node: Filter | Logic) -> bool:
        if isinstance(node, Filter):
            return node.dimension.startswith(PROPS_PREFIX)
        return any(walk(child) for child in node.children)

    return any(d.startswith(PROPS_PREFIX) for d in dimensions) or any(walk(f) for f in filters)


def _time_expr(bucket: str, day: str, ts: str) -> str:
    """A time bucket of the site-local ``day`` (or, for hours, of ``ts`` in the site's zone)."""
    if bucket == "hour":
        # As text: the client would turn a DateTime back into UTC.
        return f"toString(toStartOfHour({ts}, {{tz:String}}))"
    if bucket == "day":
        return day
    if bucket == "week":
        return f"greatest(toMonday({day}), {{from:Date}})"
    return f"greatest(toStartOfMonth({day}), {{from:Date}})"


def _event_dimension(dimension: str, bucket: str | None, params: Params) -> str:
    """The expression of ``dimension`` on a row of ``ev``."""
    if dimension in _VISIT_COLUMNS:
        return _VISIT_COLUMNS[dimension]
    if dimension in _EVENT_COLUMNS:
        return _EVENT_COLUMNS[dimension]
    if dimension.startswith(PROPS_PREFIX):
        key = params.add(dimension[len(PROPS_PREFIX) :], "String")
        return f"if(mapContains(e_props, {key}), e_props[{key}], '{NONE}')"
    assert bucket is not None, dimension
    return _time_expr(bucket, "e_day", "e_ts")


def _visit_dimension(dimension: str, bucket: str | None) -> str:
    """The expression of a visit or time ``dimension`` on a row of ``visits``."""
    if dimension in _VISIT_COLUMNS:
        return _VISIT_COLUMNS[dimension]
    assert bucket is not None, dimension
    return _time_expr(bucket, "s_day", "s_first")


def filter_sql(node: Filter | Logic, params: Params) -> str:
    """The condition of a filter tree on a row of ``ev``; values are bound in ``params``."""
    if isinstance(node, Logic):
        if node.operator == "not":
            return f"NOT ({filter_sql(node.children[0], params)})"
        joiner = " AND " if node.operator == "and" else " OR "
        return "(" + joiner.join(f"({filter_sql(c, params)})" for c in node.children) + ")"
    expr = _event_dimension(node.dimension, None, params)
    negate = node.operator.endswith("_not")
    operator = node.operator.removesuffix("_not")
    if operator == "is":
        if node.case_sensitive:
            condition = f"has({params.add(list(node.clauses), 'Array(String)')}, {expr})"
        else:
            lowered = [c.lower() for c in node.clauses]
            condition = f"has({params.add(lowered, 'Array(String)')}, lowerUTF8({expr}))"
    elif operator == "contains":
        needles = params.add(list(node.clauses), "Array(String)")
        function = "multiSearchAny" if node.case_sensitive else "multiSearchAnyCaseInsensitiveUTF8"
        condition = f"{function}({expr}, {needles})"
    else:  # matches: re2, as Plausible; each pattern is checked before (regex_check_query)
        condition = " OR ".join(f"match({expr}, {params.add(c, 'String')})" for c in node.clauses)
    return f"NOT ({condition})" if negate else f"({condition})"


def _where(filters: tuple[Filter | Logic, ...], params: Params) -> str:
    return " AND ".join(f"({filter_sql(f, params)})" for f in filters) or "1"


def event_query(
    dimensions: tuple[str, ...],
    bucket: str | None,
    filters: tuple[Filter | Logic, ...],
    params: Params,
) -> str:
    """Events metrics per group of ``dimensions``: ``d0..dN`` then visitors, visits,
    pageviews, events, engaged_ms and page_visits (visits that viewed the group's pages)."""
    keys = [f"{_event_dimension(d, bucket, params)} AS d{i}" for i, d in enumerate(dimensions)]
    where = _where(filters, params)
    group = f"GROUP BY {', '.join(f'd{i}' for i in range(len(dimensions)))}" if keys else ""
    # A group of engagement events alone (event:name "engagement") is not reported.
    having = "HAVING m_events > 0" if keys else ""
    return f"""{_base(_uses_props(dimensions, filters))}
SELECT {"".join(k + ", " for k in keys)}
    uniqExactIf((e_day, e_visitor), e_name != 'engagement') AS m_visitors,
    uniqExactIf((e_day, e_visitor, e_visit), e_name != 'engagement') AS m_visits,
    countIf(e_name = 'pageview') AS m_pageviews,
    countIf(e_name != 'engagement') AS m_events,
    sumIf(e_ms, e_name = 'engagement') AS m_engaged_ms,
    uniqExactIf((e_day, e_visitor, e_visit), e_name = 'pageview') AS m_page_visits
FROM ev
WHERE {where}
{group}
{having}
"""


def visit_query(
    dimensions: tuple[str, ...],
    bucket: str | None,
    filters: tuple[Filter | Logic, ...],
    params: Params,
) -> str:
    """Visit metrics per group of (visit and time) ``dimensions``: ``d0..dN`` then visits,
    pageviews in those visits, bounces and the summed duration in milliseconds."""
    keys = [f"{_visit_dimension(d, bucket)} AS d{i}" for i, d in enumerate(dimensions)]
    where = ""
    if filters:
        where = (
            "WHERE (s_day, s_visitor, s_visit) IN (SELECT e_day, e_visitor, e_visit FROM ev "
            f"WHERE e_name != 'engagement' AND {_where(filters, params)})"
        )
    group = f"GROUP BY {', '.join(f'd{i}' for i in range(len(dimensions)))}" if keys else ""
    return f"""{_base(_uses_props(dimensions, filters))}
SELECT {"".join(k + ", " for k in keys)}
    count() AS m_visits,
    sum(s_views) AS m_views,
    countIf(s_views = 1 AND s_customs = 0) AS m_bounces,
    sum(toUInt64(s_last - s_first) * 1000 + s_engaged_ms) AS m_duration_ms
FROM visits
{where}
{group}
"""


def visit_only_query(
    dimensions: tuple[str, ...],
    bucket: str | None,
    filters: tuple[Filter | Logic, ...],
    params: Params,
) -> str:
    """Every metric in one pass over the visits, without going back to the events: exact
    when no dimension or filter is about single events and time is not cut into hours (a
    visit's events then all share its group). Columns: ``d0..dN``, then the events columns
    of :func:`event_query` (time on page 0), then the visits columns of :func:`visit_query`."""
    keys = [f"{_visit_dimension(d, bucket)} AS d{i}" for i, d in enumerate(dimensions)]
    where = f"WHERE {_where(filters, params)}" if filters else ""
    group = f"GROUP BY {', '.join(f'd{i}' for i in range(len(dimensions)))}" if keys else ""
    return f"""{_base(False)}
SELECT {"".join(k + ", " for k in keys)}
    uniqExact((s_day, s_visitor)) AS m_visitors,
    count() AS m_visits,
    sum(s_views) AS m_pageviews,
    sum(s_views + s_customs) AS m_events,
    0 AS m_engaged_ms,
    0 AS m_page_visits,
    count() AS m_visits_again,
    sum(s_views) AS m_views,
    countIf(s_views = 1 AND s_customs = 0) AS m_bounces,
    sum(toUInt64(s_last - s_first) * 1000 + s_engaged_ms) AS m_duration_ms
FROM visits
{where}
{group}
"""


def first_day_query() -> str:
    """The site's first stored day (``date_range: "all"``); 1970-01-01 when it has none."""
    return "SELECT min(day) FROM events WHERE site = {site:String}"


def regex_check_query(patterns: list[str], params: Params) -> str:
    """A statement that fails when one of ``patterns`` is not valid re2."""
    return "SELECT " + ", ".join(f"match('', {params.add(p, 'String')})" for p in patterns)
