"""Validate a Stats API v2 query (Plausible's request shape) into a typed :class:`Query`.

Every refusal is a :class:`QueryError` whose message names the offending metric, dimension,
filter or key and says what is accepted instead; the endpoint answers it with a 400.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from analytics.errors import AnalyticsError
from analytics.period import Period

from .dates import COMPARISON_MODES, DateRangeError, comparison_period, resolve_date_range

__all__ = [
    "EVENT_DIMENSIONS",
    "MAX_LIMIT",
    "METRICS",
    "SESSION_METRICS",
    "TIME_DIMENSIONS",
    "VISIT_DIMENSIONS",
    "Filter",
    "Logic",
    "Query",
    "QueryError",
    "parse_query",
]

METRICS = (
    "visitors",
    "visits",
    "pageviews",
    "views_per_visit",
    "bounce_rate",
    "visit_duration",
    "events",
    "percentage",
    "time_on_page",
)
# Metrics of a whole visit: meaningless per page or per event name (Plausible refuses the mix).
SESSION_METRICS = frozenset({"views_per_visit", "bounce_rate", "visit_duration"})
_UNSUPPORTED_METRICS = {
    "conversion_rate": "goals are not configurable yet",
    "group_conversion_rate": "goals are not configurable yet",
    "scroll_depth": "the tracker does not report scroll depth",
    "average_revenue": "revenue goals are not supported",
    "total_revenue": "revenue goals are not supported",
}
EVENT_DIMENSIONS = frozenset({"event:page", "event:name"})
VISIT_DIMENSIONS = frozenset(
    {
        "visit:entry_page",
        "visit:exit_page",
        "visit:source",
        "visit:referrer",
        "visit:utm_medium",
        "visit:utm_source",
        "visit:utm_campaign",
        "visit:browser",
        "visit:os",
        "visit:device",
    }
)
TIME_DIMENSIONS = frozenset({"time", "time:hour", "time:day", "time:week", "time:month"})
PROPS_PREFIX = "event:props:"
_UNSUPPORTED_DIMENSIONS = {
    "visit:utm_content": "Kruimel stores utm_source, utm_medium and utm_campaign only",
    "visit:utm_term": "Kruimel stores utm_source, utm_medium and utm_campaign only",
    "event:goal": "goals are not configurable yet",
    "event:hostname": "events do not store the hostname (one site per domain)",
    "visit:entry_page_hostname": "events do not store the hostname (one site per domain)",
    "visit:exit_page_hostname": "events do not store the hostname (one site per domain)",
    "visit:channel": "acquisition channels are not derived",
    "visit:screen": "the screen size is not stored",
    "visit:browser_version": "browser versions are not stored",
    "visit:os_version": "operating system versions are not stored",
    "visit:country": "countries are not stored yet",
    "visit:region": "regions are not stored",
    "visit:city": "cities are not stored",
    "visit:country_name": "countries are not stored yet",
    "visit:region_name": "regions are not stored",
    "visit:city_name": "cities are not stored",
}
OPERATORS = frozenset({"is", "is_not", "contains", "contains_not", "matches", "matches_not"})
_CASE_OPERATORS = frozenset({"is", "is_not", "contains", "contains_not"})
_KEYS = frozenset(
    {"site_id", "metrics", "date_range", "dimensions", "filters", "order_by", "include",
     "pagination"}
)  # fmt: skip
_INCLUDE_KEYS = frozenset({"imports", "time_labels", "total_rows", "comparisons"})
MAX_LIMIT = 10_000
_MAX_CLAUSES = 100
_MAX_DEPTH = 8
_MAX_FILTERS = 100
_MAX_PROP = 300


class QueryError(AnalyticsError, ValueError):
    """The query is invalid; the message says which part and what is accepted."""


@dataclass(frozen=True)
class Filter:
    """``[operator, dimension, clauses, {case_sensitive}]``: a row matches if any clause does."""

    operator: str
    dimension: str
    clauses: tuple[str, ...]
    case_sensitive: bool = True


@dataclass(frozen=True)
class Logic:
    """``["and" | "or", [filters...]]`` or ``["not", filter]``."""

    operator: Literal["and", "or", "not"]
    children: tuple[Filter | Logic, ...]


@dataclass(frozen=True)
class Query:
    """A validated query. ``period`` holds site-local dates (both inclusive).

    ``all_time`` marks ``date_range: "all"``: the runner moves ``period.start`` to the site's
    first stored day. ``raw`` is the request as sent, echoed in the response.
    """

    site_id: str
    metrics: tuple[str, ...]
    period: Period
    dimensions: tuple[str, ...]
    filters: tuple[Filter | Logic, ...]
    order_by: tuple[tuple[str, str], ...]
    limit: int
    offset: int
    time_labels: bool = False
    total_rows: bool = False
    imports: bool = False
    comparison_mode: str | None = None
    comparison: Period | None = None
    all_time: bool = False
    raw: dict[str, Any] | None = None

    @property
    def time_dimension(self) -> str | None:
        """The time dimension asked for, if any (at most one is allowed)."""
        return next((d for d in self.dimensions if d in TIME_DIMENSIONS), None)

    def filter_dimensions(self) -> set[str]:
        """Every dimension named in the filters."""
        found: set[str] = set()

        def walk(node: Filter | Logic) -> None:
            if isinstance(node, Filter):
                found.add(node.dimension)
            else:
                for child in node.children:
                    walk(child)

        for node in self.filters:
            walk(node)
        return found


def parse_query(
    body: Any,
    *,
    tz: str | dt.tzinfo = "UTC",
    today: dt.date | None = None,
) -> Query:
    """Check ``body`` (the decoded JSON of a request) and build a :class:`Query`.

    :param tz: the site's timezone: relative date ranges count from today there.
    :param today: the site-local date to count from (tests); default: now in ``tz``.
    :raises QueryError: naming what is wrong.
    """
    if not isinstance(body, dict):
        raise QueryError("the query must be a JSON object")
    unknown = sorted(set(body) - _KEYS)
    if unknown:
        raise QueryError(f"unknown key {unknown[0]!r}; a query has {', '.join(sorted(_KEYS))}")
    site_id = body.get("site_id")
    if not isinstance(site_id, str) or not site_id.strip():
        raise QueryError('site_id is required: the site\'s configured domain, e.g. "example.nl"')
    metrics = _metrics(body.get("metrics"))
    try:
        period, all_time = resolve_date_range(body.get("date_range"), tz=tz, today=today)
    except DateRangeError as e:
        raise QueryError(str(e)) from None
    dimensions = _dimensions(body.get("dimensions", []))
    filters = tuple(_filter(f, 0) for f in _list(body.get("filters", []), "filters"))
    if _count(filters) > _MAX_FILTERS:
        raise QueryError(f"at most {_MAX_FILTERS} filters (counting the nested ones)")
    include = body.get("include", {})
    if not isinstance(include, dict):
        raise QueryError("include must be an object")
    bad = sorted(set(include) - _INCLUDE_KEYS)
    if bad:
        raise QueryError(
            f"include.{bad[0]} is not supported; include accepts {', '.join(sorted(_INCLUDE_KEYS))}"
        )
    flags = {key: include.get(key, False) for key in ("imports", "time_labels", "total_rows")}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise QueryError(f"include.{key} must be true or false")
    mode, comparison = _comparison(include.get("comparisons"), period)
    limit, offset = _pagination(body.get("pagination", {}))
    query = Query(
        site_id=site_id.strip(),
        metrics=metrics,
        period=period,
        dimensions=dimensions,
        filters=filters,
        order_by=_order_by(body.get("order_by"), metrics, dimensions),
        limit=limit,
        offset=offset,
        time_labels=flags["time_labels"],
        total_rows=flags["total_rows"],
        imports=flags["imports"],
        comparison_mode=mode,
        comparison=comparison,
        all_time=all_time,
        raw=body,
    )
    _check_combinations(query)
    return query


def _list(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise QueryError(f"{key} must be a list")
    return value


def _metrics(value: Any) -> tuple[str, ...]:
    if value is None:
        raise QueryError('metrics is required, e.g. ["visitors", "pageviews"]')
    items = _list(value, "metrics")
    if not items:
        raise QueryError("metrics must name at least one metric")
    seen: list[str] = []
    for metric in items:
        if not isinstance(metric, str):
            raise QueryError(f"metrics must be strings, got {metric!r}")
        if metric in _UNSUPPORTED_METRICS:
            raise QueryError(f"metric {metric!r} is not supported: {_UNSUPPORTED_METRICS[metric]}")
        if metric not in METRICS:
            raise QueryError(f"unknown metric {metric[:60]!r}; supported: {', '.join(METRICS)}")
        if metric in seen:
            raise QueryError(f"metric {metric!r} is listed twice")
        seen.append(metric)
    return tuple(seen)


def _dimension(value: Any, *, where: str) -> str:
    if not isinstance(value, str):
        raise QueryError(f"{where}: a dimension must be a string, got {value!r}")
    if value.startswith(PROPS_PREFIX):
        name = value[len(PROPS_PREFIX) :]
        if not name or len(name) > _MAX_PROP:
            raise QueryError(f"{where}: {value[:60]!r} needs a property name (event:props:NAME)")
        return value
    if value in EVENT_DIMENSIONS or value in VISIT_DIMENSIONS or value in TIME_DIMENSIONS:
        return value
    if value in _UNSUPPORTED_DIMENSIONS:
        raise QueryError(
            f"{where}: dimension {value!r} is not supported: {_UNSUPPORTED_DIMENSIONS[value]}"
        )
    supported = sorted(EVENT_DIMENSIONS | VISIT_DIMENSIONS | TIME_DIMENSIONS)
    raise QueryError(
        f"{where}: unknown dimension {value[:60]!r}; supported: {', '.join(supported)}, "
        "event:props:NAME"
    )


def _dimensions(value: Any) -> tuple[str, ...]:
    found: list[str] = []
    for item in _list(value, "dimensions"):
        dimension = _dimension(item, where="dimensions")
        if dimension in found:
            raise QueryError(f"dimensions: {dimension!r} is listed twice")
        found.append(dimension)
    if sum(d in TIME_DIMENSIONS for d in found) > 1:
        raise QueryError("dimensions: at most one time dimension (time, time:hour, ...)")
    return tuple(found)


def _filter(value: Any, depth: int) -> Filter | Logic:
    if depth > _MAX_DEPTH:
        raise QueryError(f"filters are nested more than {_MAX_DEPTH} levels deep")
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        raise QueryError(
            'each filter is [operator, dimension, [values]] or ["and"|"or", [filters]] '
            f'or ["not", filter]; got {str(value)[:80]}'
        )
    operator = value[0]
    if operator in ("and", "or"):
        if len(value) != 2 or not isinstance(value[1], list) or not value[1]:
            raise QueryError(f"[{operator!r}, [filters]] needs a non-empty list of filters")
        children = tuple(_filter(child, depth + 1) for child in value[1])
        return Logic(operator, children)  # type: ignore[arg-type]
    if operator == "not":
        if len(value) != 2:
            raise QueryError('["not", filter] takes exactly one filter')
        return Logic("not", (_filter(value[1], depth + 1),))
    if operator in ("has_done", "has_not_done"):
        raise QueryError(f"filter operator {operator!r} (behavioural filters) is not supported")
    if operator not in OPERATORS:
        raise QueryError(
            f"unknown filter operator {operator[:40]!r}; supported: "
            f"{', '.join(sorted(OPERATORS))}, and, or, not"
        )
    if len(value) not in (3, 4):
        raise QueryError(f"a {operator!r} filter is [operator, dimension, [values]]")
    if value[1] == "segment":
        raise QueryError("filtering by segment is not supported (Kruimel has no saved segments)")
    dimension = _dimension(value[1], where="filters")
    if dimension in TIME_DIMENSIONS:
        raise QueryError(f"filters: {dimension!r} cannot be filtered on; set date_range instead")
    clauses = value[2]
    if not isinstance(clauses, list) or not clauses:
        raise QueryError(f"filter on {dimension!r}: the values must be a non-empty list")
    if len(clauses) > _MAX_CLAUSES:
        raise QueryError(f"filter on {dimension!r}: at most {_MAX_CLAUSES} values")
    if not all(isinstance(c, str) for c in clauses):
        raise QueryError(f"filter on {dimension!r}: every value must be a string")
    case_sensitive = True
    if len(value) == 4:
        modifiers = value[3]
        if not isinstance(modifiers, dict) or set(modifiers) - {"case_sensitive"}:
            raise QueryError(f'filter on {dimension!r}: modifiers are {{"case_sensitive": bool}}')
        flag = modifiers.get("case_sensitive", True)
        if not isinstance(flag, bool):
            raise QueryError(f"filter on {dimension!r}: case_sensitive must be true or false")
        if not flag and operator not in _CASE_OPERATORS:
            raise QueryError(
                f"case_sensitive: false applies to is, is_not, contains and contains_not, "
                f"not {operator!r} (write (?i) in the pattern)"
            )
        case_sensitive = flag
    return Filter(operator, dimension, tuple(clauses), case_sensitive)


def _count(nodes: tuple[Filter | Logic, ...]) -> int:
    return sum(1 if isinstance(n, Filter) else 1 + _count(n.children) for n in nodes)


def _order_by(
    value: Any, metrics: tuple[str, ...], dimensions: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    if value is None:
        default: list[tuple[str, str]] = []
        time = next((d for d in dimensions if d in TIME_DIMENSIONS), None)
        if time:
            default.append((time, "asc"))
        default.append((metrics[0], "desc"))
        return tuple(default)
    entries = []
    for entry in _list(value, "order_by"):
        if (
            not isinstance(entry, list)
            or len(entry) != 2
            or not all(isinstance(part, str) for part in entry)
        ):
            raise QueryError('each order_by entry is [metric_or_dimension, "asc"|"desc"]')
        key, direction = entry
        if key not in metrics and key not in dimensions:
            raise QueryError(
                f"order_by: {key[:60]!r} must be one of the query's metrics or dimensions"
            )
        if direction not in ("asc", "desc"):
            raise QueryError(f'order_by: direction must be "asc" or "desc", not {direction!r}')
        entries.append((key, direction))
    return tuple(entries)


def _pagination(value: Any) -> tuple[int, int]:
    if not isinstance(value, dict) or set(value) - {"limit", "offset"}:
        raise QueryError('pagination is {"limit": N, "offset": N}')
    limit = value.get("limit", MAX_LIMIT)
    offset = value.get("offset", 0)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"pagination.limit must be a whole number from 1 to {MAX_LIMIT}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise QueryError("pagination.offset must be a whole number, 0 or more")
    return limit, offset


def _comparison(value: Any, period: Period) -> tuple[str | None, Period | None]:
    if value is None or value is False:
        return None, None
    if not isinstance(value, dict) or "mode" not in value:
        raise QueryError(
            'include.comparisons is {"mode": "previous_period"} or {"mode": "year_over_year"}'
        )
    mode = value["mode"]
    if set(value) - {"mode"}:
        extra = sorted(set(value) - {"mode"})[0]
        raise QueryError(f'include.comparisons.{extra[:40]} is not supported; give only "mode"')
    if mode not in COMPARISON_MODES:
        raise QueryError(
            f"include.comparisons.mode must be one of {', '.join(COMPARISON_MODES)}; "
            f"got {str(mode)[:40]!r} (custom comparison ranges are not supported)"
        )
    return mode, comparison_period(period, mode)


def _check_combinations(query: Query) -> None:
    event_dims = [
        d for d in query.dimensions if d in EVENT_DIMENSIONS or d.startswith(PROPS_PREFIX)
    ]
    mixed = SESSION_METRICS.intersection(query.metrics)
    if event_dims and mixed:
        raise QueryError(
            f"metric {sorted(mixed)[0]!r} describes whole visits and cannot be broken down by "
            f"the event dimension {event_dims[0]!r}"
        )
    if "percentage" in query.metrics and not query.dimensions:
        raise QueryError("metric 'percentage' needs at least one dimension")
    if "time_on_page" in query.metrics and (
        "event:page" not in query.dimensions and "event:page" not in query.filter_dimensions()
    ):
        raise QueryError("metric 'time_on_page' needs an event:page filter or dimension")
    if query.time_labels and query.time_dimension is None:
        raise QueryError("include.time_labels needs a time dimension")
