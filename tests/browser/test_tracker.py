"""The tracker in a real browser: a page view, SPA navigations and an engagement event reach
the collector and show in ``GET /_analytics/api/summary``; Plausible's own tracker (the npm
package) sending to Kruimel is counted too."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from browserkit import API_TOKEN, NODE_MODULES, Server
from playwright.sync_api import BrowserContext, Page, Request, Route

pytestmark = pytest.mark.browser

SITE = "127.0.0.1"
# What the browser does when a tab is hidden, for a headless page that is never hidden.
HIDE = """() => {
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def summary(server: Server, page: Page) -> dict[str, Any]:
    response = page.request.get(
        f"{server.url}/_analytics/api/summary?site={SITE}&period=day",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    assert response.ok, response.text()
    return dict(response.json())


def pageviews(result: dict[str, Any]) -> dict[str, int]:
    return {p["path"]: p["pageviews"] for p in result["pages"]}


def watch_events(context: BrowserContext) -> list[dict[str, Any]]:
    """Bodies of the events the pages send. (Playwright reports no response for a
    ``keepalive`` fetch, so whether the collector took them is read from the summary.)"""
    sent: list[dict[str, Any]] = []

    def on_request(request: Request) -> None:
        if request.url.endswith("/_analytics/api/event") and request.method == "POST":
            sent.append(json.loads(request.post_data or "{}"))

    context.on("request", on_request)
    return sent


def wait_for_summary(
    server: Server, page: Page, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The summary once ``done`` holds for it (events travel asynchronously)."""
    deadline = time.monotonic() + 20
    while True:
        result = summary(server, page)
        if done(result) or time.monotonic() > deadline:
            return result
        page.wait_for_timeout(200)


def sent_names(page: Page, sent: list[dict[str, Any]], count: int) -> list[str]:
    deadline = time.monotonic() + 10
    while len(sent) < count and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    return [e["n"] for e in sent]


def test_tracker_pageview_spa_navigation_and_engagement_counted(
    lab: Server, context: BrowserContext, page: Page
) -> None:
    sent = watch_events(context)
    answers: list[tuple[str, int]] = []

    def through(route: Route) -> None:
        # Passed on unchanged, to read the collector's answer to each event.
        response = route.fetch()
        answers.append((json.loads(route.request.post_data or "{}")["n"], response.status))
        route.fulfill(response=response)

    context.route("**/_analytics/api/event", through)
    before = pageviews(summary(lab, page))
    page.goto(lab.url + "/spa")
    page.wait_for_function("() => typeof window.kruimel.track === 'function'")
    page.click("#next")
    page.wait_for_url("**/spa/next")
    page.click("#last")
    page.wait_for_url("**/spa/last")
    page.go_back()
    page.wait_for_url("**/spa/next")
    page.wait_for_timeout(1200)
    # The tab goes to the background (as when switching tabs or leaving the page): the
    # tracker reports the visible time with a keepalive fetch.
    page.evaluate(HIDE)
    names = sent_names(page, sent, 8)
    assert names.count("pageview") == 4, names
    first = sent[0]
    assert first["d"] == SITE and first["u"].endswith("/spa") and first["w"] > 0
    engagements = [e for e in sent if e["n"] == "engagement"]
    # One per view left: /spa, /spa/next, /spa/last (SPA navigations), /spa/next (hidden).
    assert [e["u"].rsplit("/", 1)[-1] for e in engagements] == ["spa", "next", "last", "next"]
    assert engagements[-1]["e"] >= 1000
    deadline = time.monotonic() + 10
    while len(answers) < len(sent) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    # Every event answered 202; an engagement and the next page view leave together, so their
    # answers may arrive in either order.
    assert sorted(answers) == sorted((e["n"], 202) for e in sent)

    def counted(result: dict[str, Any]) -> bool:
        views = pageviews(result)
        return all(
            views.get(path, 0) - before.get(path, 0) >= n
            for path, n in (("/spa", 1), ("/spa/next", 2), ("/spa/last", 1))
        )

    after = wait_for_summary(lab, page, counted)
    views = pageviews(after)
    assert views.get("/spa", 0) - before.get("/spa", 0) == 1
    assert views.get("/spa/next", 0) - before.get("/spa/next", 0) == 2
    assert views.get("/spa/last", 0) - before.get("/spa/last", 0) == 1


def test_tracker_custom_event_counted(lab: Server, context: BrowserContext, page: Page) -> None:
    sent = watch_events(context)
    page.goto(lab.url + "/spa")
    page.wait_for_function("() => typeof window.kruimel.track === 'function'")
    page.evaluate("() => window.kruimel.track('Signup', {plan: 'brood'})")
    sent_names(page, sent, 2)
    (signup,) = [e for e in sent if e["n"] == "Signup"]
    assert signup["p"] == {"plan": "brood"}

    def has_signup(result: dict[str, Any]) -> bool:
        return any(e["name"] == "Signup" for e in result["events"])

    assert has_signup(wait_for_summary(lab, page, has_signup))


def test_tracker_outbound_links_and_downloads_when_asked(
    lab: Server, context: BrowserContext, page: Page
) -> None:
    sent = watch_events(context)
    page.goto(lab.url + "/spa")
    page.wait_for_function("() => typeof window.kruimel.track === 'function'")
    # Stay on the page: the tracker still sees the clicks (its listener is on document).
    page.evaluate("() => document.addEventListener('click', e => e.preventDefault())")
    page.click("#out")
    page.click("#file")
    page.click("#inside")
    sent_names(page, sent, 3)
    clicks = [(e["n"], e.get("p")) for e in sent if e["n"] not in ("pageview", "engagement")]
    assert clicks == [
        ("Outbound Link: Click", {"url": "https://example.org/bakery?x=1"}),
        ("File Download", {"url": lab.url + "/files/menu.pdf"}),
    ]


def test_tracker_hash_routing_when_asked(lab: Server, context: BrowserContext, page: Page) -> None:
    sent = watch_events(context)
    page.goto(lab.url + "/hash")
    page.wait_for_function("() => typeof window.kruimel.track === 'function'")
    page.evaluate("() => { location.hash = '#/menu'; }")
    sent_names(page, sent, 3)
    views = [e for e in sent if e["n"] == "pageview"]
    assert [v["u"] for v in views] == [lab.url + "/hash", lab.url + "/hash#/menu"]
    assert all(v["h"] == 1 for v in views)


def test_tracker_skips_automated_browser_unless_told(
    demo: Server, context: BrowserContext, page: Page
) -> None:
    # The demo page's tag has no data-automation: a webdriver-driven browser sends nothing.
    sent = watch_events(context)
    page.goto(demo.url + "/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => navigator.webdriver") is True
    assert page.evaluate("() => typeof window.kruimel.track") == "function"
    assert sent == []


def test_plausible_npm_tracker_counted(lab: Server, context: BrowserContext, page: Page) -> None:
    if not (NODE_MODULES / "@plausible-analytics" / "tracker" / "plausible.js").is_file():
        pytest.fail(f"Plausible's npm package is missing in {NODE_MODULES}: run make browser-deps")
    sent = watch_events(context)
    before = pageviews(summary(lab, page)).get("/plausible", 0)
    page.goto(lab.url + "/plausible")
    assert sent_names(page, sent, 1) == ["pageview"]
    assert sent[0]["v"]  # Plausible's own payload (its version field), not ours
    result = wait_for_summary(lab, page, lambda r: pageviews(r).get("/plausible", 0) - before >= 1)
    assert pageviews(result).get("/plausible", 0) - before == 1


def test_tracker_objection_from_the_declaration_stops_counting(
    lab: Server, context: BrowserContext, page: Page
) -> None:
    """REGULATION 15: the visitor objects on the cookie declaration (a plain form), and the
    tracker sends nothing from then on; taking it back resumes counting."""
    sent = watch_events(context)
    page.goto(lab.url + "/_consent/policy?lang=en")
    page.get_by_role("button", name="Do not count my visits").click()
    page.wait_for_load_state()
    assert [c["value"] for c in context.cookies() if c["name"] == "kruimel_optout"] == ["1"]
    page.goto(lab.url + "/spa")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => typeof window.kruimel.track") == "function"
    assert sent == []
    page.goto(lab.url + "/_consent/policy?lang=en")
    page.get_by_role("button", name="Count my visits again").click()
    page.wait_for_load_state()
    page.goto(lab.url + "/spa")
    assert "pageview" in sent_names(page, sent, 1)


def test_tracker_sends_no_cookies_and_nothing_after_an_objection(
    lab: Server, context: BrowserContext, page: Page
) -> None:
    """Issue 8: after "Accept all" the site holds the consent id and Pardot's visitor id, and
    the tracker's POSTs carry no Cookie header (the collector needs none); after an objection
    on the declaration page the tracker sends nothing at all."""
    posts: list[Request] = []

    def on_request(request: Request) -> None:
        if request.url.endswith("/_analytics/api/event") and request.method == "POST":
            posts.append(request)

    context.on("request", on_request)
    page.goto(lab.url + "/?lang=en")
    page.get_by_role("button", name="Accept all").click()
    page.wait_for_function("() => (window.kruimelStandins || {}).pardot === 1")
    names = {c["name"] for c in context.cookies()}
    assert {"kruimel_consent", "visitor_id123456"} <= names
    before = len(posts)
    page.goto(lab.url + "/spa")
    page.wait_for_function("() => typeof window.kruimel.track === 'function'")
    page.evaluate("() => window.kruimel.track('Signup')")
    deadline = time.monotonic() + 10
    while len(posts) < before + 2 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    sent = posts[before:]
    assert len(sent) >= 2
    # The headers the browser really sent (Playwright reads them from the network stack).
    headers = [request.all_headers() for request in sent]
    assert [h.get("cookie") for h in headers] == [None] * len(sent), headers

    page.goto(lab.url + "/_consent/policy?lang=en")
    page.get_by_role("button", name="Do not count my visits").click()
    page.wait_for_load_state()
    objected = len(posts)
    page.goto(lab.url + "/spa")
    page.wait_for_function("() => typeof window.kruimel.track === 'function'")
    page.evaluate("() => window.kruimel.track('Signup')")
    page.evaluate(HIDE)
    page.wait_for_load_state("networkidle")
    assert posts[objected:] == []
