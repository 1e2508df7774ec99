"""examples/static-site: plain files on one origin, ``kruimel serve`` on another. The one-tag
snippet shows the banner, keeps the marked scripts inert until consent, stores the signed
choice as a first-party cookie of the static site, and counts the visit without cookies."""

from __future__ import annotations

import time

import pytest
from browserkit import API_TOKEN, Server, document_cookies, optional_cookies, standins
from playwright.sync_api import BrowserContext, Page, Response, expect

pytestmark = pytest.mark.browser


def test_static_site_default_deny_then_accept_and_remember(
    static: tuple[Server, Server], context: BrowserContext, page: Page
) -> None:
    site, collector = static
    urls: list[str] = []
    context.on("request", lambda request: urls.append(request.url))
    page.goto(site.url + "/index.html")
    expect(page.locator("#kruimel-banner .kruimel-first")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert standins(page) == {}
    assert optional_cookies(context) == set()
    assert not [u for u in urls if "standin/" in u or "youtube" in u]
    # The banner came from the collector; its consent links point there, the privacy link not.
    declaration = page.get_by_role("link", name="Cookieverklaring")
    assert (declaration.get_attribute("href") or "").startswith(collector.url + "/_consent/")
    banner = page.locator("#kruimel-banner")
    privacy = banner.get_by_role("link", name="Privacyverklaring")
    assert privacy.get_attribute("href") == "/privacy.html"

    page.evaluate("() => { window.sameDocument = true; }")
    page.get_by_role("button", name="Alles accepteren").click()
    page.wait_for_function("() => (window.kruimelStandins || {}).pardot === 1")
    assert page.evaluate("() => window.sameDocument") is True
    cookies = {c["name"]: c for c in context.cookies(site.url)}
    token = cookies["kruimel_consent"]
    assert token["domain"] == "localhost" and token["sameSite"] == "Lax"
    assert token["expires"] > 0
    assert "visitor_id123456" in document_cookies(page)

    # Next page of the static site: the snippet sends the token back, the collector renders
    # the small manage control, and the allowed scripts run without asking again.
    page.goto(site.url + "/privacy.html")
    expect(page.get_by_role("button", name="Cookie-instellingen")).to_be_visible()
    assert page.locator("#kruimel-banner").count() == 0
    page.wait_for_function("() => (window.kruimelStandins || {}).analytics === 1")
    state = page.evaluate("() => window.kruimel.consent")
    assert state["decided"] is True and state["categories"]["marketing"] is True


def test_static_site_reject_all_sticks(
    static: tuple[Server, Server], context: BrowserContext, page: Page
) -> None:
    site, _ = static
    urls: list[str] = []
    context.on("request", lambda request: urls.append(request.url))
    page.goto(site.url + "/index.html")
    page.get_by_role("button", name="Alles weigeren").click()
    expect(page.get_by_role("button", name="Cookie-instellingen")).to_be_visible()
    for path in ("/privacy.html", "/index.html", "/privacy.html"):
        page.goto(site.url + path)
        expect(page.get_by_role("button", name="Cookie-instellingen")).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert standins(page) == {}
    assert optional_cookies(context) == set()
    assert not [u for u in urls if "standin/" in u or "youtube" in u]


def test_static_site_tracker_counts_pageview(
    static: tuple[Server, Server], context: BrowserContext, page: Page
) -> None:
    site, collector = static
    sent: list[str] = []
    context.on(
        "request",
        lambda r: sent.append(r.post_data or "") if r.url.endswith("/api/event") else None,
    )
    # The example's tag carries data-local but not data-automation; tell the tracker here.
    context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'webdriver', {get: () => false})"
    )
    page.goto(site.url + "/index.html")
    page.wait_for_function("() => typeof (window.kruimel || {}).track === 'function'")
    deadline = time.monotonic() + 20
    views = 0
    while time.monotonic() < deadline:
        response = page.request.get(
            f"{collector.url}/_analytics/api/summary?site=localhost&period=day",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        )
        assert response.ok, response.text()
        views = response.json()["totals"]["pageviews"]
        if views:
            break
        page.wait_for_timeout(200)
    assert views == 1
    assert len(sent) == 1 and '"d":"localhost"' in sent[0]


def test_static_site_objection_is_kept_on_the_site_and_stops_the_tracker(
    static: tuple[Server, Server], context: BrowserContext, page: Page
) -> None:
    """REGULATION 15 on a static site: the objection must live where the tracker runs."""
    site, _ = static
    views: list[str] = []
    context.on(
        "request",
        lambda r: (
            views.append(r.url)
            if r.url.endswith("/api/event") and '"n":"pageview"' in (r.post_data or "")
            else None
        ),
    )
    context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'webdriver', {get: () => false})"
    )

    def wait_for_views(count: int) -> None:
        deadline = time.monotonic() + 10
        while len(views) < count and time.monotonic() < deadline:
            page.wait_for_timeout(100)

    page.goto(site.url + "/privacy.html")
    wait_for_views(1)
    button = page.locator("#optout")
    button.click()
    expect(button).to_have_text("Tel mijn bezoeken weer mee")
    expect(button).to_have_attribute("aria-pressed", "true")
    assert [c["value"] for c in context.cookies(site.url) if c["name"] == "kruimel_optout"] == ["1"]
    page.goto(site.url + "/index.html")
    page.wait_for_load_state("networkidle")
    page.goto(site.url + "/privacy.html")
    page.wait_for_load_state("networkidle")
    assert len(views) == 1  # nothing counted while the objection stands
    page.locator("#optout").click()
    expect(page.locator("#optout")).to_have_text("Tel mijn bezoeken niet mee")
    page.goto(site.url + "/index.html")
    wait_for_views(2)
    assert len(views) == 2


def test_static_site_settings_layer_comes_from_the_collector_with_the_choice(
    static: tuple[Server, Server], page: Page
) -> None:
    """The settings layer is fetched from the collector when opened; the first-party token
    goes along, so the boxes show the choice made, and a change is stored the same way."""
    site, collector = static
    page.goto(site.url + "/index.html")
    page.get_by_role("button", name="Alles accepteren").click()
    expect(page.get_by_role("button", name="Cookie-instellingen")).to_be_visible()
    page.goto(site.url + "/privacy.html")
    expect(page.locator(".kruimel-settings")).to_have_count(0)
    with page.expect_response(lambda r: "part=settings" in r.url) as fetched:
        page.get_by_role("button", name="Cookie-instellingen").click()
    assert fetched.value.url.startswith(collector.url + "/_consent/banner?part=settings")
    settings = page.locator(".kruimel-settings")
    expect(settings.get_by_role("checkbox", name="Marketing")).to_be_checked()
    settings.get_by_role("checkbox", name="Marketing").uncheck()
    settings.get_by_role("button", name="Keuze opslaan").click()
    page.wait_for_function("() => window.kruimel.consent.categories.marketing === false")
    assert page.evaluate("() => window.kruimel.consent.categories.analytics") is True
    # The next page asks the collector with the new token: marketing stays off.
    page.goto(site.url + "/index.html")
    expect(page.get_by_role("button", name="Cookie-instellingen")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => window.kruimel.consent.categories.marketing") is False
    assert "pardot" not in standins(page)


def test_static_site_settings_layer_fetch_failure_tries_again(
    static: tuple[Server, Server], page: Page
) -> None:
    """On a static site the policy page is the collector's, so a failed fetch of the layer is
    not answered by leaving the site: the next click tries again."""
    site, _ = static
    page.route("**/_consent/banner?part=settings*", lambda route: route.abort())
    page.goto(site.url + "/index.html")
    expect(page.locator("#kruimel-banner .kruimel-first")).to_be_visible()
    with page.expect_event("requestfailed", lambda r: "part=settings" in r.url):
        page.get_by_role("button", name="Instellingen").click()
    assert page.url == site.url + "/index.html"
    expect(page.locator(".kruimel-settings")).to_have_count(0)
    page.unroute("**/_consent/banner?part=settings*")
    page.get_by_role("button", name="Instellingen").click()
    expect(page.locator(".kruimel-settings")).to_be_visible()


def test_static_site_loads_banner_files_versioned_and_precompressed(
    static: tuple[Server, Server], context: BrowserContext, page: Page
) -> None:
    """Issue 9: the snippet asks for the tracker and the banner files with their content hash
    (a year in the cache, not an hour) and Chromium gets the build's brotli copies."""
    site, collector = static
    responses: list[Response] = []
    context.on(
        "response", lambda r: responses.append(r) if r.url.startswith(collector.url) else None
    )
    page.goto(site.url + "/index.html")
    expect(page.locator("#kruimel-banner .kruimel-first")).to_be_visible()
    page.wait_for_load_state("networkidle")
    loaded = {r.url.split("?")[0].rsplit("/", 1)[-1]: r for r in responses if "?v=" in r.url}
    assert {"script.js", "banner.css", "banner.js"} <= set(loaded), [r.url for r in responses]
    for name, response in loaded.items():
        headers = response.all_headers()
        assert response.status == 200, name
        assert headers["cache-control"] == "public, max-age=31536000, immutable", name
        assert headers.get("content-encoding") == "br", name
        assert headers["vary"] == "Accept-Encoding", name
