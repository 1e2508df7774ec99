"""``POST /api/v2/query``: Plausible's documented example queries run unchanged; auth; 400s."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from analytics import AnalyticsConfig, SiteConfig
from analytics.query import make_query_endpoint
from analytics.schema import EVENT_COLUMNS, MIGRATIONS
from analytics.summary import DIRECT
from kruimel.base.store import Store
from tests.clock import at, days_ago, noon

TOKEN = "query-token-for-tests"
SITE = "dummy.site"  # the site of Plausible's examples
Y, Z, OLD = days_ago(1), days_ago(2), days_ago(10)


def row(
    day: dt.date,
    hms: str,
    visitor: int,
    name: str = "pageview",
    path: str = "/",
    *,
    utm: tuple[str, str] = ("", ""),
    os: str = "Linux",
    props: dict[str, str] | None = None,
) -> tuple[Any, ...]:
    """An event row; ``utm`` is (utm_source, utm_medium)."""
    return (
        SITE, at(day, hms), day, name, visitor, path, "", DIRECT, utm[0], utm[1], "",
        "Firefox", os, "desktop", 0, props or {},
    )  # fmt: skip


# Visitor 1 (GNU/Linux, from a twitter/social link) views / and signs up as a customer;
# visitor 2 (Mac) views /docs; visitor 3 (Windows, newsletter/email) came the day before;
# visitor 4 is outside the last 7 days.
EVENTS = [
    row(Y, "10:00:00", 1, utm=("twitter", "social"), os="GNU/Linux"),
    row(Y, "10:01:00", 1, "Signup", os="GNU/Linux", props={"is_customer": "true"}),
    row(Y, "11:00:00", 2, path="/docs", os="Mac"),
    row(Z, "09:00:00", 3, utm=("newsletter", "email"), os="Windows"),
    row(OLD, "09:00:00", 4),
]


def make_config(token: str | None = TOKEN) -> AnalyticsConfig:
    return AnalyticsConfig(
        sites=(SiteConfig(SITE, timezone="UTC"), SiteConfig("example.nl")),
        api_token=token,
        journal_dir=None,
    )


@pytest.fixture
def data(store: Store) -> Store:
    store.migrate(MIGRATIONS)
    store.insert("events", EVENT_COLUMNS, EVENTS)
    return store


async def client_for(data: Store, token: str | None = TOKEN) -> httpx.AsyncClient:
    endpoint = make_query_endpoint(make_config(token), data, clock=noon)
    app = Starlette(routes=[Route("/api/v2/query", endpoint)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kruimel")


@pytest.fixture
async def api(data: Store) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(data) as client:
        yield client


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


async def post(api: httpx.AsyncClient, body: str | dict[str, Any]) -> httpx.Response:
    content = body if isinstance(body, str) else json.dumps(body)
    return await api.post("/api/v2/query", content=content, headers=bearer())


# Plausible's documentation examples, verbatim (docs/stats-api.md and its example files).
DOC_AGGREGATE = '{ "site_id": "dummy.site", "metrics": ["visitors"], "date_range": "7d" }'
DOC_AGGREGATE_EVENTS = """{
  "site_id": "dummy.site",
  "metrics": ["visitors", "events"],
  "date_range": "7d"
}"""
DOC_UTM = """{
  "site_id": "dummy.site",
  "metrics": ["visitors", "events", "pageviews"],
  "date_range": "7d",
  "dimensions": ["visit:utm_medium", "visit:utm_source"]
}"""
DOC_PAGINATION = """{
  "site_id": "dummy.site",
  "metrics": ["visitors", "events", "pageviews"],
  "date_range": "7d",
  "dimensions": ["visit:utm_medium", "visit:utm_source"],
  "include": { "total_rows": true },
  "pagination": { "limit": 3, "offset": 1 }
}"""
DOC_TIMESERIES = """{
  "site_id": "dummy.site",
  "metrics": ["visitors", "events"],
  "date_range": "7d",
  "filters": [
    ["is", "visit:os", ["GNU/Linux", "Mac"]]
  ],
  "dimensions": ["time:day"]
}"""
DOC_CUSTOM_PROPERTIES = """{
  "site_id": "dummy.site",
  "metrics": ["visitors"],
  "date_range": "7d",
  "dimensions": ["time:day", "event:props:is_customer"],
  "order_by": [["time:day", "asc"], ["event:props:is_customer", "desc"]]
}"""
DOC_FILTERING = """{
  "site_id": "dummy.site",
  "metrics": ["visitors"],
  "date_range": "7d",
  "filters": [
    ["contains", "event:page", ["/docs", "/pricing"]],
    ["is", "visit:country_name", ["Estonia", "United States of America"]]
  ]
}"""

y, z = Y.isoformat(), Z.isoformat()
DOC_CASES = [
    (DOC_AGGREGATE, [{"metrics": [3], "dimensions": []}], {}),
    (DOC_AGGREGATE_EVENTS, [{"metrics": [3, 4], "dimensions": []}], {}),
    (
        DOC_UTM,
        [
            {"metrics": [1, 1, 1], "dimensions": ["(not set)", "(not set)"]},
            {"metrics": [1, 1, 1], "dimensions": ["email", "newsletter"]},
            {"metrics": [1, 2, 1], "dimensions": ["social", "twitter"]},
        ],
        {},
    ),
    (
        DOC_PAGINATION,
        [
            {"metrics": [1, 1, 1], "dimensions": ["email", "newsletter"]},
            {"metrics": [1, 2, 1], "dimensions": ["social", "twitter"]},
        ],
        {"total_rows": 3},
    ),
    (DOC_TIMESERIES, [{"metrics": [2, 3], "dimensions": [y]}], {}),
    (
        DOC_CUSTOM_PROPERTIES,
        [
            {"metrics": [1], "dimensions": [z, "(none)"]},
            {"metrics": [1], "dimensions": [y, "true"]},
            {"metrics": [2], "dimensions": [y, "(none)"]},
        ],
        {},
    ),
]


@pytest.mark.parametrize(("body", "results", "meta"), DOC_CASES)
async def test_plausible_documentation_examples_run_unchanged(
    api: httpx.AsyncClient, body: str, results: list[Any], meta: dict[str, Any]
) -> None:
    response = await post(api, body)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    answer = response.json()
    assert answer["results"] == results
    assert answer["meta"] == meta
    sent = json.loads(body)
    assert answer["query"]["site_id"] == "dummy.site"
    assert answer["query"]["metrics"] == sent["metrics"]
    assert answer["query"]["date_range"] == [
        f"{days_ago(6).isoformat()}T00:00:00+00:00",
        f"{noon().date().isoformat()}T23:59:59+00:00",
    ]


async def test_documentation_example_with_countries_names_what_is_missing(
    api: httpx.AsyncClient,
) -> None:
    response = await post(api, DOC_FILTERING)
    assert response.status_code == 400
    assert response.json() == {
        "error": "filters: dimension 'visit:country_name' is not supported: countries are "
        "not stored yet"
    }


BASE = {"site_id": SITE, "metrics": ["visitors"], "date_range": "7d"}
BAD = [
    ({"metrics": ["bounces"]}, "unknown metric 'bounces'"),
    ({"metrics": ["conversion_rate"]}, "metric 'conversion_rate' is not supported"),
    ({"metrics": ["visitors", "visitors"]}, "metric 'visitors' is listed twice"),
    ({"metrics": []}, "metrics must name at least one metric"),
    ({"dimensions": ["visit:utm_content"]}, "'visit:utm_content' is not supported: Kruimel stores"),
    ({"dimensions": ["visit:utm_term"]}, "'visit:utm_term' is not supported"),
    ({"dimensions": ["event:goal"]}, "'event:goal' is not supported"),
    ({"dimensions": ["visit:colour"]}, "unknown dimension 'visit:colour'"),
    ({"dimensions": ["time:day", "time:hour"]}, "at most one time dimension"),
    ({"metrics": ["percentage"]}, "'percentage' needs at least one dimension"),
    ({"metrics": ["bounce_rate"], "dimensions": ["event:page"]},
     "'bounce_rate' describes whole visits and cannot be broken down by the event dimension "
     "'event:page'"),
    ({"metrics": ["time_on_page"]}, "'time_on_page' needs an event:page filter or dimension"),
    ({"date_range": "yesterday"}, "date_range must be one of day, 7d"),
    ({"date_range": ["2024-01-01T12:00:00+02:00", "2024-01-01T15:59:59+02:00"]},
     "date-time ranges are not supported"),
    ({"date_range": [z, days_ago(5).isoformat()]}, "is after"),
    ({"filters": [["is_like", "event:page", ["/"]]]}, "unknown filter operator 'is_like'"),
    ({"filters": [["has_done", ["is", "event:name", ["Signup"]]]]}, "'has_done'"),
    ({"filters": [["is", "time:day", [y]]]}, "cannot be filtered on; set date_range"),
    ({"filters": [["is", "event:page", "/"]]}, "the values must be a non-empty list"),
    ({"filters": [["is", "event:page", [1]]]}, "every value must be a string"),
    ({"filters": [["matches", "event:page", ["(("]]]}, "invalid regular expression '(('"),
    ({"filters": [["matches", "event:page", ["a"], {"case_sensitive": False}]]},
     "case_sensitive: false applies to"),
    ({"filters": [["is", "segment", ["1"]]]}, "segment is not supported"),
    ({"filters": [["or", []]]}, "needs a non-empty list of filters"),
    ({"order_by": [["pageviews", "desc"]]}, "'pageviews' must be one of the query's metrics"),
    ({"order_by": [["visitors", "up"]]}, "direction must be"),
    ({"pagination": {"limit": 0}}, "pagination.limit must be a whole number from 1 to 10000"),
    ({"pagination": {"offset": -1}}, "pagination.offset"),
    ({"include": {"time_labels": True}}, "include.time_labels needs a time dimension"),
    ({"include": {"comparisons": {"mode": "custom"}}}, "include.comparisons.mode must be one of"),
    ({"include": {"colours": True}}, "include.colours is not supported"),
    ({"include": {"comparisons": {"mode": "previous_period", "match_day_of_week": True}}},
     "include.comparisons.match_day_of_week is not supported"),
    ({"filters": [["is", "event:page", [str(i)]] for i in range(101)]}, "at most 100 filters"),
    ({"interval": "date"}, "unknown key 'interval'"),
    ({"site_id": ""}, "site_id is required"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "message"), BAD)
async def test_invalid_queries_are_400_naming_the_problem(
    api: httpx.AsyncClient, change: dict[str, Any], message: str
) -> None:
    response = await post(api, BASE | change)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]


async def test_not_json_is_415_and_too_large_is_413(api: httpx.AsyncClient) -> None:
    assert (await post(api, "{not json")).status_code == 415
    assert (await post(api, "[1, 2]")).status_code == 400
    huge = json.dumps(BASE | {"filters": [["is", "event:page", ["x" * 70_000]]]})
    assert (await post(api, huge)).status_code == 413


async def test_unknown_site_is_404(api: httpx.AsyncClient) -> None:
    response = await post(api, BASE | {"site_id": "unknown.example"})
    assert response.status_code == 404
    assert "not a configured site" in response.json()["error"]


async def test_get_is_405(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v2/query", headers=bearer())
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "Authorization: Bearer"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Authorization: Bearer"),
        ({"Authorization": f"Bearer {TOKEN[:-1]}"}, "wrong"),
        ({"Authorization": f"Bearer {TOKEN}x"}, "wrong"),
    ],
)
async def test_missing_or_wrong_token_is_401_before_anything_else(
    api: httpx.AsyncClient, headers: dict[str, str], error: str
) -> None:
    for body in (BASE, BASE | {"site_id": "unknown.example"}, BASE | {"metrics": ["x"]}):
        response = await api.post("/api/v2/query", json=body, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert error in response.json()["error"]
        assert "results" not in response.json()


async def test_server_without_token_refuses_every_query(data: Store) -> None:
    async with await client_for(data, token=None) as client:
        response = await client.post("/api/v2/query", json=BASE, headers=bearer())
    assert response.status_code == 401
    assert "KRUIMEL_API_TOKEN" in response.json()["error"]


async def test_store_failure_is_503(data: Store) -> None:
    async with await client_for(data) as client:
        data.close()
        response = await client.post("/api/v2/query", json=BASE, headers=bearer())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
