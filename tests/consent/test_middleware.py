"""ConsentMiddleware end to end over ASGI: the banner and manage control, gated elements,
headers (length, validators, Vary, CSP nonce), the cookie guard, GPC and the lifespan."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

import consent
from consent.config import ConsentConfig
from consent.cookie import dump_token
from consent.errors import ConsentConfigError
from consent.middleware import ConsentMiddleware, csp_script_policy
from consent.records import ConsentLog
from consent.state import ConsentState

SITE = "https://www.example.nl"
PAGE = """<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>Bakkerij</title>
<script type="text/plain" data-consent="marketing" src="https://pi.pardot.com/pd.js"></script>
<script type="text/plain" data-consent="analytics">window.stats = 1;</script>
</head>
<body><h1>Welkom</h1>
<iframe data-consent="marketing" data-src="https://www.youtube-nocookie.com/embed/ID"></iframe>
</body></html>"""


async def page(request: Request) -> Response:
    headers = dict(request.query_params)
    return HTMLResponse(PAGE, headers=headers)


async def cookies(request: Request) -> Response:
    response = HTMLResponse(PAGE)
    response.set_cookie("pi_opt_in123456", "true", max_age=3600)
    response.set_cookie("_ga", "GA1.1.1.1")
    response.set_cookie("cart", "3")
    return response


async def state_json(request: Request) -> Response:
    state: ConsentState = request.scope["consent"]
    response = JSONResponse({"decided": state.decided, "analytics": state.allows("analytics")})
    response.set_cookie("_ga", "GA1.1.1.1")
    return response


def inner_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/", page),
            Route("/cookies", cookies),
            Route("/state", state_json),
        ]
    )


@pytest.fixture
async def client(
    config: ConsentConfig, consent_log: ConsentLog
) -> AsyncIterator[httpx.AsyncClient]:
    app = ConsentMiddleware(inner_app(), config=config, log=consent_log)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as c:
        yield c


def consent_cookie(config: ConsentConfig, *allowed: str) -> dict[str, str]:
    state = ConsentState.decide(config, dict.fromkeys(allowed, True))
    return {config.cookie_name: dump_token(config, state)}


def test_middleware_is_exported_from_consent() -> None:
    assert consent.ConsentMiddleware is ConsentMiddleware


def test_middleware_refuses_something_else_as_config() -> None:
    with pytest.raises(ConsentConfigError, match="config"):
        ConsentMiddleware(inner_app(), config={"controller": "x"})  # type: ignore[arg-type]


async def test_middleware_works_through_add_middleware(config: ConsentConfig) -> None:
    app = inner_app()
    app.add_middleware(ConsentMiddleware, config=config)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as client:
        response = await client.get("/")
        assert 'id="kruimel-banner"' in response.text
        assert (await client.get("/_consent")).json()["decided"] is False


async def test_middleware_banner_before_a_decision(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    body = response.text
    assert response.status_code == 200
    assert body.count('id="kruimel-banner"') == 1
    assert 'id="kruimel-manage"' not in body
    assert re.search(r"<body>\s*<div id=\"kruimel-banner\"", body)
    assert "/_consent/static/banner.css?v=" in body
    assert re.search(
        r'<script defer src="/_consent/static/banner\.js\?v=\w+"></script></head>', body
    )
    assert body.count("data-consent-active") == 0  # nothing runs before a choice
    assert "gtag('consent','default'" in body.split("<title>")[0]  # right after <head>


async def test_middleware_manage_control_after_a_decision(
    client: httpx.AsyncClient, config: ConsentConfig
) -> None:
    client.cookies.update(consent_cookie(config, "analytics"))
    body = (await client.get("/")).text
    assert 'id="kruimel-manage"' in body and 'id="kruimel-banner"' not in body
    assert '<script data-consent="analytics" data-consent-active>window.stats = 1;</script>' in body
    assert 'type="text/plain" data-consent="marketing" src="https://pi.pardot.com/pd.js"' in body
    assert 'data-src="https://www.youtube-nocookie.com/embed/ID"' in body


@pytest.mark.parametrize(
    ("allowed", "active"),
    [
        ((), 0),
        (("analytics",), 1),
        (("marketing",), 2),
        (("analytics", "marketing"), 3),
    ],
)
async def test_middleware_serves_allowed_gated_elements_active(
    client: httpx.AsyncClient, config: ConsentConfig, allowed: tuple[str, ...], active: int
) -> None:
    client.cookies.update(consent_cookie(config, *allowed))
    body = (await client.get("/")).text
    assert body.count("data-consent-active") == active
    if "marketing" in allowed:
        assert 'src="https://www.youtube-nocookie.com/embed/ID"' in body
        assert "data-src=" not in body
        assert '<script data-consent="marketing" src="https://pi.pardot.com/pd.js"' in body


async def test_middleware_app_sees_the_state_in_scope(
    client: httpx.AsyncClient, config: ConsentConfig
) -> None:
    assert (await client.get("/state")).json() == {"decided": False, "analytics": False}
    client.cookies.update(consent_cookie(config, "analytics"))
    assert (await client.get("/state")).json() == {"decided": True, "analytics": True}


async def test_middleware_tampered_cookie_is_undecided(
    client: httpx.AsyncClient, config: ConsentConfig
) -> None:
    token = consent_cookie(config, "analytics")[config.cookie_name]
    client.cookies.set(config.cookie_name, token[:-2] + ("A" if token[-2] != "A" else "B") + "x")
    assert (await client.get("/state")).json() == {"decided": False, "analytics": False}
    assert 'id="kruimel-banner"' in (await client.get("/")).text


async def test_middleware_routes_the_prefix_to_the_endpoints(
    client: httpx.AsyncClient, config: ConsentConfig
) -> None:
    state = (await client.get("/_consent")).json()
    assert state["decided"] is False
    response = await client.post("/_consent", json={"accept": "all"}, headers={"Origin": SITE})
    assert response.status_code == 200
    assert config.cookie_name in response.cookies
    body = (await client.get("/")).text  # the new cookie is sent back
    assert 'id="kruimel-manage"' in body and body.count("data-consent-active") == 3
    static = await client.get("/_consent/static/banner.js")
    assert static.status_code == 200 and "kruimel" in static.text


async def test_middleware_content_length_matches_the_rewritten_body(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    assert int(response.headers["content-length"]) == len(response.content)
    assert len(response.content) > len(PAGE.encode())


async def test_middleware_drops_validators_and_merges_vary(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/",
        params={"ETag": '"v1"', "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT",
                "Vary": "Accept-Encoding"},
    )  # fmt: skip
    assert "etag" not in response.headers
    assert "last-modified" not in response.headers
    assert response.headers.get_list("vary") == ["Accept-Encoding, Cookie"]


async def test_middleware_non_html_is_left_alone(client: httpx.AsyncClient) -> None:
    response = await client.get("/state")
    assert response.headers["content-type"] == "application/json"
    assert "vary" not in response.headers
    assert response.headers["content-length"] == str(len(response.content))


NONCE = "R4nd0m/Nonce+="


@pytest.mark.parametrize(
    "policy",
    [
        f"default-src 'self'; script-src 'self' 'nonce-{NONCE}'",
        f"default-src 'self' 'nonce-{NONCE}'",
        f"script-src-elem 'nonce-{NONCE}' 'strict-dynamic'; script-src 'none'",
    ],
)
async def test_middleware_reuses_the_csp_nonce_on_everything_injected(
    client: httpx.AsyncClient, config: ConsentConfig, policy: str
) -> None:
    client.cookies.update(consent_cookie(config, "analytics", "marketing"))
    body = (await client.get("/", params={"Content-Security-Policy": policy})).text
    scripts = re.findall(r"<script\b[^>]*>", body)
    assert len(scripts) == 4  # consent mode, banner.js, Pardot, the inline analytics one
    assert all(f'nonce="{NONCE}"' in tag for tag in scripts)


async def test_middleware_consent_mode_external_under_nonce_less_csp(
    client: httpx.AsyncClient,
) -> None:
    policy = "default-src 'self'; script-src 'self'"
    body = (await client.get("/", params={"Content-Security-Policy": policy})).text
    assert "gtag(" not in body
    assert re.search(
        r'<head><script data-kruimel="consent-mode" src="/_consent/static/consent-mode\.js\?v=\w+"',
        body,
    )
    assert "nonce=" not in body


@pytest.mark.parametrize(
    ("policies", "expected"),
    [
        ([], (None, True)),
        ([b"img-src 'self'"], (None, True)),
        ([b"default-src 'self'"], (None, False)),
        ([b"script-src 'self' 'unsafe-inline'"], (None, True)),
        ([b"default-src 'none'; script-src 'nonce-abc' 'strict-dynamic'"], ("abc", True)),
        ([b"script-src 'nonce-abc'; default-src 'nonce-zzz'"], ("abc", True)),
        ([b"default-src 'nonce-zzz'; script-src 'self'"], (None, False)),  # script-src rules
        ([b"script-src 'self' 'unsafe-inline'", b"script-src 'self'"], (None, False)),
        ([b"SCRIPT-SRC 'nonce-A1_b-2'"], ("A1_b-2", True)),
        ([b"default-src 'self';\tscript-src\t'nonce-tab'"], ("tab", True)),
        ([b"script-src 'nonce-bad\"><x>'"], (None, False)),
    ],
)
def test_csp_script_policy_finds_the_governing_nonce(
    policies: list[bytes], expected: tuple[str | None, bool]
) -> None:
    assert csp_script_policy(policies) == expected


async def test_middleware_drops_set_cookie_of_denied_categories(
    client: httpx.AsyncClient, config: ConsentConfig
) -> None:
    response = await client.get("/cookies")
    names = {c.split("=")[0] for c in response.headers.get_list("set-cookie")}
    assert names == {"cart"}  # undeclared: passes, and is reported
    client.cookies.clear()
    client.cookies.update(consent_cookie(config, "marketing"))
    response = await client.get("/cookies")
    names = {c.split("=")[0] for c in response.headers.get_list("set-cookie")}
    assert names == {"pi_opt_in123456", "cart"}


async def test_middleware_guards_non_html_responses_too(
    client: httpx.AsyncClient, config: ConsentConfig
) -> None:
    assert "set-cookie" not in (await client.get("/state")).headers
    client.cookies.update(consent_cookie(config, "analytics"))
    assert (await client.get("/state")).headers["set-cookie"].startswith("_ga=")


async def test_middleware_reports_undeclared_cookie_once(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="kruimel.consent")
    for _ in range(3):
        await client.get("/cookies")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "'cart'" in messages[0]


async def test_middleware_expires_denied_cookies_the_browser_still_sends(
    client: httpx.AsyncClient, config: ConsentConfig
) -> None:
    client.cookies.update({"_ga": "GA1.1.1.1", "pi_opt_in123456": "true", "cart": "1"})
    client.cookies.update(consent_cookie(config, "analytics"))
    response = await client.get("/")
    expired = [c for c in response.headers.get_list("set-cookie") if "Max-Age=0" in c]
    assert {c.split("=")[0] for c in expired} == {"pi_opt_in123456"}
    assert {c.split("; Domain=")[1].split(";")[0] for c in expired if "Domain=" in c} == {
        "www.example.nl",
        "example.nl",
    }
    # Not on non-page responses.
    assert all("Max-Age=0" not in c for c in (await client.get("/state")).headers.get_list(
        "set-cookie"
    ))  # fmt: skip
    # The same Cookie header again (the plan is memoised): the same lines.
    again = (await client.get("/")).headers.get_list("set-cookie")
    assert again == response.headers.get_list("set-cookie")
    # Without the consent cookie, nothing optional is allowed: _ga goes as well.
    del client.cookies[config.cookie_name]
    expired = (await client.get("/")).headers.get_list("set-cookie")
    assert {c.split("=")[0] for c in expired} == {"_ga", "pi_opt_in123456"}


async def test_middleware_gpc_denies_marketing_even_after_accept_all(
    client: httpx.AsyncClient,
) -> None:
    gpc = {"Sec-GPC": "1"}
    state = (await client.get("/_consent", headers=gpc)).json()
    assert state["gpc"] is True and state["categories"]["marketing"] is False
    body = (await client.get("/", headers=gpc)).text
    assert 'id="kruimel-banner"' in body  # the banner still asks about the rest
    response = await client.post(
        "/_consent", json={"accept": "all"}, headers={**gpc, "Origin": SITE}
    )
    assert response.json()["categories"]["marketing"] is False
    body = (await client.get("/", headers=gpc)).text
    assert body.count("data-consent-active") == 1  # analytics only
    assert '"ad_storage":"denied"' in body.split("gtag('consent','update',")[1].split(")")[0]
    assert '"analytics_storage":"granted"' in body


async def test_middleware_lifespan_starts_the_log(config: ConsentConfig, store: Any) -> None:
    log = ConsentLog(store)
    events: list[str] = []

    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("app startup")
        yield
        events.append("app shutdown")

    import contextlib

    inner = Starlette(routes=[], lifespan=contextlib.asynccontextmanager(lifespan))
    app = ConsentMiddleware(inner, config=config, log=log)
    sent = await run_lifespan(app)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert events == ["app startup", "app shutdown"]
    assert store.query("EXISTS TABLE consent_log") == [(1,)]


async def test_middleware_lifespan_for_an_app_without_lifespan(
    config: ConsentConfig, store: Any
) -> None:
    async def http_only(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http", "this app only speaks HTTP"

    app = ConsentMiddleware(http_only, config=config, log=ConsentLog(store))
    assert await run_lifespan(app) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert store.query("EXISTS TABLE consent_log") == [(1,)]


async def run_lifespan(app: Any) -> list[str]:
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    return sent


@pytest.mark.parametrize("nonce", [None, "abc", "R4nd0m/Nonce+=", "a-b_c"])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_middleware_head_markup_equals_render_head(
    config: ConsentConfig, lang: str, nonce: str | None
) -> None:
    from consent.banner import render_head

    mw = ConsentMiddleware(inner_app(), config=config)
    for _ in range(2):  # rendered once, then spliced
        assert mw.head_html(lang, nonce) == render_head(config, lang=lang, nonce=nonce).encode()


@pytest.mark.parametrize(
    ("query", "accept", "cookie"),
    [
        (b"", b"", ""),
        (b"", b"en-GB,en;q=0.9", ""),
        (b"", b"de-DE, en;q=0.5, nl;q=0.8", ""),
        (b"lang=en", b"nl", ""),
        (b"a=1&lang=nl", b"en", "en"),
        (b"", b"en", "nl"),
        (b"slang=x", b"en", ""),
    ],
)
def test_middleware_language_memo_equals_choose_language(
    config: ConsentConfig, query: bytes, accept: bytes, cookie: str
) -> None:
    from consent.i18n import choose_language

    headers = [(b"accept-language", accept)]
    if cookie:
        headers.append((b"cookie", f"{config.language_cookie}={cookie}; other=1".encode()))
    request = {"type": "http", "query_string": query, "headers": headers}
    mw = ConsentMiddleware(inner_app(), config=config)
    for _ in range(2):
        assert mw.language(query, accept, cookie) == choose_language(config, request)


def _cookie_scope(
    config: ConsentConfig, state: ConsentState, *extra: tuple[bytes, bytes]
) -> dict[str, Any]:
    token = dump_token(config, state)
    return {
        "type": "http",
        "headers": [*extra, (b"cookie", f"{config.cookie_name}={token}".encode())],
    }


def _decided_state(config: ConsentConfig, days_ago: int = 0) -> ConsentState:
    from datetime import UTC, datetime, timedelta

    at = datetime.now(UTC) - timedelta(days=days_ago)
    return ConsentState.decide(config, {"analytics": True}, now=at)


def test_middleware_valid_reading_is_kept(config: ConsentConfig) -> None:
    mw = ConsentMiddleware(inner_app(), config=config)
    request = _cookie_scope(config, state := _decided_state(config))
    first, second = mw.read(request).state, mw.read(request).state
    assert first.decided and first is second
    assert first.id == state.id


def test_middleware_lapsed_reading_is_not_kept_but_keeps_its_id(config: ConsentConfig) -> None:
    mw = ConsentMiddleware(inner_app(), config=config)
    old = _decided_state(config, days_ago=config.lifetime_days)
    request = _cookie_scope(config, old)
    first, second = mw.read(request).state, mw.read(request).state
    assert not first.decided and first is not second
    assert first.id == old.id  # the records and the expire row need it


def test_middleware_kept_reading_cannot_be_changed(config: ConsentConfig) -> None:
    mw = ConsentMiddleware(inner_app(), config=config)
    state = mw.read(_cookie_scope(config, _decided_state(config))).state
    with pytest.raises(TypeError):
        state.categories["marketing"] = True  # type: ignore[index]
    assert state.to_json()["categories"]["analytics"] is True


def test_middleware_kept_reading_is_dropped_once_the_choice_lapses(config: ConsentConfig) -> None:
    mw = ConsentMiddleware(inner_app(), config=config)
    request = _cookie_scope(config, _decided_state(config))
    first = mw.read(request).state
    [(key, memo)] = [(k, v) for k, v in mw.readings.memo.items() if v.state is first]
    mw.readings.memo.put(key, memo._replace(until=time.time() - 1))
    assert mw.read(request).state is not first  # the cookie is read again


def test_middleware_reads_the_cookie_from_a_second_cookie_line(config: ConsentConfig) -> None:
    mw = ConsentMiddleware(inner_app(), config=config)
    # HTTP/2 may split the Cookie header into several lines.
    split = _cookie_scope(config, _decided_state(config), (b"cookie", b"sid=1"))
    assert mw.read(split).state.decided


def test_middleware_reads_headers_given_as_lists(config: ConsentConfig) -> None:
    mw = ConsentMiddleware(inner_app(), config=config)
    split = _cookie_scope(config, _decided_state(config), (b"cookie", b"sid=1"))
    listed = {"type": "http", "headers": [list(pair) for pair in split["headers"]]}
    assert mw.read(listed).state.decided and mw.read(listed) is mw.read(listed)


def test_middleware_without_consent_cookie_shares_one_state_without_id(
    config: ConsentConfig,
) -> None:
    mw = ConsentMiddleware(inner_app(), config=config)
    gpc = {"type": "http", "headers": [(b"sec-gpc", b"1"), (b"cookie", b"sid=1")]}
    assert mw.read(gpc).state is mw.read(gpc).state
    assert mw.read(gpc).state.gpc and mw.read(gpc).state.id == ""


def test_middleware_reading_agrees_with_read_cookie_on_odd_headers(config: ConsentConfig) -> None:
    """The memoised reading says what consent.cookie.read_cookie says (the id aside, which a
    request without the consent cookie does not get yet), for headers that come twice, a
    token next to a cookie, a look-alike cookie name and a Cookie line too long to keep."""
    from consent.cookie import read_cookie

    mw = ConsentMiddleware(inner_app(), config=config)
    valid = dump_token(config, ConsentState.decide(config, {"analytics": True}))
    name = config.cookie_name
    cases = [
        [(b"sec-gpc", b"0"), (b"sec-gpc", b"1")],
        [(b"sec-gpc", b"1"), (b"sec-gpc", b"1")],
        # Two lines first: their reading must not be taken for the single line's after it.
        [(b"cookie", f"{name}={valid}".encode()), (b"sec-gpc", b"0"), (b"sec-gpc", b"1")],
        [(b"cookie", f"{name}={valid}".encode()), (b"sec-gpc", b"1")],
        [(b"x-kruimel-consent", b"junk"), (b"x-kruimel-consent", valid.encode())],
        [(b"x-kruimel-consent", valid.encode())],
        [(b"cookie", f"x{name}=1; sid=2".encode())],
        [(b"cookie", b"sid=2"), (b"cookie", f"{name}={valid}".encode())],
        [(b"cookie", f"big={'x' * 4000}; {name}={valid}".encode())],
    ]
    for headers in cases:
        request = {"type": "http", "headers": headers}
        reading = read_cookie(config, request)
        expected = reading.state.to_json()
        for _ in range(2):  # the first reading, then the memoised one
            got = mw.read(request).state.to_json()
            if reading.status != "valid":  # no id yet, or a fresh random one each time
                got["id"] = expected["id"] = ""
            assert got == expected, headers
    # A look-alike name is no consent cookie: the shared state, not a new id per request.
    lookalike = {"type": "http", "headers": [(b"cookie", f"x{name}=1".encode())]}
    assert mw.read(lookalike).state is mw.read(lookalike).state
    assert mw.read(lookalike).state.id == ""
    # A Cookie line too long to keep is read every time, and nothing of it is kept.
    assert not [k for k in mw.readings.memo if isinstance(k, bytes) and b"big=" in k]


# -- the page memo: the same bytes for many visitors, rewritten once per visible state ------
async def test_middleware_page_memo_never_serves_one_visitor_s_page_to_another(
    config: ConsentConfig, consent_log: ConsentLog
) -> None:
    app = ConsentMiddleware(inner_app(), config=config, log=consent_log)
    transport = httpx.ASGITransport(app=app)
    visitors = [
        ({}, "banner"),
        (consent_cookie(config, "marketing"), "marketing"),
        (consent_cookie(config, "analytics"), "analytics"),
        ({}, "banner"),
        (consent_cookie(config, "marketing"), "marketing"),
    ]
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as client:
        for round_ in range(2):
            for cookies, expected in visitors:
                client.cookies.clear()
                client.cookies.update(cookies)
                text = (await client.get("/", params={"p": str(round_)})).text
                pardot_active = 'src="https://pi.pardot.com/pd.js" data-consent-active' in text
                stats_active = "data-consent-active>window.stats" in text
                assert ('id="kruimel-banner"' in text) is (expected == "banner")
                assert pardot_active is (expected == "marketing")
                assert stats_active is (expected == "analytics")
                # The page address in the forms follows the request, not the memo.
                assert f'name="next" value="/?p={round_}"' in text
    assert 0 < len(app._pages) <= 6


async def test_middleware_page_memo_skips_pages_with_a_nonce(
    config: ConsentConfig, consent_log: ConsentLog
) -> None:
    app = ConsentMiddleware(inner_app(), config=config, log=consent_log)
    transport = httpx.ASGITransport(app=app)
    csp = "script-src 'nonce-abc123'"
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as client:
        text = (await client.get("/", params={"Content-Security-Policy": csp})).text
    assert 'nonce="abc123"' in text
    assert len(app._pages) == 0


async def test_middleware_drop_in_with_a_log_that_owns_its_store(
    config: ConsentConfig, tmp_path: Any
) -> None:
    """``add_middleware(ConsentMiddleware, config=..., log=ConsentLog.open(url))`` is all an
    app needs: the table is created at startup, decisions are recorded, the store closes."""
    import asyncio

    from kruimel.base.store import Store

    url = f"chdb://{tmp_path / 'store'}"
    log = ConsentLog.open(url, site="www.example.nl")
    app = inner_app()
    app.add_middleware(ConsentMiddleware, config=config, log=log)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    said: list[str] = []

    async def send(message: dict[str, Any]) -> None:
        said.append(message["type"])

    server = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send)
    )
    await inbox.put({"type": "lifespan.startup"})
    while "lifespan.startup.complete" not in said:
        await asyncio.sleep(0.01)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as client:
        decided = await client.post("/_consent", json={"accept": "all"}, headers={"Origin": SITE})
        assert decided.is_success
        records = (await client.get("/_consent/records")).json()["records"]
        assert [r["action"] for r in records] == ["accept_all"]
    await inbox.put({"type": "lifespan.shutdown"})
    await server
    assert said == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert log.store.closed
    with Store.connect(url) as store:
        assert store.query("SELECT action FROM consent_log") == [("accept_all",)]


async def test_middleware_cookieless_visitors_get_distinct_ids_when_they_decide(
    config: ConsentConfig, consent_log: ConsentLog
) -> None:
    """Before a decision a visitor has no id (one shared, read-only state); deciding mints a
    new random id per visitor, which later decisions keep."""
    app = ConsentMiddleware(inner_app(), config=config, log=consent_log)
    ids = []
    for _ in range(2):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=SITE) as client:
            before = (await client.get("/_consent")).json()
            assert before["id"] == "" and before["decided"] is False
            first = (
                await client.post("/_consent", json={"accept": "all"}, headers={"Origin": SITE})
            ).json()
            again = (
                await client.post("/_consent", json={"accept": "none"}, headers={"Origin": SITE})
            ).json()
            assert first["id"] and again["id"] == first["id"]
            ids.append(first["id"])
    assert ids[0] != ids[1]
    with pytest.raises(TypeError):
        app.readings._blank.state.categories["marketing"] = True  # type: ignore[index]


async def test_erase_without_an_id_asks_no_eraser(consent_log: ConsentLog) -> None:
    asked: list[str] = []

    @consent_log.on_erase
    async def erase_app_data(consent_id: str) -> str:
        asked.append(consent_id)
        return "app data"

    result = await consent_log.erase("")
    assert asked == [] and result["erased"] == [] and result["kept"]["records"] == 0
