from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from analytics import AnalyticsConfig, Collector
from kruimel.base.store import Store
from tests.clock import noon, today
from tests.serving import run_lifespan

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def event(**fields: Any) -> str:
    body: dict[str, Any] = {"n": "pageview", "u": "https://example.nl/", "d": "example.nl"}
    body.update(fields)
    return json.dumps(body)


async def post(
    client: httpx.AsyncClient, body: str | bytes, ua: str = CHROME, **headers: str
) -> httpx.Response:
    head = {"user-agent": ua, "content-type": "text/plain;charset=UTF-8"}
    head.update({k.replace("_", "-"): v for k, v in headers.items()})
    return await client.post("/api/event", content=body, headers=head)


def events(store: Store) -> list[dict[str, Any]]:
    return store.query_dicts("SELECT * FROM events ORDER BY ts, path")


def count(store: Store, table: str = "events") -> int:
    return int(store.query(f"SELECT count() FROM {table}")[0][0])


async def test_collector_stores_a_pageview(
    client: httpx.AsyncClient, collector: Collector, store: Store
) -> None:
    response = await post(
        client,
        event(
            u="https://example.nl/blog/post?utm_source=newsletter&utm_medium=email&id=7#top",
            r="https://www.google.com/search?q=something",
            w=1280,
        ),
        x_forwarded_for="203.0.113.77",
    )
    assert response.status_code == 202 and response.content == b""
    assert "x-kruimel" not in response.headers
    await collector.flush()
    (row,) = events(store)
    assert row["site"] == "example.nl" and row["name"] == "pageview"
    assert row["ts"] == noon().replace(tzinfo=None) and row["day"] == today()
    assert row["path"] == "/blog/post"
    assert (row["referrer_host"], row["source"]) == ("google.com", "Google")
    assert (row["utm_source"], row["utm_medium"], row["utm_campaign"]) == (
        "newsletter",
        "email",
        "",
    )
    assert (row["browser"], row["os"], row["device"]) == ("Chrome", "Windows", "desktop")
    assert row["visitor"] != 0 and row["props"] == {}


async def test_collector_json_body_and_custom_event_with_props(
    client: httpx.AsyncClient, collector: Collector, store: Store
) -> None:
    response = await client.post(
        "/api/event",
        json={
            "name": "Signup",
            "url": "https://example.nl/join",
            "domain": "example.nl",
            "props": json.dumps({"plan": "pro", "seats": 3}),
        },
        headers={"user-agent": IPHONE},
    )
    assert response.status_code == 202
    await collector.flush()
    (row,) = events(store)
    assert row["name"] == "Signup" and row["props"] == {"plan": "pro", "seats": "3"}
    assert row["device"] == "mobile" and row["source"] == "Direct / None"


async def test_collector_event_for_several_domains_goes_to_the_configured_one(
    client: httpx.AsyncClient, collector: Collector, store: Store
) -> None:
    response = await post(client, event(d="rollup.example,example.nl"))
    assert response.status_code == 202
    await collector.flush()
    assert [r["site"] for r in events(store)] == ["example.nl"]


async def test_collector_engagement_carries_time_on_page(
    client: httpx.AsyncClient, collector: Collector, store: Store
) -> None:
    await post(client, event())
    await post(client, event(n="engagement", e=15234))
    await collector.flush()
    rows = {r["name"]: r for r in events(store)}
    assert rows["engagement"]["duration_ms"] == 15234
    assert rows["pageview"]["duration_ms"] == 0
    assert rows["engagement"]["visitor"] == rows["pageview"]["visitor"]


async def test_collector_visitor_key_follows_ip_and_user_agent(
    client: httpx.AsyncClient, collector: Collector, store: Store
) -> None:
    await post(client, event(u="https://example.nl/1"), x_forwarded_for="203.0.113.77")
    await post(client, event(u="https://example.nl/2"), x_forwarded_for="203.0.113.77")
    await post(client, event(u="https://example.nl/3"), x_forwarded_for="203.0.113.78")
    await post(client, event(u="https://example.nl/4"), IPHONE, x_forwarded_for="203.0.113.77")
    await collector.flush()
    visitor = {r["path"]: r["visitor"] for r in events(store)}
    assert visitor["/1"] == visitor["/2"]
    assert len({visitor["/1"], visitor["/3"], visitor["/4"]}) == 3


async def test_collector_masked_ip_site_merges_a_network(
    client: httpx.AsyncClient, collector: Collector, store: Store
) -> None:
    for i, ip in enumerate(["203.7.1.1", "203.200.9.9"]):
        await post(client, event(d="strict.org", u=f"https://strict.org/{i}"), x_forwarded_for=ip)
    await collector.flush()
    assert len({r["visitor"] for r in events(store)}) == 1  # strict.org masks to /8


async def test_collector_bots_are_counted_as_filtered_not_stored(
    client: httpx.AsyncClient, collector: Collector, store: Store
) -> None:
    bots = [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/120.0.0.0 Safari/537.36",
        "",
    ]
    for ua in bots:
        response = await post(client, event(), ua)
        assert response.status_code == 202
        assert response.headers["x-kruimel"] == "ignored-bot"
    await post(client, event(), CHROME)
    await collector.flush()
    assert count(store) == 1
    filtered = store.query(
        "SELECT reason, sum(count) FROM filtered WHERE site = 'example.nl' "
        "AND day = {day:Date} GROUP BY reason ORDER BY reason",
        {"day": today()},
    )
    assert filtered == [("crawler", 2), ("empty", 1), ("headless", 1)]


@pytest.mark.parametrize(
    ("headers", "site", "marker"),
    [
        ({"sec_gpc": "1"}, "example.nl", "ignored-gpc"),
        ({"dnt": "1"}, "example.nl", "ignored-dnt"),
        ({"sec_gpc": "1"}, "strict.org", "ignored-gpc"),  # GPC is honoured everywhere
        ({"cookie": "a=b; kruimel_optout=1"}, "example.nl", "ignored-optout"),
        ({"cookie": "kruimel_optout=1", "sec_gpc": "1"}, "example.nl", "ignored-gpc"),
    ],
)
async def test_collector_gpc_dnt_and_optout_are_not_stored_but_counted(
    client: httpx.AsyncClient,
    collector: Collector,
    store: Store,
    headers: dict[str, str],
    site: str,
    marker: str,
) -> None:
    response = await post(client, event(d=site, u=f"https://{site}/"), **headers)
    assert response.status_code == 202
    assert response.headers["x-kruimel"] == marker
    await collector.flush()
    assert count(store) == 0
    # Honouring the objection is logged as a count, with nothing that identifies anyone.
    reason = "signal:" + marker.removeprefix("ignored-")
    assert store.query("SELECT site, reason, count FROM filtered") == [(site, reason, 1)]


async def test_collector_optout_cookie_needs_the_exact_value(
    client: httpx.AsyncClient, collector: Collector, store: Store
) -> None:
    response = await post(client, event(), cookie="kruimel_optout=0; xkruimel_optout=1")
    assert response.status_code == 202 and "x-kruimel" not in response.headers
    await collector.flush()
    assert count(store) == 1


async def test_collector_accepts_its_own_host_as_origin(
    client: httpx.AsyncClient, collector: Collector, store: Store
) -> None:
    """The collector mounted in the site itself: the page's Origin is the server's Host."""
    own = await post(
        client, event(), origin="https://stats.internal:8443", host="stats.internal:8443"
    )
    assert own.status_code == 202
    other = await post(client, event(), origin="https://evil.example", host="stats.internal:8443")
    assert other.status_code == 403
    await collector.flush()
    assert count(store) == 1


async def test_collector_dnt_stored_when_the_site_does_not_honour_it(
    client: httpx.AsyncClient, collector: Collector, store: Store
) -> None:
    response = await post(client, event(d="strict.org", u="https://strict.org/"), dnt="1")
    assert response.status_code == 202 and "x-kruimel" not in response.headers
    await collector.flush()
    assert count(store) == 1


BAD = [
    (b'{"n":"pageview",', 400, "JSON"),
    (b"\xff\xfe\xfd", 400, "UTF-8"),
    (b"[]", 400, "object"),
    (event(n=7).encode(), 400, "name"),
    (event(u="javascript:alert(1)").encode(), 400, "url"),
    (event(u="/relative").encode(), 400, "url"),
    (event(u="https://example.nl/" + "a" * 3000).encode(), 400, "url"),
    (event(d="unknown.example").encode(), 403, "unknown site"),
    (event(p={f"k{i}": "v" for i in range(11)}).encode(), 400, "too many props"),
    (event(p={"deep": {"x": 1}}).encode(), 400, "props|prop"),
    (event(w="wide").encode(), 400, "screen_width"),
    (event(e="long").encode(), 400, "engagement_time"),
    (b"x" * 5000, 413, "larger than"),
    # Hostile JSON that fits the size limit: nesting past the parser's recursion limit, and
    # numbers that are not finite (int(Infinity) would raise, 1e400 is Infinity).
    (b"[" * 3000, 400, "JSON"),
    (event(p="[" * 3000).encode(), 400, "props"),
    (event(p='{"k": "\\ud800"}').encode(), 400, "surrogate"),
    (
        b'{"n":"engagement","u":"https://example.nl/","d":"example.nl","e":Infinity}',
        400,
        "engagement",
    ),
    (b'{"n":"engagement","u":"https://example.nl/","d":"example.nl","e":NaN}', 400, "engagement"),
    (b'{"n":"engagement","u":"https://example.nl/","d":"example.nl","e":1e400}', 400, "engagement"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD)
async def test_collector_bad_input_is_refused_and_nothing_stored(
    client: httpx.AsyncClient,
    collector: Collector,
    store: Store,
    body: bytes,
    status: int,
    message: str,
) -> None:
    response = await post(client, body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]
    assert re.search(message, response.json()["error"])
    await collector.flush()
    assert count(store) == 0 and count(store, "filtered") == 0


async def test_collector_huge_streamed_body_without_length_is_refused(
    client: httpx.AsyncClient, collector: Collector, store: Store
) -> None:
    async def chunks() -> Any:
        for _ in range(10):
            yield b"x" * 1000

    response = await client.post("/api/event", content=chunks())
    assert response.status_code == 413
    await collector.flush()
    assert count(store) == 0


async def test_collector_other_content_types_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/event", content=event(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 415


async def test_collector_get_event_is_not_allowed(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/event")
    assert response.status_code == 405 and "POST" in response.headers["allow"]


async def test_collector_unknown_path_is_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope")
    assert response.status_code == 404 and response.json() == {"error": "not found"}


async def test_collector_cors_preflight_for_a_site_origin(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/api/event",
        headers={
            "origin": "https://www.example.nl",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://www.example.nl"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["vary"] == "Origin"


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost:8000"])
async def test_collector_cors_preflight_refuses_other_origins(
    client: httpx.AsyncClient, origin: str
) -> None:
    response = await client.options("/api/event", headers={"origin": origin})
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers


async def test_collector_cors_event_from_a_site_origin(
    client: httpx.AsyncClient, collector: Collector, store: Store
) -> None:
    response = await post(client, event(), origin="https://example.nl")
    assert response.status_code == 202
    assert response.headers["access-control-allow-origin"] == "https://example.nl"
    assert response.headers["vary"] == "Origin"
    await collector.flush()
    assert count(store) == 1


@pytest.mark.parametrize(
    ("origin", "site"),
    [("https://evil.example", "example.nl"), ("https://example.nl", "strict.org")],
)
async def test_collector_cors_event_from_another_origin_is_refused(
    client: httpx.AsyncClient, collector: Collector, store: Store, origin: str, site: str
) -> None:
    response = await post(client, event(d=site, u=f"https://{site}/"), origin=origin)
    assert response.status_code == 403
    await collector.flush()
    assert count(store) == 0


async def test_collector_backpressure_answers_503_with_retry_after(
    store: Store, config: AnalyticsConfig, clock: Any
) -> None:
    config = dataclasses.replace(config, max_journal_bytes=2**16)
    collector = Collector(config, store, clock=clock)
    await collector.start()
    transport = httpx.ASGITransport(app=collector, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
        assert (await post(client, event())).status_code == 202  # today's salt is known
        store.close()  # ClickHouse goes away
        statuses = []
        for i in range(2000):
            response = await post(client, event(u=f"https://example.nl/{i}"))
            statuses.append(response.status_code)
            if response.status_code != 202:
                break
    assert statuses[-1] == 503 and set(statuses[:-1]) == {202}
    assert len(statuses) > 10
    assert int(response.headers["retry-after"]) >= 1
    assert "retry" in response.json()["error"]
    await collector.stop()


async def test_collector_salt_unavailable_answers_503(
    store: Store, config: AnalyticsConfig, clock: Any
) -> None:
    collector = Collector(config, store, clock=clock)
    await collector.start()
    store.close()  # no salt for today can be fetched
    transport = httpx.ASGITransport(app=collector, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
        response = await post(client, event())
    assert response.status_code == 503 and response.headers["retry-after"]
    await collector.stop()


@pytest.mark.parametrize(("path", "marker"), [("/script.js", "kruimel"), ("/kruimel.js", "")])
async def test_collector_serves_the_tracker_and_snippet(
    client: httpx.AsyncClient, path: str, marker: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert marker in response.text


async def test_collector_mounted_under_a_prefix(collector: Collector, store: Store) -> None:
    app = Starlette(routes=[Mount("/_analytics", app=collector)])
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
        response = await client.post(
            "/_analytics/api/event", content=event(), headers={"user-agent": CHROME}
        )
        assert response.status_code == 202
        assert (await client.get("/_analytics/script.js")).status_code == 200
        assert (await client.get("/_analytics/api/event")).status_code == 405
    await collector.flush()
    assert count(store) == 1


async def test_collector_handles_its_own_lifespan(store: Store, config: AnalyticsConfig) -> None:
    collector = Collector(config, store)
    outbox = await run_lifespan(collector, {"type": "lifespan"})
    assert [m["type"] for m in outbox] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    tables = {r[0] for r in store.query("SHOW TABLES")}
    assert {"events", "filtered", "salts", "pages_daily"} <= tables


async def test_collector_under_uvicorn_end_to_end(store: Store, config: AnalyticsConfig) -> None:
    collector = Collector(config, store)
    server = uvicorn.Server(
        uvicorn.Config(collector, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(3000):  # bounded wait for the server, not a timing assert
            if server.started:
                break
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            response = await post(client, event(), x_forwarded_for="203.0.113.77")
            assert response.status_code == 202
        await collector.flush()
        assert count(store) == 1
    finally:
        server.should_exit = True
        await task


def test_collector_package_exports_the_public_api() -> None:
    import analytics

    assert sorted(analytics.__all__) == sorted(
        [
            "DIRECT",
            "AnalyticsConfig",
            "AnalyticsConfigError",
            "AnalyticsError",
            "Collector",
            "DailySalts",
            "InvalidEvent",
            "Period",
            "PeriodError",
            "SiteConfig",
            "TrustedProxies",
            "UserAgentInfo",
            "UserAgentParser",
            "anonymize_ip",
            "client_ip",
            "format_summary_table",
            "make_summary_endpoint",
            "mask_ip",
            "normalize_url",
            "referrer_source",
            "summarize",
            "visitor_key",
        ]
    )
    assert all(hasattr(analytics, name) for name in analytics.__all__)


async def test_collector_spools_while_clickhouse_is_down_and_replays_once(
    store: Store, config: AnalyticsConfig, clock: Any
) -> None:
    collector = Collector(config, store, clock=clock)
    await collector.start()
    transport = httpx.ASGITransport(app=collector, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
        assert (await post(client, event(u="https://example.nl/0"))).status_code == 202
        await collector.flush()
        store.close()  # ClickHouse goes away; today's salt is already known
        for i in range(1, 21):
            response = await post(client, event(u=f"https://example.nl/{i}"))
            assert response.status_code == 202
    await collector.stop()  # the 20 events stay in the journal

    again = Store.connect(store.url)
    try:
        collector = Collector(config, again, clock=clock)
        await collector.start()  # replays the journal
        await collector.flush()
        await collector.stop()
        paths = [
            r[0]
            for r in again.query("SELECT path FROM events ORDER BY toUInt32(substring(path, 2))")
        ]
        assert paths == [f"/{i}" for i in range(21)]
    finally:
        again.close()


async def test_collector_not_started_answers_503(store: Store, config: AnalyticsConfig) -> None:
    collector = Collector(config, store)  # start() never called, as in a mount without lifespan
    transport = httpx.ASGITransport(app=collector, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
        response = await post(client, event())
    assert response.status_code == 503
    assert "Collector.start()" in response.json()["error"]
