"""The v2 query engine against hand-computed numbers, on the summary's data set.

The data set is test_summary's (its docstring lists every event). Its six visits, by hand:

  visit day key  entry     exit      source    referrer        browser, os, device
  A1    D14 101  /         /blog     Google    google.com      Firefox, Linux, desktop
  A2    D14 101  /pricing  /pricing  Direct    -               Firefox, Linux, desktop
  B     D14 202  /         /         Direct    -               Chrome, Windows, desktop
  C     D15 303  /blog     /blog     Facebook  m.facebook.com  Chrome Mobile, Android, mobile
  E     D15 505  /         /about    Google    google.com      Firefox, Linux, desktop
  A'    D15 111  /         /         Google    google.com      (not set), Linux, desktop

  page views, custom events, duration: A1 2, 0, 150 s; A2 1, 1, 0 s (UTM newsletter, email,
  spring); B 1, 0, 12 s (bounce); C 1, 0, 0 s (bounce); E 3, 2, 1260 s; A' 1, 0, 0 s (bounce).

D (key 404) sent only an engagement event: no visit. Custom events: Signup /pricing
{plan: pro} (A2), Download /about {file: a.pdf} and Signup /about {plan: free} (E).
Engagement: /blog 30 s (A1), / 12 s (B), / 5 s, /about 45 s and 15 s (E).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from analytics.period import Period
from analytics.query import parse_query, run_query
from analytics.schema import EVENT_COLUMNS, MIGRATIONS
from analytics.summary import summarize
from kruimel.base.store import Store
from tests.analytics.test_summary import D13, D14, D15, D16, EVENTS, SITE, ev
from tests.clock import at

TZ = "Europe/Amsterdam"
RANGE = [D13.isoformat(), D16.isoformat()]


@pytest.fixture
def loaded(store: Store) -> Store:
    store.migrate(MIGRATIONS)
    store.insert("events", EVENT_COLUMNS, EVENTS)
    return store


async def ask(store: Store, **query: Any) -> dict[str, Any]:
    body = {"site_id": SITE, "date_range": RANGE} | query
    return await run_query(store, parse_query(body, tz=TZ), site=SITE, tz=TZ)


async def rows(store: Store, **query: Any) -> list[tuple[list[Any], list[Any]]]:
    answer = await ask(store, **query)
    return [(r["dimensions"], r["metrics"]) for r in answer["results"]]


ALL = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration",
       "events"]  # fmt: skip


async def test_every_aggregate_metric(loaded: Store) -> None:
    # visitors 2 + 3; visits 6; page views 4 + 5; 9 / 6 = 1.5; bounces B, C, A' = 50 %;
    # (150 + 0 + 12 + 0 + 1260 + 0) / 6 = 237 s; events 9 page views + 3 custom events.
    assert await rows(loaded, metrics=ALL) == [([], [5, 6, 9, 1.5, 50, 237, 12])]


async def test_summary_and_engine_agree(loaded: Store) -> None:
    """The summary endpoint is not ported onto the engine; both must give the same numbers."""
    summary = await summarize(loaded, SITE, Period("custom", D13, D16))
    totals = summary["totals"]
    (_, metrics), = await rows(loaded, metrics=list(totals))  # fmt: skip
    assert metrics == list(totals.values())
    pages = await rows(loaded, metrics=["visitors", "pageviews"], dimensions=["event:page"])
    assert pages == [([p["path"]], [p["visitors"], p["pageviews"]]) for p in summary["pages"]]
    for key, dimension in [("sources", "visit:source"), ("browsers", "visit:browser"),
                           ("os", "visit:os"), ("devices", "visit:device")]:  # fmt: skip
        got = await rows(loaded, metrics=["visitors", "visits"], dimensions=[dimension])
        name = {"sources": "source", "browsers": "browser", "devices": "device"}.get(key, key)
        assert got == [([e[name]], [e["visitors"], e["visits"]]) for e in summary[key]], key
    # The summary leaves visits without a referrer out of its referrer list.
    referrers = await rows(
        loaded,
        metrics=["visitors", "visits"],
        dimensions=["visit:referrer"],
        filters=[["is_not", "visit:referrer", ["Direct / None"]]],
    )
    assert referrers == [
        ([e["referrer"]], [e["visitors"], e["visits"]]) for e in summary["referrers"]
    ]
    series = await rows(loaded, metrics=["visitors", "pageviews"], dimensions=["time:day"])
    assert series == [
        ([p["date"]], [p["visitors"], p["pageviews"]])
        for p in summary["timeseries"]
        if p["pageviews"]
    ]
    events = await rows(
        loaded,
        metrics=["events", "visitors"],
        dimensions=["event:name"],
        filters=[["is_not", "event:name", ["pageview"]]],
    )
    assert events == [([e["name"]], [e["count"], e["visitors"]]) for e in summary["events"]]


async def test_event_page_dimension_with_time_on_page(loaded: Store) -> None:
    # time on page: engagement on the page / visits that viewed it:
    # / (12 + 5) / 4 visits = 4 s; /blog 30 / 2 = 15 s; /about 60 / 1; /pricing none.
    got = await rows(
        loaded, metrics=["visitors", "pageviews", "events", "time_on_page"],
        dimensions=["event:page"],
    )  # fmt: skip
    assert got == [
        (["/"], [4, 5, 5, 4]),
        (["/blog"], [2, 2, 2, 15]),
        (["/about"], [1, 1, 3, 60]),
        (["/pricing"], [1, 1, 2, 0]),
    ]


async def test_event_name_and_props_dimensions(loaded: Store) -> None:
    names = await rows(loaded, metrics=["visitors", "events"], dimensions=["event:name"])
    assert names == [(["pageview"], [5, 9]), (["Signup"], [2, 2]), (["Download"], [1, 1])]
    plans = await rows(loaded, metrics=["visitors", "events"], dimensions=["event:props:plan"])
    assert plans == [(["(none)"], [5, 10]), (["free"], [1, 1]), (["pro"], [1, 1])]


async def test_visit_dimensions(loaded: Store) -> None:
    metrics = ["visitors", "visits", "bounce_rate", "visit_duration", "percentage"]
    # Google: A1, E, A' (A' bounces; (150 + 1260 + 0) / 3 = 470 s; 3 of 5 visitors);
    # Direct: A2, B (B bounces; 12 / 2 = 6 s); Facebook: C.
    assert await rows(loaded, metrics=metrics, dimensions=["visit:source"]) == [
        (["Google"], [3, 3, 33, 470, 60.0]),
        (["Direct / None"], [2, 2, 50, 6, 40.0]),
        (["Facebook"], [1, 1, 100, 0, 20.0]),
    ]
    two = ["visitors", "visits"]
    assert await rows(loaded, metrics=two, dimensions=["visit:entry_page"]) == [
        (["/"], [4, 4]), (["/blog"], [1, 1]), (["/pricing"], [1, 1])
    ]  # fmt: skip
    assert await rows(loaded, metrics=two, dimensions=["visit:exit_page"]) == [
        (["/"], [2, 2]), (["/blog"], [2, 2]), (["/about"], [1, 1]), (["/pricing"], [1, 1])
    ]  # fmt: skip
    assert await rows(loaded, metrics=two, dimensions=["visit:referrer"]) == [
        (["google.com"], [3, 3]), (["Direct / None"], [2, 2]), (["m.facebook.com"], [1, 1])
    ]  # fmt: skip
    utm = ["visit:utm_medium", "visit:utm_source", "visit:utm_campaign"]
    assert await rows(loaded, metrics=two, dimensions=utm) == [
        (["(not set)", "(not set)", "(not set)"], [5, 5]),
        (["email", "newsletter", "spring"], [1, 1]),
    ]
    assert await rows(loaded, metrics=two, dimensions=["visit:browser"]) == [
        (["Firefox"], [2, 3]), (["(not set)"], [1, 1]), (["Chrome"], [1, 1]),
        (["Chrome Mobile"], [1, 1]),
    ]  # fmt: skip
    assert await rows(loaded, metrics=two, dimensions=["visit:os", "visit:device"]) == [
        (["Linux", "desktop"], [3, 4]), (["Android", "mobile"], [1, 1]),
        (["Windows", "desktop"], [1, 1]),
    ]  # fmt: skip


async def test_time_dimensions(loaded: Store) -> None:
    metrics = ["visitors", "pageviews", "visits"]
    assert await rows(loaded, metrics=metrics, dimensions=["time:day"]) == [
        ([D14.isoformat()], [2, 4, 3]),
        ([D15.isoformat()], [3, 5, 3]),
    ]
    # "time" over four days is by day.
    assert await rows(loaded, metrics=metrics, dimensions=["time"]) == await rows(
        loaded, metrics=metrics, dimensions=["time:day"]
    )
    # Weeks and months start on Monday / the 1st, or on the range's first day.
    for bucket, start in (("week", lambda d: d - dt.timedelta(days=d.weekday())),
                          ("month", lambda d: d.replace(day=1))):  # fmt: skip
        expected: dict[str, list[int]] = {}
        for day, numbers in ((D14, [2, 4, 3]), (D15, [3, 5, 3])):
            label = max(start(day), D13).isoformat()
            old = expected.get(label, [0, 0, 0])
            expected[label] = [a + b for a, b in zip(old, numbers, strict=True)]
        got = await rows(loaded, metrics=metrics, dimensions=[f"time:{bucket}"])
        assert got == [([label], numbers) for label, numbers in sorted(expected.items())], bucket


async def test_hours_are_site_local(loaded: Store) -> None:
    # On D14: A at 10:00-10:37 UTC (3 page views), B at 12:00 UTC (1); C's page view at
    # 23:30 UTC belongs to D15 in Amsterdam and is not in this day.
    def local(hms: str) -> str:
        return at(D14, hms).astimezone(ZoneInfo(TZ)).strftime("%Y-%m-%d %H:00:00")

    answer = await ask(
        loaded,
        metrics=["visitors", "pageviews", "visits"],
        date_range=[D14.isoformat(), D14.isoformat()],
        dimensions=["time"],
        include={"time_labels": True},
    )
    got = [(r["dimensions"], r["metrics"]) for r in answer["results"]]
    assert got == [([local("10:00:00")], [1, 3, 2]), ([local("12:00:00")], [1, 1, 1])]
    assert len(answer["meta"]["time_labels"]) == 24
    assert answer["meta"]["time_labels"][0] == f"{D14.isoformat()} 00:00:00"


F = ["visitors", "visits", "pageviews", "events"]
FILTER_CASES = [
    # visits A1, E, A': 2 + 3 + 1 page views, and E's two custom events
    ([["is", "visit:source", ["Google"]]], [3, 3, 6, 8]),
    # events on /about: E's page view, Download and Signup
    ([["contains", "event:page", ["/ab"]]], [1, 1, 1, 3]),
    # A1's /blog, A2's two on /pricing, C's /blog, E's three on /about
    ([["is_not", "event:page", ["/"]]], [3, 4, 4, 7]),
    ([["contains_not", "visit:browser", ["Chrome"]]], [3, 4, 7, 10]),
    ([["is", "visit:browser", ["firefox"], {"case_sensitive": False}]], [2, 3, 6, 9]),
    ([["contains", "visit:browser", ["MOBILE"], {"case_sensitive": False}]], [1, 1, 1, 1]),
    ([["matches", "event:page", ["^/(blog|about)$"]]], [3, 3, 3, 5]),
    ([["matches_not", "event:page", ["^/"]]], [0, 0, 0, 0]),
    ([["is", "event:props:plan", ["pro"]]], [1, 1, 0, 1]),
    ([["is", "event:props:plan", ["(none)"]]], [5, 6, 9, 10]),
    ([["is", "event:name", ["Signup"]]], [2, 2, 0, 2]),
    ([["is", "visit:entry_page", ["/"]]], [4, 4, 7, 9]),
    ([["is", "visit:exit_page", ["/blog"]]], [2, 2, 3, 3]),
    ([["is", "visit:referrer", ["Direct / None"]]], [2, 2, 2, 3]),
    ([["is", "visit:utm_campaign", ["spring"]]], [1, 1, 1, 2]),
    ([["is", "visit:utm_medium", ["(not set)"]]], [5, 5, 8, 10]),
    ([["is", "visit:utm_source", ["newsletter", "other"]]], [1, 1, 1, 2]),
    ([["is", "visit:os", ["Android"]]], [1, 1, 1, 1]),
    # or: C's page view (Facebook) or A2's two events on /pricing
    ([["or", [["is", "visit:source", ["Facebook"]], ["is", "event:page", ["/pricing"]]]]],
     [2, 2, 2, 3]),
    ([["not", ["is", "visit:device", ["desktop"]]]], [1, 1, 1, 1]),
    # top level is an implicit and: page views of / in Google visits (A1, E twice, A')
    ([["is", "visit:source", ["Google"]], ["is", "event:page", ["/"]]], [3, 3, 4, 4]),
    # custom events in Linux visits: Signup (A2), Download and Signup (E)
    ([["and", [["is", "visit:os", ["Linux"]], ["not", ["is", "event:name", ["pageview"]]]]]],
     [2, 2, 0, 3]),
    # values are data, never SQL
    ([["is", "event:page", ["/' OR 1=1 --"]]], [0, 0, 0, 0]),
]  # fmt: skip


@pytest.mark.parametrize(("filters", "expected"), FILTER_CASES)
async def test_filters(loaded: Store, filters: list[Any], expected: list[int]) -> None:
    assert await rows(loaded, metrics=F, filters=filters) == [([], expected)]


@pytest.mark.parametrize(
    ("dimensions", "filters"),
    [
        ([], []),
        (["visit:source"], []),
        (["time:day", "visit:browser"], [["is_not", "visit:os", ["Windows"]]]),
        (["time:month", "visit:entry_page"], [["contains", "visit:referrer", ["google"]]]),
    ],
)
async def test_visits_alone_answer_as_the_events_do(
    loaded: Store, dimensions: list[str], filters: list[Any]
) -> None:
    """Queries without event dimensions or filters are answered from the visits alone; an
    event filter that every event passes sends them through the events, with equal answers."""
    metrics = [*ALL, "percentage"] if dimensions else ALL
    every_event = [["is_not", "event:page", ["/nowhere"]]]
    fast = await rows(loaded, metrics=metrics, dimensions=dimensions, filters=filters)
    slow = await rows(loaded, metrics=metrics, dimensions=dimensions, filters=filters + every_event)
    assert fast == slow
    assert fast != []


async def test_visit_metrics_of_filtered_visits(loaded: Store) -> None:
    # Visits with an event on /about: only E (3 views, not a bounce, 1260 s).
    got = await rows(
        loaded,
        metrics=["visits", "views_per_visit", "bounce_rate", "visit_duration"],
        filters=[["contains", "event:page", ["/ab"]]],
    )
    assert got == [([], [1, 3.0, 0, 1260])]
    # Visits with a Signup: A2 (1 view) and E (3 views); neither bounces.
    got = await rows(
        loaded,
        metrics=["visits", "views_per_visit", "bounce_rate", "visit_duration"],
        filters=[["is", "event:name", ["Signup"]]],
        dimensions=["visit:source"],
    )
    assert got == [(["Direct / None"], [1, 1.0, 0, 0]), (["Google"], [1, 3.0, 0, 1260])]


async def test_order_by_pagination_and_total_rows(loaded: Store) -> None:
    answer = await ask(
        loaded,
        metrics=["visitors"],
        dimensions=["event:page"],
        include={"total_rows": True},
        pagination={"limit": 2, "offset": 1},
    )
    assert [r["dimensions"] for r in answer["results"]] == [["/blog"], ["/about"]]
    assert answer["meta"] == {"total_rows": 4}
    by_name = await rows(
        loaded, metrics=["visitors"], dimensions=["event:page"], order_by=[["event:page", "asc"]]
    )
    assert [d for d, _ in by_name] == [["/"], ["/about"], ["/blog"], ["/pricing"]]
    fewest = await rows(
        loaded,
        metrics=["visitors", "pageviews"],
        dimensions=["event:page"],
        order_by=[["visitors", "asc"], ["event:page", "desc"]],
    )
    assert [d for d, _ in fewest] == [["/pricing"], ["/about"], ["/blog"], ["/"]]


async def test_query_echo(loaded: Store) -> None:
    answer = await ask(loaded, metrics=["visitors"], dimensions=["time:day"])
    zone = ZoneInfo(TZ)
    assert answer["query"] == {
        "site_id": SITE,
        "metrics": ["visitors"],
        "date_range": [
            dt.datetime.combine(D13, dt.time(0), zone).isoformat(),
            dt.datetime.combine(D16, dt.time(23, 59, 59), zone).isoformat(),
        ],
        "filters": [],
        "dimensions": ["time:day"],
        "order_by": [["time:day", "asc"], ["visitors", "desc"]],
        "include": {},
        "pagination": {"limit": 10000, "offset": 0},
    }


async def test_comparison_previous_period(loaded: Store) -> None:
    answer = await ask(
        loaded,
        metrics=["visitors", "pageviews", "bounce_rate"],
        date_range=[D15.isoformat(), D15.isoformat()],
        include={"comparisons": {"mode": "previous_period"}},
    )
    # D15: 3 visitors, 5 page views, 2 of 3 visits bounce (67 %); D14: 2, 4, 1 of 3 (33 %).
    assert answer["results"] == [
        {
            "dimensions": [],
            "metrics": [3, 5, 67],
            "comparison": {"dimensions": [], "metrics": [2, 4, 33], "change": [50, 25, 34]},
        }
    ]


async def test_comparison_time_series_is_zero_filled(loaded: Store) -> None:
    answer = await ask(
        loaded,
        metrics=["pageviews"],
        date_range=[D15.isoformat(), D16.isoformat()],
        dimensions=["time:day"],
        include={"comparisons": {"mode": "previous_period"}},
    )
    assert answer["results"] == [
        {
            "dimensions": [D15.isoformat()],
            "metrics": [5],
            "comparison": {"dimensions": [D13.isoformat()], "metrics": [0], "change": [100]},
        },
        {
            "dimensions": [D16.isoformat()],
            "metrics": [0],
            "comparison": {"dimensions": [D14.isoformat()], "metrics": [4], "change": [-100]},
        },
    ]


async def test_comparison_year_over_year_by_dimension(loaded: Store) -> None:
    year_ago = D14.replace(year=D14.year - 1) if (D14.month, D14.day) != (2, 29) else None
    if year_ago is None:  # the data set's day is a leap day: compare from the 28th instead
        year_ago = dt.date(D14.year - 1, 2, 28)
    loaded.insert(
        "events",
        EVENT_COLUMNS,
        [ev(year_ago, at(year_ago), 9, source="Google"), ev(year_ago, at(year_ago), 8)],
    )
    answer = await ask(
        loaded,
        metrics=["visitors", "percentage"],
        date_range=[D14.isoformat(), D14.isoformat()],
        dimensions=["visit:source"],
        include={"comparisons": {"mode": "year_over_year"}},
    )
    # D14: Direct 2 of 2 visitors (A2 and B), Google 1 (A1); a year before: 1 and 1 of 2.
    assert answer["results"] == [
        {
            "dimensions": ["Direct / None"],
            "metrics": [2, 100.0],
            "comparison": {"dimensions": ["Direct / None"], "metrics": [1, 50.0],
                           "change": [100, 100]},
        },
        {
            "dimensions": ["Google"],
            "metrics": [1, 50.0],
            "comparison": {"dimensions": ["Google"], "metrics": [1, 50.0], "change": [0, 0]},
        },
    ]  # fmt: skip


async def test_all_time_starts_at_the_first_stored_day(loaded: Store) -> None:
    body = {"site_id": SITE, "metrics": ["pageviews"], "date_range": "all"}
    query = parse_query(body, tz=TZ, today=D16)
    answer = await run_query(loaded, query, site=SITE, tz=TZ)
    assert answer["results"] == [{"metrics": [9], "dimensions": []}]
    assert answer["query"]["date_range"][0].startswith(D14.isoformat())
    # Compared with as many days before the first one (D14 - 3 .. D13): nothing there.
    compared = parse_query(body | {"include": {"comparisons": {"mode": "previous_period"}}},
                           tz=TZ, today=D16)  # fmt: skip
    answer = await run_query(loaded, compared, site=SITE, tz=TZ)
    assert answer["results"][0]["comparison"] == {
        "dimensions": [], "metrics": [0], "change": [100]
    }  # fmt: skip


async def test_relative_ranges_count_from_the_site_s_today(loaded: Store) -> None:
    for name, expected in (("day", 5), ("7d", 9), ("28d", 9), ("30d", 9), ("91d", 9)):
        body = {"site_id": SITE, "metrics": ["pageviews"], "date_range": name}
        answer = await run_query(loaded, parse_query(body, tz=TZ, today=D15), site=SITE, tz=TZ)
        assert answer["results"][0]["metrics"] == [expected], name
    body = {"site_id": SITE, "metrics": ["pageviews"], "date_range": "7d"}
    later = await run_query(
        loaded, parse_query(body, tz=TZ, today=D16 + dt.timedelta(days=6)), site=SITE, tz=TZ
    )
    assert later["results"][0]["metrics"] == [0]


async def test_empty_period_and_empty_breakdown(loaded: Store) -> None:
    far = [(D13 - dt.timedelta(days=40)).isoformat(), (D13 - dt.timedelta(days=30)).isoformat()]
    assert await rows(loaded, metrics=ALL, date_range=far) == [([], [0, 0, 0, 0.0, 0, 0, 0])]
    zero_filled = await ask(
        loaded,
        metrics=["views_per_visit", "visits"],
        date_range=far,
        dimensions=["time:day"],
        include={"comparisons": {"mode": "previous_period"}},
    )
    assert {json.dumps(r["metrics"]) for r in zero_filled["results"]} == {"[0.0, 0]"}
    assert len(zero_filled["results"]) == 11
    assert await rows(loaded, metrics=["visitors"], date_range=far, dimensions=["event:page"]) == []
