"""The /_consent endpoints over ASGI, with a real chDB consent log behind them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from consent.config import ConsentConfig
from consent.endpoints import MAX_BODY, ConsentEndpoints, safe_next
from consent.records import ConsentLog
from consent.state import ConsentState
from kruimel.base.store import Store

SITE = "https://www.example.nl"
STATIC_SITE = "https://static.example.org"
SAME = {"Origin": SITE}
ALL_OFF = {"necessary": True, "preferences": False, "analytics": False, "marketing": False}


def _set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def _expired_names(response: httpx.Response) -> set[str]:
    return {c.split("=", 1)[0] for c in _set_cookies(response) if "Max-Age=0" in c}


async def _records(store: Store) -> list[dict[str, Any]]:
    return await store.aquery_dicts("SELECT * FROM consent_log ORDER BY ts")


# -- reading ---------------------------------------------------------------------------
async def test_get_state_undecided(client: httpx.AsyncClient) -> None:
    response = await client.get("/_consent")
    assert response.status_code == 200
    body = response.json()
    assert body["decided"] is False and body["categories"] == ALL_OFF
    assert body["policy_version"] == "2026-11" and body["gpc"] is False
    assert body["decided_at"] is None and body["expires_at"] is None and "token" not in body
    assert response.headers["cache-control"] == "no-store"
    assert "Origin" in response.headers["vary"]
    assert not _set_cookies(response)


async def test_get_state_uses_scope_consent_from_middleware(
    config: ConsentConfig, consent_log: ConsentLog
) -> None:
    decided = ConsentState.decide(config, {"analytics": True}, id="from-middleware")
    endpoints = ConsentEndpoints(config, consent_log)

    async def with_state(scope: Any, receive: Any, send: Any) -> None:
        await endpoints({**scope, "consent": decided}, receive, send)

    transport = httpx.ASGITransport(app=with_state)
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as c:
        body = (await c.get("/_consent")).json()
    assert body["id"] == "from-middleware" and body["categories"]["analytics"] is True


# -- deciding with JSON ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("payload", "action", "control", "allowed"),
    [
        ({"accept": "all"}, "accept_all", "api", {"preferences", "analytics", "marketing"}),
        ({"accept": "none", "control": "banner"}, "reject_all", "banner", set()),
        ({"categories": {"analytics": True, "marketing": False}}, "custom", "api", {"analytics"}),
        (
            {"accept": "custom", "categories": {"necessary": True, "preferences": True}},
            "custom",
            "api",
            {"preferences"},
        ),
    ],
)
async def test_post_json_decides_records_and_sets_cookie(
    client: httpx.AsyncClient,
    store: Store,
    payload: dict[str, Any],
    action: str,
    control: str,
    allowed: set[str],
) -> None:
    response = await client.post("/_consent", json=payload, headers=SAME)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decided"] is True
    assert {k for k, v in body["categories"].items() if v} == allowed | {"necessary"}
    cookie = next(c for c in _set_cookies(response) if c.startswith("kruimel_consent="))
    attrs = dict(a.partition("=")[::2] for a in cookie.split("; ")[1:])
    assert {"Secure", "SameSite", "HttpOnly", "Path"} <= set(attrs)
    assert 182 * 86400 - 60 <= int(attrs["Max-Age"]) <= 182 * 86400
    [record] = await _records(store)
    assert (record["action"], record["control"], record["consent_id"]) == (
        action,
        control,
        body["id"],
    )
    assert {k for k, v in record["categories"].items() if v} == allowed | {"necessary"}
    assert len(record["banner_hash"]) == 64 and record["language"] == "nl"
    again = (await client.get("/_consent")).json()
    assert again["decided"] is True and again["id"] == body["id"]
    assert again["expires_at"] == body["expires_at"]


async def test_post_keeps_the_consent_id_across_changes(
    client: httpx.AsyncClient, store: Store
) -> None:
    first = (await client.post("/_consent", json={"accept": "all"}, headers=SAME)).json()
    second = (await client.post("/_consent", json={"accept": "none"}, headers=SAME)).json()
    assert first["id"] == second["id"]
    assert [r["action"] for r in await _records(store)] == ["accept_all", "withdraw"]


async def test_post_records_the_language_shown(client: httpx.AsyncClient, store: Store) -> None:
    await client.post("/_consent?lang=en", json={"accept": "none"}, headers=SAME)
    await client.post("/_consent", json={"accept": "none", "lang": "en"}, headers=SAME)
    assert [r["language"] for r in await _records(store)] == ["en", "en"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[" * 3000, "application/json", 400),  # nested past the parser's recursion limit
        (b"\xff\xfe", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"{}", "application/json", 400),
        (b'{"accept": "maybe"}', "application/json", 400),
        (b'{"accept": true}', "application/json", 400),
        (b'{"categories": {"ads": true}}', "application/json", 400),
        (b'{"categories": {"analytics": "yes"}}', "application/json", 400),
        (b'{"categories": ["analytics"]}', "application/json", 400),
        (b'{"categories": {"necessary": false}}', "application/json", 400),
        (b'{"accept": "all", "extra": 1}', "application/json", 400),
        (b'{"accept": "all", "control": "form"}', "application/json", 400),
        (b"accept=everything", "application/x-www-form-urlencoded", 400),
        (b"next=/", "application/x-www-form-urlencoded", 400),
        (b"accept=custom&categories=ads", "application/x-www-form-urlencoded", 400),
        (b"accept=all", "text/plain", 415),
        (b'{"accept": "all", "pad": "' + b"x" * MAX_BODY + b'"}', "application/json", 413),
    ],
)
async def test_post_bad_body_is_refused_and_not_recorded(
    client: httpx.AsyncClient,
    log_rows: Callable[[], int],
    body: bytes,
    content_type: str,
    status: int,
) -> None:
    response = await client.post(
        "/_consent", content=body, headers={**SAME, "Content-Type": content_type}
    )
    assert response.status_code == status
    assert isinstance(response.json()["error"], str)
    assert not _set_cookies(response)
    assert log_rows() == 0


async def test_post_oversized_stream_without_length_is_refused(
    config: ConsentConfig, consent_log: ConsentLog, log_rows: Callable[[], int]
) -> None:
    app = ConsentEndpoints(config, consent_log)
    chunks = [b'{"accept": "all", "pad": "', *[b"x" * 1024] * 10, b'"}']
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "https",
        "path": "/_consent",
        "query_string": b"",
        "headers": [(b"host", b"www.example.nl"), (b"content-type", b"application/json")],
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert log_rows() == 0


# -- deciding with forms (no JavaScript) -----------------------------------------------
async def test_form_post_redirects_back_with_303(client: httpx.AsyncClient, store: Store) -> None:
    response = await client.post(
        "/_consent",
        data={"accept": "custom", "categories": ["analytics", "preferences"], "next": "/shop?x=1"},
        headers=SAME,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/shop?x=1"
    assert any(c.startswith("kruimel_consent=") for c in _set_cookies(response))
    [record] = await _records(store)
    assert record["control"] == "form" and record["action"] == "custom"
    assert record["categories"]["analytics"] and not record["categories"]["marketing"]


async def test_form_post_without_next_returns_to_referer(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/_consent", data={"accept": "none"}, headers={"Referer": f"{SITE}/blog/1?a=b"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/blog/1?a=b"


@pytest.mark.parametrize(
    ("next_url", "location"),
    [
        ("https://evil.example/phish", "/"),
        ("//evil.example/phish", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("\t//evil.example", "/"),
        ("http://www.example.nl/ok", "/"),
        ("https://www.example.nl/ok?x=1#top", "/ok?x=1#top"),
        ("relative/path", "/"),
        ("/fine/path", "/fine/path"),
    ],
)
async def test_form_post_never_redirects_off_site(
    client: httpx.AsyncClient, next_url: str, location: str
) -> None:
    response = await client.post(
        "/_consent", data={"accept": "none", "next": next_url}, headers=SAME
    )
    assert response.status_code == 303
    assert response.headers["location"] == location


def test_safe_next_fallback() -> None:
    assert safe_next(None, SITE, "/home") == "/home"
    assert safe_next("https://WWW.example.nl:443/x", SITE) == "/x"


# -- cross-site protection ---------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://www.example.nl"},
        {"Origin": "https://www.example.nl.evil.example"},
        {"Referer": "https://evil.example/page"},
        {"Referer": "not a url"},
        {"Sec-Fetch-Site": "cross-site", "Referer": f"{SITE}/page"},
        {"Origin": "null", "Sec-Fetch-Site": "same-site"},
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/_consent"), ("DELETE", "/_consent"), ("DELETE", "/_consent/records")],
)
async def test_cross_site_changes_are_forbidden(
    client: httpx.AsyncClient,
    log_rows: Callable[[], int],
    headers: dict[str, str],
    method: str,
    path: str,
) -> None:
    response = await client.request(method, path, json={"accept": "all"}, headers=headers)
    assert response.status_code == 403
    assert response.json() == {"error": "cross-site request refused"}
    assert not _set_cookies(response)
    assert log_rows() == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": SITE},
        {"Origin": "https://www.example.nl:443"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        {"Referer": f"{SITE}/page"},
        {},
    ],
)
async def test_same_site_changes_are_allowed(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post("/_consent", json={"accept": "none"}, headers=headers)
    assert response.status_code == 200


# -- CORS for static sites ----------------------------------------------------------------
async def test_cors_preflight_for_configured_origin(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/_consent",
        headers={
            "Origin": STATIC_SITE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-kruimel-consent",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == STATIC_SITE
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "content-type" in allowed and "x-kruimel-consent" in allowed
    assert "access-control-allow-credentials" not in response.headers
    assert "Origin" in response.headers["vary"]


async def test_cors_preflight_refused_for_other_origin(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/_consent",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers


async def test_cors_token_flow(config: ConsentConfig, consent_log: ConsentLog) -> None:
    transport = httpx.ASGITransport(app=ConsentEndpoints(config, consent_log))
    # A static site's script: no cookies of ours, the token travels in a header.
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as c:
        origin = {"Origin": STATIC_SITE}
        made = await c.post("/_consent", json={"categories": {"analytics": True}}, headers=origin)
        assert made.status_code == 200
        assert made.headers["access-control-allow-origin"] == STATIC_SITE
        token = made.json()["token"]
        c.cookies.clear()
        plain = (await c.get("/_consent", headers=origin)).json()
        assert plain["decided"] is False
        state = await c.get("/_consent", headers={**origin, "X-Kruimel-Consent": token})
        assert state.json()["decided"] is True and state.json()["id"] == made.json()["id"]
        assert state.json()["categories"]["analytics"] is True
        records = await c.get("/_consent/records", headers={**origin, "X-Kruimel-Consent": token})
        assert len(records.json()["records"]) == 1
        banner = await c.get("/_consent/banner?lang=en", headers=origin)
        assert banner.headers["access-control-allow-origin"] == STATIC_SITE
        # The settings layer banner.js fetches on a static site: preflighted for the token
        # header, and ticked as the token says.
        preflight = await c.options(
            "/_consent/banner?part=settings&lang=en",
            headers={
                **origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "x-kruimel-consent",
            },
        )
        assert preflight.status_code == 204
        assert "x-kruimel-consent" in preflight.headers["access-control-allow-headers"].lower()
        layer = await c.get(
            "/_consent/banner?part=settings&lang=en", headers={**origin, "X-Kruimel-Consent": token}
        )
        assert layer.headers["access-control-allow-origin"] == STATIC_SITE
        assert 'value="analytics" checked' in layer.text
        refused = await c.options(
            "/_consent/banner?part=settings",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert refused.status_code == 403


async def test_no_token_for_same_site_callers(client: httpx.AsyncClient) -> None:
    body = (await client.post("/_consent", json={"accept": "all"}, headers=SAME)).json()
    assert "token" not in body


# -- Global Privacy Control ----------------------------------------------------------------
async def test_gpc_state_and_accept_all_keeps_marketing_off(
    client: httpx.AsyncClient, store: Store
) -> None:
    gpc = {**SAME, "Sec-GPC": "1"}
    assert (await client.get("/_consent", headers=gpc)).json()["gpc"] is True
    body = (await client.post("/_consent", json={"accept": "all"}, headers=gpc)).json()
    assert body["gpc"] is True and body["categories"]["marketing"] is False
    assert body["categories"]["analytics"] is True
    explicit = {"categories": {"marketing": True}}
    later = (await client.post("/_consent", json=explicit, headers=gpc)).json()
    assert later["categories"]["marketing"] is True
    records = await _records(store)
    assert [r["action"] for r in records] == ["gpc", "custom"]
    assert [r["categories"]["marketing"] for r in records] == [False, True]


# -- withdrawing and changing: cookies of denied categories expire -------------------------
async def test_withdraw_expires_declared_cookies_and_is_recorded(
    client: httpx.AsyncClient, store: Store
) -> None:
    await client.post("/_consent", json={"accept": "all"}, headers=SAME)
    for name in ("_ga", "_ga_TEST1", "_pk_id.1.abc", "_pk_id.9.zzz", "visitor_id123456"):
        client.cookies.set(name, "v", domain="www.example.nl")
    response = await client.delete("/_consent", headers=SAME)
    assert response.status_code == 200
    assert response.json()["categories"] == ALL_OFF and response.json()["decided"] is True
    expired = _expired_names(response)
    assert {"_ga", "_ga_TEST1", "_pk_id.1.abc", "visitor_id123456", "lpv123456"} <= expired
    assert "_pk_id.9.zzz" not in expired and "kruimel_consent" not in expired
    domains = [c for c in _set_cookies(response) if c.startswith("_ga=")]
    assert any("Domain=example.nl" in c for c in domains)
    assert any("Domain" not in c for c in domains)
    assert [r["action"] for r in await _records(store)] == ["accept_all", "withdraw"]


@pytest.mark.parametrize("control", ["banner", "api"])
async def test_reject_all_after_consent_is_recorded_as_withdraw(
    client: httpx.AsyncClient, store: Store, control: str
) -> None:
    await client.post("/_consent", json={"accept": "none", "control": control}, headers=SAME)
    await client.post("/_consent", json={"accept": "all", "control": control}, headers=SAME)
    await client.post("/_consent", json={"accept": "none", "control": control}, headers=SAME)
    await client.post("/_consent", json={"accept": "none", "control": control}, headers=SAME)
    actions = [r["action"] for r in await _records(store)]
    assert actions == ["reject_all", "accept_all", "withdraw", "reject_all"]


async def test_change_expires_only_newly_denied_categories(client: httpx.AsyncClient) -> None:
    await client.post("/_consent", json={"accept": "all"}, headers=SAME)
    response = await client.post(
        "/_consent", json={"categories": {"analytics": True}}, headers=SAME
    )
    expired = _expired_names(response)
    assert "visitor_id123456" in expired and "VISITOR_INFO1_LIVE" not in expired
    assert "_ga" not in expired


async def test_refusal_expires_leftover_cookies_present(client: httpx.AsyncClient) -> None:
    client.cookies.set("_ga", "old", domain="www.example.nl")
    response = await client.post("/_consent", json={"accept": "none"}, headers=SAME)
    assert _expired_names(response) == {"_ga"}


# -- rights: access and erasure ------------------------------------------------------------
async def test_records_download_and_erase(
    client: httpx.AsyncClient, consent_log: ConsentLog
) -> None:
    erased: list[str] = []

    @consent_log.on_erase
    async def app_data(consent_id: str) -> str:
        erased.append(consent_id)
        return "2 newsletter preferences"

    consent_id = (await client.post("/_consent", json={"accept": "all"}, headers=SAME)).json()["id"]
    await client.delete("/_consent", headers=SAME)
    download = await client.get("/_consent/records")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    body = download.json()
    assert body["consent_id"] == consent_id
    assert [r["action"] for r in body["records"]] == ["accept_all", "withdraw"]
    assert all(r["consent_id"] == consent_id for r in body["records"])
    erase = await client.delete("/_consent/records", headers=SAME)
    assert erase.status_code == 200
    assert erased == [consent_id]
    result = erase.json()
    assert result["erased"] == ["2 newsletter preferences"]
    assert result["kept"]["records"] == 2 and "7(1)" in result["kept"]["why"]


async def test_records_of_undecided_visitor_are_empty(client: httpx.AsyncClient) -> None:
    assert (await client.get("/_consent/records")).json()["records"] == []


# -- policy, banner, static, errors --------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "headers", "lang"),
    [
        ("/_consent/policy", {}, "nl"),
        ("/_consent/policy?lang=en", {}, "en"),
        ("/_consent/policy", {"Accept-Language": "en-GB,en;q=0.9"}, "en"),
    ],
)
async def test_policy_page_language(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], lang: str
) -> None:
    response = await client.get(url, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f'<html lang="{lang}">' in response.text
    assert response.headers["content-language"] == lang


async def test_policy_json(client: httpx.AsyncClient) -> None:
    data = (await client.get("/_consent/policy?format=json&lang=en")).json()
    assert data["lang"] == "en"
    marketing = next(c for c in data["categories"] if c["name"] == "marketing")
    assert [s["name"] for s in marketing["services"]] == ["pardot", "youtube"]


async def test_banner_fragment_before_and_after_decision(client: httpx.AsyncClient) -> None:
    before = await client.get("/_consent/banner?lang=en&next=/page")
    assert before.status_code == 200 and 'id="kruimel-banner"' in before.text
    assert 'value="/page"' in before.text
    await client.post("/_consent", json={"accept": "none"}, headers=SAME)
    after = await client.get("/_consent/banner")
    assert 'id="kruimel-manage"' in after.text and 'id="kruimel-banner"' not in after.text
    # Which of the two comes back depends on the cookie or the X-Kruimel-Consent header (a
    # static site's stored choice), which no cache keys on: neither may be stored anywhere.
    assert before.headers["cache-control"] == after.headers["cache-control"] == "no-store"


async def test_banner_settings_part_is_the_layer_for_this_visitor(
    client: httpx.AsyncClient,
) -> None:
    """What banner.js fetches when the visitor opens the settings: the layer alone, with the
    boxes as the visitor's cookie says, and the page to come back to."""
    before = await client.get("/_consent/banner?part=settings&lang=en&next=/page")
    assert before.status_code == 200 and before.headers["cache-control"] == "no-store"
    assert before.text.startswith('<div class="kruimel-layer kruimel-settings" hidden>')
    assert 'value="/page"' in before.text and "checked disabled" in before.text
    assert 'value="analytics" checked' not in before.text
    await client.post("/_consent", json={"categories": {"analytics": True}}, headers=SAME)
    after = await client.get("/_consent/banner?part=settings&lang=en")
    assert 'value="analytics" checked' in after.text
    assert 'value="marketing" checked' not in after.text
    bad = await client.get("/_consent/banner?part=everything")
    assert bad.status_code == 400 and "part" in bad.json()["error"]


@pytest.mark.parametrize(("name", "kind"), [("banner.css", "text/css"), ("policy.css", "text/css")])
async def test_static_assets_served(client: httpx.AsyncClient, name: str, kind: str) -> None:
    response = await client.get(f"/_consent/static/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(kind)


async def test_unknown_path_and_method(client: httpx.AsyncClient) -> None:
    missing = await client.get("/_consent/nothing")
    assert missing.status_code == 404 and missing.json() == {"error": "not found"}
    wrong = await client.put("/_consent", headers=SAME)
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "DELETE, GET, HEAD, POST"
    assert (await client.post("/_consent/policy", headers=SAME)).status_code == 405


async def test_store_failure_gives_503_and_no_cookie(
    client: httpx.AsyncClient, store: Store
) -> None:
    store.close()
    response = await client.post("/_consent", json={"accept": "all"}, headers=SAME)
    assert response.status_code == 503 and "error" in response.json()
    assert not _set_cookies(response)


async def test_without_a_log_decisions_are_refused(config: ConsentConfig) -> None:
    transport = httpx.ASGITransport(app=ConsentEndpoints(config, None))
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as c:
        assert (await c.get("/_consent")).status_code == 200
        response = await c.post("/_consent", json={"accept": "all"}, headers=SAME)
    assert response.status_code == 503
    assert json.loads(response.text)["error"].startswith("no consent log")


# -- lapsed consent and the language preference ---------------------------------------------
async def test_decision_after_policy_change_records_expire_first(
    make_config: Callable[..., ConsentConfig], consent_log: ConsentLog, store: Store
) -> None:
    async def client_for(version: str) -> httpx.AsyncClient:
        app = ConsentEndpoints(make_config(policy_version=version), consent_log)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE)

    async with await client_for("1") as old:
        await old.post("/_consent", json={"accept": "all"}, headers=SAME)
        cookies = old.cookies
    async with await client_for("2") as new:
        new.cookies = cookies
        state = (await new.get("/_consent")).json()
        assert state["decided"] is False
        await new.post("/_consent", json={"accept": "none"}, headers=SAME)
        await new.post("/_consent", json={"accept": "all"}, headers=SAME)
    records = await _records(store)
    assert [(r["action"], r["policy_version"]) for r in records] == [
        ("accept_all", "1"),
        ("expire", "2"),
        ("reject_all", "2"),
        ("accept_all", "2"),
    ]
    assert len({r["consent_id"] for r in records}) == 1


async def test_explicit_language_is_remembered_in_functional_cookie(
    client: httpx.AsyncClient, config: ConsentConfig
) -> None:
    plain = await client.post("/_consent", json={"accept": "none"}, headers=SAME)
    assert not any(c.startswith("kruimel_lang=") for c in _set_cookies(plain))
    chosen = await client.post("/_consent", json={"accept": "none", "lang": "en"}, headers=SAME)
    lang = [c for c in _set_cookies(chosen) if c.startswith("kruimel_lang=")]
    assert lang == [
        f"kruimel_lang=en; Max-Age={config.lifetime_days * 86400}; Path=/; SameSite=Lax; Secure;"
        " HttpOnly"
    ]
    page = await client.get("/_consent/policy?lang=nl")
    assert any(c.startswith("kruimel_lang=nl;") for c in _set_cookies(page))
    assert 'lang="nl"' in page.text


# -- objecting to the anonymous statistics -------------------------------------------------
async def test_optout_sets_a_cookie_without_identifier_and_takes_it_back(
    client: httpx.AsyncClient, log_rows: Callable[[], int]
) -> None:
    assert (await client.get("/_consent/optout")).json() == {"optout": False}
    objected = await client.post("/_consent/optout", json={"optout": True}, headers=SAME)
    assert objected.status_code == 200 and objected.json() == {"optout": True}
    assert _set_cookies(objected) == [
        "kruimel_optout=1; Max-Age=34214400; Path=/; SameSite=Lax; Secure"
    ]
    assert (await client.get("/_consent/optout")).json() == {"optout": True}
    page = await client.get("/_consent/policy?lang=en")
    assert "You objected; your visits are not counted." in page.text
    assert 'name="optout" value="0"' in page.text
    back = await client.post(
        "/_consent/optout", data={"optout": "0", "next": "/shop"}, headers=SAME
    )
    assert back.status_code == 303 and back.headers["location"] == "/shop"
    assert _set_cookies(back)[0].startswith("kruimel_optout=; Max-Age=0;")
    assert (await client.get("/_consent/optout")).json() == {"optout": False}
    assert log_rows() == 0  # an objection is not a consent decision and carries no id


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": {"optout": "yes"}}, 400),
        ({"json": ["optout"]}, 400),
        ({"content": b"{", "headers": {"content-type": "application/json"}}, 400),
        ({"data": {"optout": "2"}}, 400),
        ({"content": b"optout=1", "headers": {"content-type": "text/csv"}}, 415),
    ],
)
async def test_optout_bad_input_is_refused(
    client: httpx.AsyncClient, kwargs: dict[str, Any], status: int
) -> None:
    headers = {**SAME, **kwargs.pop("headers", {})}
    response = await client.post("/_consent/optout", headers=headers, **kwargs)
    assert response.status_code == status and "error" in response.json()
    assert "set-cookie" not in response.headers


async def test_optout_cross_site_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/_consent/optout", json={"optout": True}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403 and "set-cookie" not in response.headers
