"""The consent banner in a real Chromium, against ``kruimel demo``: default deny, refusal that
sticks, consent that runs the Pardot stand-in once without a reload, per-category settings,
withdrawal, GPC, and the plain forms with JavaScript switched off."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from browserkit import (
    Server,
    document_cookies,
    new_context,
    optional_cookies,
    standins,
)
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

pytestmark = pytest.mark.browser

GATED = ("/standin/", "youtube-nocookie.com")


def gated_requests(urls: list[str]) -> list[str]:
    return [u for u in urls if any(g in u for g in GATED)]


def watch_requests(context: BrowserContext) -> list[str]:
    urls: list[str] = []
    context.on("request", lambda request: urls.append(request.url))
    return urls


def first_layer(page: Page) -> None:
    expect(page.locator("#kruimel-banner .kruimel-first")).to_be_visible()


def manage_button(page: Page) -> None:
    expect(page.get_by_role("button", name="Cookie-instellingen")).to_be_visible()


def server_state(page: Page, server: Server) -> dict[str, object]:
    """``GET /_consent`` with the page's own cookies."""
    response = page.request.get(server.url + "/_consent")
    assert response.ok
    return dict(response.json())


def test_default_deny_before_any_choice(demo: Server, context: BrowserContext, page: Page) -> None:
    urls = watch_requests(context)
    for path in ("/", "/nieuwsbrief", "/assortiment"):
        page.goto(demo.url + path)
        page.wait_for_load_state("networkidle")
        first_layer(page)
        assert standins(page) == {}
        assert document_cookies(page) == set()
        assert optional_cookies(context) == set()
        assert page.locator('script[type="text/plain"][data-consent]').count() >= 1
    page.goto(demo.url + "/")
    assert page.locator("iframe[data-consent]").get_attribute("src") is None
    assert gated_requests(urls) == []
    assert page.evaluate("() => window.kruimel.consent.decided") is False


def test_reject_all_sticks_for_five_page_loads(
    demo: Server, context: BrowserContext, page: Page
) -> None:
    urls = watch_requests(context)
    page.goto(demo.url + "/")
    page.evaluate("() => { window.sameDocument = true; }")
    page.get_by_role("button", name="Alles weigeren").click()
    manage_button(page)
    expect(page.locator(".kruimel-first")).to_be_hidden()
    assert page.evaluate("() => window.sameDocument") is True  # no reload
    assert server_state(page, demo)["decided"] is True
    for path in ("/", "/nieuwsbrief", "/assortiment", "/privacy", "/"):
        page.goto(demo.url + path)
        page.wait_for_load_state("networkidle")
        assert page.locator("#kruimel-banner").count() == 0
        manage_button(page)
        assert standins(page) == {}
        assert optional_cookies(context) == set()
    assert gated_requests(urls) == []
    assert {c["name"] for c in context.cookies()} >= {"kruimel_consent"}


def test_accept_all_runs_standin_once_without_reload(
    demo: Server, context: BrowserContext, page: Page
) -> None:
    urls = watch_requests(context)
    page.goto(demo.url + "/")
    page.evaluate("() => { window.sameDocument = true; }")
    events = page.evaluate_handle(
        "() => { const seen = []; document.addEventListener('kruimel:consent',"
        " e => seen.push(e.detail)); return seen; }"
    )
    page.get_by_role("button", name="Alles accepteren").click()
    page.wait_for_function("() => (window.kruimelStandins || {}).pardot === 1")
    page.wait_for_function("seen => seen.length === 1", arg=events)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => window.sameDocument") is True
    assert standins(page) == {"pardot": 1}
    assert page.locator("iframe[data-consent]").get_attribute("src", timeout=1000)
    assert any("youtube-nocookie.com" in u for u in urls)
    assert "visitor_id123456" in optional_cookies(context)
    detail = events.evaluate("seen => seen[0]")
    assert detail["decided"] is True and detail["categories"]["marketing"] is True
    # The next page load is served with the marketing script already active.
    page.goto(demo.url + "/")
    page.wait_for_function("() => (window.kruimelStandins || {}).pardot === 1")
    assert page.locator('script[data-consent="marketing"][data-consent-active]').count() == 1
    assert page.locator('script[type="text/plain"][data-consent="marketing"]').count() == 0
    page.wait_for_load_state("networkidle")
    assert standins(page) == {"pardot": 1}


def test_settings_analytics_only_runs_only_analytics(
    demo: Server, context: BrowserContext, page: Page
) -> None:
    urls = watch_requests(context)
    page.goto(demo.url + "/assortiment")
    page.get_by_role("button", name="Instellingen").click()
    settings = page.locator(".kruimel-settings")
    expect(settings).to_be_visible()
    for box in settings.locator('input[name="categories"]:not([disabled])').all():
        expect(box).not_to_be_checked()
    settings.get_by_role("checkbox", name="Statistieken").check()
    settings.get_by_role("button", name="Keuze opslaan").click()
    page.wait_for_function("() => (window.kruimelStandins || {}).analytics === 1")
    manage_button(page)
    state = server_state(page, demo)
    assert state["categories"] == {
        "necessary": True,
        "preferences": False,
        "analytics": True,
        "marketing": False,
    }
    page.goto(demo.url + "/")
    page.wait_for_load_state("networkidle")
    assert standins(page) == {}
    assert page.locator("iframe[data-consent]").get_attribute("src") is None
    assert not any("pardot" in u or "youtube" in u for u in urls)
    assert not any(n.startswith("visitor_id") for n in optional_cookies(context))


def test_withdraw_removes_category_cookies_and_reloads(
    demo: Server, context: BrowserContext, page: Page
) -> None:
    page.goto(demo.url + "/")
    page.get_by_role("button", name="Alles accepteren").click()
    page.wait_for_function("() => (window.kruimelStandins || {}).pardot === 1")
    assert {"visitor_id123456", "lpv123456"} <= optional_cookies(context)
    page.get_by_role("button", name="Cookie-instellingen").click()
    settings = page.locator(".kruimel-settings")
    settings.get_by_role("checkbox", name="Marketing").uncheck()
    # The Pardot script already ran and cannot be unloaded: the page reloads once the server
    # has expired the marketing cookies.
    with page.expect_navigation():
        settings.get_by_role("button", name="Keuze opslaan").click()
    page.wait_for_load_state("networkidle")
    assert not {"visitor_id123456", "lpv123456"} & optional_cookies(context)
    assert not {"visitor_id123456", "lpv123456"} & document_cookies(page)
    assert standins(page) == {}
    manage_button(page)
    assert page.locator("#kruimel-banner").count() == 0
    assert page.evaluate("() => window.kruimel.consent.categories.marketing") is False
    # The settings layer is not on the page; opening it fetches it, ticked as chosen.
    expect(page.locator(".kruimel-settings")).to_have_count(0)
    page.get_by_role("button", name="Cookie-instellingen").click()
    expect(page.locator("#kruimel-cat-marketing")).not_to_be_checked()
    expect(page.locator("#kruimel-cat-analytics")).to_be_checked()
    assert server_state(page, demo)["categories"]["marketing"] is False  # type: ignore[index]


def test_withdraw_all_from_manage_button(demo: Server, context: BrowserContext, page: Page) -> None:
    page.goto(demo.url + "/assortiment")
    page.get_by_role("button", name="Alles accepteren").click()
    page.wait_for_function("() => (window.kruimelStandins || {}).analytics === 1")
    page.goto(demo.url + "/")
    page.wait_for_function("() => (window.kruimelStandins || {}).pardot === 1")
    page.get_by_role("button", name="Cookie-instellingen").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Toestemming intrekken").click()
    page.wait_for_load_state("networkidle")
    assert optional_cookies(context) == set()
    assert standins(page) == {}
    state = server_state(page, demo)
    assert state["decided"] is True
    assert state["categories"] == {
        "necessary": True,
        "preferences": False,
        "analytics": False,
        "marketing": False,
    }


def test_failed_fetch_falls_back_to_form_post(
    demo: Server, context: BrowserContext, page: Page
) -> None:
    def json_fails(route: Route) -> None:
        if "application/json" in (route.request.headers.get("content-type") or ""):
            route.abort()
        else:
            route.fallback()

    page.route(demo.url + "/_consent", json_fails)
    page.goto(demo.url + "/assortiment")
    with page.expect_navigation():
        page.get_by_role("button", name="Alles weigeren").click()
    page.wait_for_url(demo.url + "/assortiment")
    assert page.locator("#kruimel-manage").count() == 1
    state = server_state(page, demo)
    assert state["decided"] is True and state["categories"]["analytics"] is False  # type: ignore[index]


@pytest.fixture
def gpc_context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = new_context(browser, extra_http_headers={"Sec-GPC": "1"})
    ctx.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
    )
    try:
        yield ctx
    finally:
        ctx.close()


def test_gpc_denies_marketing(demo: Server, gpc_context: BrowserContext) -> None:
    urls = watch_requests(gpc_context)
    page = gpc_context.new_page()
    page.goto(demo.url + "/")
    assert page.evaluate("() => navigator.globalPrivacyControl") is True
    first_layer(page)
    assert page.evaluate("() => window.kruimel.consent.gpc") is True
    expect(page.locator(".kruimel-gpc")).to_be_visible()
    assert page.evaluate("() => window.kruimel.consent.categories.marketing") is False
    page.get_by_role("button", name="Instellingen").click()
    expect(page.locator("#kruimel-cat-marketing")).not_to_be_checked()
    page.get_by_role("button", name="Sluiten").click()
    page.get_by_role("button", name="Alles accepteren").click()
    manage_button(page)
    page.wait_for_load_state("networkidle")
    state = server_state(page, demo)
    assert state["gpc"] is True
    assert state["categories"]["marketing"] is False  # type: ignore[index]
    assert state["categories"]["analytics"] is True  # type: ignore[index]
    assert page.evaluate("() => window.kruimel.consent.categories.marketing") is False
    page.goto(demo.url + "/")
    page.wait_for_load_state("networkidle")
    assert standins(page) == {}
    assert not any("pardot" in u or "youtube" in u for u in urls)
    assert optional_cookies(gpc_context) == set()


def test_javascript_disabled_forms_record_choices(demo: Server, browser: Browser) -> None:
    ctx = new_context(browser, java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto(demo.url + "/assortiment")
        page.get_by_role("button", name="Alles weigeren").click()
        page.wait_for_url(demo.url + "/assortiment")
        assert page.locator("#kruimel-banner").count() == 0
        assert page.locator("#kruimel-manage").count() == 1
        assert json.loads(page.request.get(demo.url + "/_consent").text())["decided"] is True
        # Change the choice without JavaScript: the manage button opens the settings page.
        page.get_by_role("button", name="Cookie-instellingen").click()
        page.wait_for_url("**/_consent/policy**")
        page.get_by_role("checkbox", name="Statistieken").check()
        page.get_by_role("button", name="Keuze opslaan").click()
        page.wait_for_load_state()
        state = json.loads(page.request.get(demo.url + "/_consent").text())
        assert state["categories"]["analytics"] is True
        assert state["categories"]["marketing"] is False
        assert optional_cookies(ctx) == set()
        # ... and withdraw it again, still without JavaScript.
        page.goto(demo.url + "/_consent/policy")
        page.get_by_role("button", name="Toestemming intrekken").click()
        page.wait_for_load_state()
        state = json.loads(page.request.get(demo.url + "/_consent").text())
        assert state["categories"]["analytics"] is False
    finally:
        ctx.close()


def test_javascript_disabled_settings_button_opens_settings_form(
    demo: Server, browser: Browser
) -> None:
    ctx = new_context(browser, java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto(demo.url + "/")
        page.get_by_role("button", name="Instellingen").click()
        page.wait_for_url("**/_consent/policy**")
        page.get_by_role("checkbox", name="Marketing").check()
        page.get_by_role("button", name="Keuze opslaan").click()
        page.wait_for_load_state()
        state = json.loads(page.request.get(demo.url + "/_consent").text())
        assert state["decided"] is True and state["categories"]["marketing"] is True
        page.goto(demo.url + "/")
        assert page.locator('script[data-consent="marketing"][data-consent-active]').count() == 1
    finally:
        ctx.close()


def test_keyboard_focus_tab_order_and_escape(demo: Server, page: Page) -> None:
    page.goto(demo.url + "/")
    first_layer(page)
    assert page.evaluate("() => !!document.activeElement.closest('#kruimel-banner')")
    names = []
    for _ in range(5):
        page.keyboard.press("Tab")
        names.append(page.evaluate("() => document.activeElement.textContent.trim()"))
    assert names == [
        "Privacyverklaring",
        "Cookieverklaring",
        "Alles accepteren",
        "Alles weigeren",
        "Instellingen",
    ]
    page.keyboard.press("Enter")
    expect(page.locator(".kruimel-settings")).to_be_visible()
    assert page.evaluate("() => document.activeElement.id") == "kruimel-settings-title"
    page.keyboard.press("Tab")
    assert page.evaluate("() => !!document.activeElement.closest('.kruimel-settings')")
    page.keyboard.press("Escape")
    expect(page.locator(".kruimel-settings")).to_be_hidden()
    first_layer(page)
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Instellingen"


def test_window_kruimel_open_shows_settings_after_decision(demo: Server, page: Page) -> None:
    page.goto(demo.url + "/")
    page.get_by_role("button", name="Alles weigeren").click()
    manage_button(page)
    page.evaluate("() => window.kruimel.open()")
    expect(page.locator(".kruimel-settings")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(".kruimel-settings")).to_be_hidden()
    assert page.evaluate("() => document.activeElement.textContent.trim()") == (
        "Cookie-instellingen"
    )


def test_settings_layer_is_fetched_once_when_opened(demo: Server, page: Page) -> None:
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "part=settings" in r.url else None)
    page.goto(demo.url + "/assortiment?x=1")
    first_layer(page)
    expect(page.locator(".kruimel-settings")).to_have_count(0)
    assert fetched == []
    for _ in range(2):
        page.get_by_role("button", name="Instellingen").click()
        expect(page.locator(".kruimel-settings")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator(".kruimel-settings")).to_be_hidden()
    assert len(fetched) == 1 and "next=%2Fassortiment%3Fx%3D1" in fetched[0]


def test_settings_layer_arriving_after_a_choice_stays_closed_and_ticked_as_chosen(
    demo: Server, page: Page
) -> None:
    """A slow network: the visitor opens the settings, then accepts on the first layer before
    the layer arrives. The layer (rendered from the old, undecided cookie) must not pop up
    over the page, and its boxes must say what was chosen."""
    held: list[Route] = []
    page.route("**/_consent/banner?part=settings*", lambda route: held.append(route))
    page.goto(demo.url + "/")
    page.get_by_role("button", name="Instellingen").click()
    for _ in range(200):  # until the request is held (not a timing assert)
        if held:
            break
        page.wait_for_timeout(25)
    assert len(held) == 1
    page.get_by_role("button", name="Alles accepteren").click()
    manage_button(page)
    held[0].continue_()
    expect(page.locator(".kruimel-settings")).to_have_count(1)
    expect(page.locator(".kruimel-settings")).to_be_hidden()
    expect(page.locator("#kruimel-cat-marketing")).to_be_checked()
    page.get_by_role("button", name="Cookie-instellingen").click()
    expect(page.locator(".kruimel-settings")).to_be_visible()
    expect(page.locator("#kruimel-cat-analytics")).to_be_checked()


def test_settings_layer_unreachable_opens_the_settings_page(demo: Server, page: Page) -> None:
    page.route("**/_consent/banner?part=settings*", lambda route: route.abort())
    page.goto(demo.url + "/assortiment")
    with page.expect_navigation():
        page.get_by_role("button", name="Instellingen").click()
    # The same place a visitor without JavaScript goes: the settings form on the policy page.
    assert "/_consent/policy?lang=nl&next=%2Fassortiment" in page.url
    expect(page.locator("form.kruimel-settings-form")).to_be_visible()


def test_banner_fits_320px_with_equal_buttons(demo: Server, browser: Browser) -> None:
    ctx = new_context(browser, viewport={"width": 320, "height": 640})
    try:
        page = ctx.new_page()
        page.goto(demo.url + "/")
        first_layer(page)
        boxes = []
        for name in ("Alles accepteren", "Alles weigeren", "Instellingen"):
            button = page.get_by_role("button", name=name)
            expect(button).to_be_in_viewport()
            box = button.bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= 320
            boxes.append((round(box["width"]), round(box["height"])))
        assert len(set(boxes)) == 1, boxes
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 320
    finally:
        ctx.close()
