"""Every summary number against hand-computed expectations, on a small, tricky data set.

The data set (site example.nl, Europe/Amsterdam; other.example, America/New_York), with
``day`` the site-local date the collector computes and ``ts`` in UTC:

D14 (example.nl)
  A (key 101, Firefox/Linux/desktop)
    visit 1: pageview / 10:00 from google.com (Google); pageview /blog 10:02;
             engagement /blog 10:05 30 s                     -> 2 views, 120 s + 30 s = 150 s
    visit 2: pageview /pricing 10:36 (31 min after 10:05), UTM newsletter/email/spring;
             custom Signup 10:37 {plan: pro}                 -> 1 view + custom: no bounce, 0 s
  B (key 202, Chrome/Windows/desktop): pageview / 12:00; engagement / 12:00:20 12 s
                                                             -> bounce, 12 s
D15 (example.nl)
  C (key 303, Chrome Mobile/Android/mobile): pageview /blog at D14 23:30 UTC, which
    is already D15 in Amsterdam, from m.facebook.com (Facebook)    -> bounce, 0 s
  D (key 404): only an engagement event                      -> no visit, no visitor
  E (key 505, Firefox/Linux/desktop): pageview / 09:00 from google.com; pageview / 09:10;
    engagement / 09:19 5 s (not the last page); pageview /about 09:20; engagement /about
    09:21 45 s and 09:25 15 s; custom Download 09:22, Signup 09:23
                                                             -> 3 views, 1200 s + 60 s = 1260 s
  A again (new daily key 111, browser unknown, Linux/desktop): pageview / 08:00 from google.com
                                                             -> bounce, 0 s
other.example, D14 (New York): key 901, pageview /x at D15 03:00 UTC (D14 evening local)
Bots: example.nl 5 on D14, 2 on D15, 50 on D13 - 3 days (outside); other.example 100 on D14.

Period D13..D16 for example.nl:
  visitors 2 + 3 = 5; pageviews 4 + 5 = 9; visits 6; views per visit 9 / 6 = 1.5;
  bounces B, C, A' = 3 of 6 = 50 %; duration (150 + 0 + 12 + 0 + 1260 + 0) / 6 = 237 s.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from analytics.period import Period
from analytics.schema import EVENT_COLUMNS, FILTERED_COLUMNS, MIGRATIONS
from analytics.summary import DIRECT, NOT_SET, summarize
from kruimel.base.store import Store
from tests.clock import at, days_ago

SITE = "example.nl"
OTHER = "other.example"
# Four consecutive days three weeks back: inside every TTL, whatever the date today.
D13, D14, D15, D16 = (days_ago(20 - i) for i in range(4))
PERIOD = Period("custom", D13, D16)
FAR_FUTURE = days_ago(-3650)
FAR_PAST = days_ago(3650)


def ev(
    day: dt.date,
    ts: str | dt.datetime,
    visitor: int,
    name: str = "pageview",
    path: str = "/",
    *,
    site: str = SITE,
    referrer: str = "",
    source: str = DIRECT,
    utm: tuple[str, str, str] = ("", "", ""),
    browser: str = "Firefox",
    os: str = "Linux",
    device: str = "desktop",
    duration_ms: int = 0,
    props: dict[str, str] | None = None,
) -> tuple[Any, ...]:
    """A stored event row in EVENT_COLUMNS order; ``ts`` is UTC ('YYYY-MM-DD HH:MM:SS' or aware)."""
    stamp = (
        ts if isinstance(ts, dt.datetime) else dt.datetime.fromisoformat(ts).replace(tzinfo=dt.UTC)
    )
    return (
        site, stamp, day, name, visitor, path, referrer, source, *utm,
        browser, os, device, duration_ms, props or {},
    )  # fmt: skip


GOOGLE = {"referrer": "google.com", "source": "Google"}

EVENTS = [
    # D14: A, visit 1
    ev(D14, at(D14, "10:00:00"), 101, **GOOGLE),
    ev(D14, at(D14, "10:02:00"), 101, path="/blog"),
    ev(D14, at(D14, "10:05:00"), 101, "engagement", "/blog", duration_ms=30_000),
    # A, visit 2: 31 minutes after the engagement event
    ev(D14, at(D14, "10:36:00"), 101, path="/pricing", utm=("newsletter", "email", "spring")),
    ev(D14, at(D14, "10:37:00"), 101, "Signup", "/pricing", props={"plan": "pro"}),
    # B: a bounce with engagement
    ev(D14, at(D14, "12:00:00"), 202, browser="Chrome", os="Windows"),
    ev(D14, at(D14, "12:00:20"), 202, "engagement", browser="Chrome", os="Windows",
       duration_ms=12_000),
    # D15 in Amsterdam, still D14 in UTC
    ev(D15, at(D14, "23:30:00"), 303, path="/blog", referrer="m.facebook.com",
       source="Facebook", browser="Chrome Mobile", os="Android", device="mobile"),
    # D: an engagement event without a page view that day
    ev(D15, at(D14, "23:05:00"), 404, "engagement", "/blog", duration_ms=9_000),
    # E
    ev(D15, at(D15, "09:00:00"), 505, **GOOGLE),
    ev(D15, at(D15, "09:10:00"), 505),
    ev(D15, at(D15, "09:19:00"), 505, "engagement", duration_ms=5_000),
    ev(D15, at(D15, "09:20:00"), 505, path="/about"),
    ev(D15, at(D15, "09:21:00"), 505, "engagement", "/about", duration_ms=45_000),
    ev(D15, at(D15, "09:22:00"), 505, "Download", "/about", props={"file": "a.pdf"}),
    ev(D15, at(D15, "09:23:00"), 505, "Signup", "/about", props={"plan": "free"}),
    ev(D15, at(D15, "09:25:00"), 505, "engagement", "/about", duration_ms=15_000),
    # A on the next day has a new key
    ev(D15, at(D15, "08:00:00"), 111, browser="", **GOOGLE),
    # the other site, whose D14 ends at 04:00 UTC on the 15th
    ev(D14, at(D15, "03:00:00"), 901, path="/x", site=OTHER),
]  # fmt: skip

FILTERED = [
    (SITE, D14, "crawler", 5),
    (SITE, D15, "headless", 2),
    (SITE, D13 - dt.timedelta(days=3), "crawler", 50),
    (OTHER, D14, "crawler", 100),
    # Objections honoured: counted apart from bots.
    (SITE, D14, "signal:gpc", 3),
    (SITE, D15, "signal:optout", 1),
    (SITE, D15, "signal:gpc", 1),
    (OTHER, D15, "signal:dnt", 9),
]

EXPECTED: dict[str, Any] = {
    "site": SITE,
    "period": {"from": D13.isoformat(), "to": D16.isoformat()},
    "totals": {
        "visitors": 5,
        "visits": 6,
        "pageviews": 9,
        "views_per_visit": 1.5,
        "bounce_rate": 50,
        "visit_duration": 237,
    },
    "timeseries": [
        {"date": D13.isoformat(), "visitors": 0, "pageviews": 0},
        {"date": D14.isoformat(), "visitors": 2, "pageviews": 4},
        {"date": D15.isoformat(), "visitors": 3, "pageviews": 5},
        {"date": D16.isoformat(), "visitors": 0, "pageviews": 0},
    ],
    "pages": [
        {"path": "/", "visitors": 4, "pageviews": 5},
        {"path": "/blog", "visitors": 2, "pageviews": 2},
        {"path": "/about", "visitors": 1, "pageviews": 1},
        {"path": "/pricing", "visitors": 1, "pageviews": 1},
    ],
    "sources": [
        {"source": "Google", "visitors": 3, "visits": 3},
        {"source": DIRECT, "visitors": 2, "visits": 2},
        {"source": "Facebook", "visitors": 1, "visits": 1},
    ],
    "referrers": [
        {"referrer": "google.com", "visitors": 3, "visits": 3},
        {"referrer": "m.facebook.com", "visitors": 1, "visits": 1},
    ],
    "utm": [
        {"source": "newsletter", "medium": "email", "campaign": "spring", "visitors": 1,
         "visits": 1},
    ],
    "browsers": [
        {"browser": "Firefox", "visitors": 2, "visits": 3},
        {"browser": NOT_SET, "visitors": 1, "visits": 1},
        {"browser": "Chrome", "visitors": 1, "visits": 1},
        {"browser": "Chrome Mobile", "visitors": 1, "visits": 1},
    ],
    "os": [
        {"os": "Linux", "visitors": 3, "visits": 4},
        {"os": "Android", "visitors": 1, "visits": 1},
        {"os": "Windows", "visitors": 1, "visits": 1},
    ],
    "devices": [
        {"device": "desktop", "visitors": 4, "visits": 5},
        {"device": "mobile", "visitors": 1, "visits": 1},
    ],
    "events": [
        {"name": "Signup", "count": 2, "visitors": 2, "props": [
            {"key": "plan", "value": "free", "count": 1},
            {"key": "plan", "value": "pro", "count": 1},
        ]},
        {"name": "Download", "count": 1, "visitors": 1, "props": [
            {"key": "file", "value": "a.pdf", "count": 1},
        ]},
    ],
    "filtered_bots": 7,
    "objections": {"gpc": 4, "dnt": 0, "optout": 1},
}  # fmt: skip


@pytest.fixture
def loaded(store: Store) -> Store:
    store.migrate(MIGRATIONS)
    # two batches, so that the rollup sees more than one insert
    store.insert("events", EVENT_COLUMNS, EVENTS[:9])
    store.insert("events", EVENT_COLUMNS, EVENTS[9:])
    store.insert("filtered", FILTERED_COLUMNS, FILTERED)
    return store


async def test_summary_every_metric_matches_hand_computed(loaded: Store) -> None:
    assert await summarize(loaded, SITE, PERIOD) == EXPECTED


@pytest.mark.parametrize("closed_before", [FAR_PAST, D15, FAR_FUTURE])
async def test_summary_same_from_raw_events_and_visit_rollup(
    loaded: Store, closed_before: dt.date
) -> None:
    # FAR_PAST: every day read raw; D15: D14 rolled up, D15 raw; FAR_FUTURE: all rolled.
    assert await summarize(loaded, SITE, PERIOD, closed_before=closed_before) == EXPECTED
    rolled = loaded.query("SELECT DISTINCT day FROM visits_daily ORDER BY day")
    expected_days = {FAR_PAST: [], D15: [(D14,)], FAR_FUTURE: [(D14,), (D15,)]}
    assert rolled == expected_days[closed_before]


async def test_summary_late_events_roll_the_day_up_again(loaded: Store) -> None:
    await summarize(loaded, SITE, PERIOD, closed_before=FAR_FUTURE)
    loaded.insert("events", EVENT_COLUMNS, [ev(D14, at(D14, "18:00:00"), 777, path="/late")])
    again = await summarize(loaded, SITE, PERIOD, closed_before=FAR_FUTURE)
    assert again["totals"]["visits"] == 7
    assert again["totals"]["visitors"] == 6
    assert again["totals"]["bounce_rate"] == round(100 * 4 / 7)
    assert {"source": DIRECT, "visitors": 3, "visits": 3} in again["sources"]


async def test_summary_uses_site_local_day_not_utc_date(loaded: Store) -> None:
    # C's page view happened on D14 in UTC but on the 15th in Amsterdam.
    only_15th = await summarize(loaded, SITE, Period("custom", D15, D15))
    assert {"path": "/blog", "visitors": 1, "pageviews": 1} in only_15th["pages"]
    assert only_15th["totals"]["pageviews"] == 5
    # other.example's event at 03:00 UTC on the 15th is its 14th (New York).
    other = await summarize(loaded, OTHER, Period("custom", D14, D14))
    assert other["totals"] == {
        "visitors": 1,
        "visits": 1,
        "pageviews": 1,
        "views_per_visit": 1.0,
        "bounce_rate": 100,
        "visit_duration": 0,
    }
    assert other["pages"] == [{"path": "/x", "visitors": 1, "pageviews": 1}]
    assert other["filtered_bots"] == 100


async def test_summary_limit_cuts_every_list_after_sorting(loaded: Store) -> None:
    one = await summarize(loaded, SITE, PERIOD, limit=1)
    assert one["pages"] == EXPECTED["pages"][:1]
    for key in ("sources", "referrers", "utm", "browsers", "os", "devices"):
        assert one[key] == EXPECTED[key][:1], key
    signup = EXPECTED["events"][0]
    assert one["events"] == [signup | {"props": signup["props"][:1]}]
    assert one["totals"] == EXPECTED["totals"]
    assert len(one["timeseries"]) == 4


async def test_summary_limit_below_one_is_refused(loaded: Store) -> None:
    with pytest.raises(ValueError, match="limit"):
        await summarize(loaded, SITE, PERIOD, limit=0)


async def test_summary_empty_period_is_zero_filled(loaded: Store) -> None:
    empty = await summarize(loaded, SITE, Period("custom", D13 - dt.timedelta(days=40), D13))
    assert empty["totals"] == {
        "visitors": 0,
        "visits": 0,
        "pageviews": 0,
        "views_per_visit": 0.0,
        "bounce_rate": 0,
        "visit_duration": 0,
    }
    assert len(empty["timeseries"]) == 41
    assert all(p["visitors"] == p["pageviews"] == 0 for p in empty["timeseries"])
    assert empty["pages"] == empty["sources"] == empty["events"] == []
    assert empty["filtered_bots"] == 50


@pytest.mark.parametrize(("gap_seconds", "visits"), [(1800, 1), (1801, 2)])
async def test_summary_visit_splits_after_more_than_30_minutes(
    store: Store, gap_seconds: int, visits: int
) -> None:
    store.migrate(MIGRATIONS)
    second = dt.datetime.combine(D14, dt.time(10, 0)) + dt.timedelta(seconds=gap_seconds)
    store.insert(
        "events",
        EVENT_COLUMNS,
        [ev(D14, at(D14, "10:00:00"), 1), ev(D14, second.isoformat(sep=" "), 1, path="/b")],
    )
    summary = await summarize(store, SITE, Period("custom", D14, D14))
    assert summary["totals"]["visits"] == visits
    assert summary["totals"]["visitors"] == 1
    assert summary["totals"]["bounce_rate"] == (0 if visits == 1 else 100)
    assert summary["totals"]["visit_duration"] == (gap_seconds if visits == 1 else 0)


async def test_summary_ties_sort_by_name(store: Store) -> None:
    store.migrate(MIGRATIONS)
    rows = [ev(D14, at(D14, f"1{i}:00:00"), 10 + i, path=p) for i, p in enumerate("cab")]
    store.insert("events", EVENT_COLUMNS, rows)
    summary = await summarize(store, SITE, Period("custom", D14, D14))
    assert [p["path"] for p in summary["pages"]] == ["a", "b", "c"]


def test_rollup_view_matches_raw_counts_with_a_retried_batch(loaded: Store) -> None:
    batch = [ev(D16, at(D16, f"0{i}:00:00"), 60 + i % 3, path=f"/{i % 2}") for i in range(9)]
    for _ in range(2):  # a retry of the same batch is deduplicated, in the rollup too
        loaded.insert("events", EVENT_COLUMNS, batch, dedup_token="batch-16")
    raw = loaded.query(
        "SELECT site, day, path, count(), uniqExact(visitor) FROM events "
        "WHERE name = 'pageview' GROUP BY site, day, path ORDER BY site, day, path"
    )
    rollup = loaded.query(
        "SELECT site, day, path, sum(pageviews), uniqMerge(visitors) FROM pages_daily "
        "GROUP BY site, day, path ORDER BY site, day, path"
    )
    assert rollup == raw
    assert (SITE, D16, "/0", 5, 3) in rollup


async def test_summary_days_before_the_site_s_today_are_rolled_up(loaded: Store) -> None:
    period = Period.parse(
        "custom", D13.isoformat(), D16.isoformat(), tz="Europe/Amsterdam", today=D15
    )
    assert period.today == D15
    assert await summarize(loaded, SITE, period) == EXPECTED
    assert loaded.query("SELECT DISTINCT day FROM visits_daily ORDER BY day") == [(D14,)]
