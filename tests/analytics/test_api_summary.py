from __future__ import annotations

import datetime as dt
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

import analytics.api_common
from analytics import AnalyticsConfig, SiteConfig
from analytics.api_summary import make_summary_endpoint
from analytics.period import Period
from analytics.schema import EVENT_COLUMNS, MIGRATIONS
from analytics.summary import DIRECT, summarize
from kruimel.base.store import Store
from tests.clock import days_ago, today

TOKEN = "s3cret-token-for-tests"
DAY = days_ago(20)
QUERY = {"site": "example.nl", "period": "custom", "from": DAY.isoformat(), "to": DAY.isoformat()}


def row(ts: str, visitor: int, path: str = "/", site: str = "example.nl") -> tuple[Any, ...]:
    stamp = dt.datetime.fromisoformat(ts).replace(tzinfo=dt.UTC)
    return (
        site, stamp, DAY, "pageview", visitor, path, "", DIRECT, "", "", "",
        "Firefox", "Linux", "desktop", 0, {},
    )  # fmt: skip


def make_config(token: str | None = TOKEN) -> AnalyticsConfig:
    return AnalyticsConfig(
        sites=(SiteConfig("example.nl"), SiteConfig("other.example", timezone="America/New_York")),
        api_token=token,
        journal_dir=None,
    )


async def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kruimel")


@pytest.fixture
def data(store: Store) -> Store:
    store.migrate(MIGRATIONS)
    store.insert(
        "events",
        EVENT_COLUMNS,
        [
            row(f"{DAY} 10:00:00", 1),
            row(f"{DAY} 10:01:00", 1, "/a"),
            row(f"{DAY} 11:00:00", 2),
        ],
    )
    return store


@pytest.fixture
async def api(data: Store) -> AsyncIterator[httpx.AsyncClient]:
    endpoint = make_summary_endpoint(make_config(), data)
    app = Starlette(routes=[Route("/api/summary", endpoint)])
    async with await client_for(app) as client:
        yield client


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_summary_endpoint_returns_the_summary_json(
    api: httpx.AsyncClient, data: Store
) -> None:
    response = await api.get("/api/summary", params=QUERY, headers=bearer())
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    expected = await summarize(data, "example.nl", Period("custom", DAY, DAY))
    assert response.json() == json.loads(json.dumps(expected))
    assert response.json()["totals"]["pageviews"] == 3
    assert response.json()["totals"]["visits"] == 2


async def test_summary_endpoint_limit_and_www_prefix(api: httpx.AsyncClient) -> None:
    params = QUERY | {"site": "www.example.nl", "limit": "1"}
    response = await api.get("/api/summary", params=params, headers=bearer())
    assert response.status_code == 200
    body = response.json()
    assert body["site"] == "example.nl"
    assert body["pages"] == [{"path": "/", "visitors": 2, "pageviews": 2}]


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "Authorization: Bearer"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Authorization: Bearer"),
        ({"Authorization": "Bearer "}, "Authorization: Bearer"),
        (bearer("wrong"), "wrong"),
        (bearer(TOKEN[:-1]), "wrong"),
        (bearer(TOKEN + "x"), "wrong"),
    ],
)
async def test_summary_endpoint_missing_or_wrong_token_is_401(
    api: httpx.AsyncClient, headers: dict[str, str], error: str
) -> None:
    response = await api.get("/api/summary", params=QUERY, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert error in response.json()["error"]
    assert "totals" not in response.json()


async def test_summary_endpoint_unknown_site_needs_the_token_first(api: httpx.AsyncClient) -> None:
    params = QUERY | {"site": "unknown.example"}
    assert (await api.get("/api/summary", params=params)).status_code == 401
    response = await api.get("/api/summary", params=params, headers=bearer())
    assert response.status_code == 404
    assert "unknown.example" in response.json()["error"]


async def test_summary_endpoint_without_configured_token_is_401(
    data: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KRUIMEL_API_TOKEN", raising=False)
    endpoint = make_summary_endpoint(make_config(token=None), data)
    async with await client_for(Starlette(routes=[Route("/api/summary", endpoint)])) as client:
        for headers in ({}, bearer(), bearer("")):
            response = await client.get("/api/summary", params=QUERY, headers=headers)
            assert response.status_code == 401
            assert "KRUIMEL_API_TOKEN" in response.json()["error"]
            assert "no API token" in response.json()["error"]


async def test_summary_endpoint_compares_the_token_in_constant_time(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(analytics.api_common.hmac, "compare_digest", spy)
    assert (await api.get("/api/summary", params=QUERY, headers=bearer("nope"))).status_code == 401
    assert (await api.get("/api/summary", params=QUERY, headers=bearer())).status_code == 200
    assert calls == [(b"nope", TOKEN.encode()), (TOKEN.encode(), TOKEN.encode())]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"site": ""}, "site"),
        ({"period": "week"}, "period"),
        ({"from": ""}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"from": (DAY + dt.timedelta(days=1)).isoformat(), "to": DAY.isoformat()}, "from"),
        ({"period": "7d"}, "from"),
        ({"limit": "0"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "１"}, "limit"),
    ],
)
async def test_summary_endpoint_invalid_parameter_is_400_naming_it(
    api: httpx.AsyncClient, params: dict[str, str], parameter: str
) -> None:
    response = await api.get("/api/summary", params=QUERY | params, headers=bearer())
    assert response.status_code == 400
    body = response.json()
    assert body["parameter"] == parameter
    assert body["error"].startswith(parameter)


async def test_summary_endpoint_refuses_other_methods(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/summary", params=QUERY, headers=bearer())
    assert response.status_code == 405
    assert "error" in response.json()


async def test_summary_endpoint_awaits_flush_before_reading(data: Store) -> None:
    flushed: list[bool] = []

    async def flush() -> None:  # stands in for the collector's buffer
        await data.ainsert("events", EVENT_COLUMNS, [row(f"{DAY} 12:00:00", 3, "/new")])
        flushed.append(True)

    endpoint = make_summary_endpoint(make_config(), data, flush)
    async with await client_for(Starlette(routes=[Route("/api/summary", endpoint)])) as client:
        response = await client.get("/api/summary", params=QUERY, headers=bearer())
    assert flushed == [True]
    assert {"path": "/new", "visitors": 1, "pageviews": 1} in response.json()["pages"]


async def test_summary_endpoint_through_the_collector_counts_a_fresh_event(
    client: httpx.AsyncClient, config: AnalyticsConfig
) -> None:
    # The collector's own fixtures: its clock says today 12:00 UTC (the same day in Amsterdam).
    sent = await client.post(
        "/api/event",
        content=json.dumps({"n": "pageview", "u": "https://example.nl/hello", "d": "example.nl"}),
        headers={
            "content-type": "text/plain",
            "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
        },
    )
    assert sent.status_code == 202
    params = {
        "site": "example.nl",
        "period": "custom",
        "from": today().isoformat(),
        "to": today().isoformat(),
    }
    response = await client.get(
        "/api/summary", params=params, headers={"Authorization": f"Bearer {config.api_token}"}
    )
    assert response.status_code == 200
    assert response.json()["pages"] == [{"path": "/hello", "visitors": 1, "pageviews": 1}]
    assert response.json()["totals"]["visits"] == 1


async def test_summary_endpoint_store_down_is_503(api: httpx.AsyncClient, data: Store) -> None:
    data.close()  # the store stops answering, as when ClickHouse is down
    response = await api.get("/api/summary", params=QUERY, headers=bearer())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30" and "retry later" in response.json()["error"]
