"""Accessibility and layout of the banner: axe-core finds no violation on the first layer and
the settings, light and dark; the three first-layer buttons are styled alike with at least
4.5:1 contrast; the banner causes no layout shift (CLS 0)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from browserkit import Server, new_context
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

BUTTONS = ("Alles accepteren", "Alles weigeren", "Instellingen")
STYLE = ("font-family", "font-size", "font-weight", "color", "background-color", "border-color")


@pytest.fixture(params=["light", "dark"])
def scheme_page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    ctx = new_context(browser, color_scheme=request.param, reduced_motion="reduce")
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


def _violations(page: Page) -> list[str]:
    """axe-core's violations on the whole page (banner included, as the visitor meets it)."""
    response = Axe().run(page).response
    checked = {rule["id"] for rule in response["passes"]}
    assert {"color-contrast", "button-name", "region"} <= checked, checked
    return [f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in response["violations"]]


def test_axe_no_violations_first_layer_and_settings(demo: Server, scheme_page: Page) -> None:
    scheme_page.goto(demo.url + "/")
    expect(scheme_page.locator(".kruimel-first")).to_be_visible()
    assert _violations(scheme_page) == []
    scheme_page.get_by_role("button", name="Instellingen").click()
    expect(scheme_page.locator(".kruimel-settings")).to_be_visible()
    for details in scheme_page.locator(".kruimel-settings details").all():
        details.locator("summary").click()
    assert _violations(scheme_page) == []


def _rgb(value: str) -> tuple[float, float, float]:
    parts = [float(p) for p in re.findall(r"[\d.]+", value)[:3]]
    return parts[0], parts[1], parts[2]


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(_rgb(a)), _luminance(_rgb(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_first_layer_buttons_equal_and_contrasting(demo: Server, scheme_page: Page) -> None:
    scheme_page.goto(demo.url + "/")
    styles = []
    for name in BUTTONS:
        button = scheme_page.get_by_role("button", name=name)
        style = button.evaluate(
            "(el, keys) => { const s = getComputedStyle(el), r = el.getBoundingClientRect();"
            " return Object.assign({width: Math.round(r.width), height: Math.round(r.height)},"
            " Object.fromEntries(keys.map(k => [k, s.getPropertyValue(k)]))); }",
            list(STYLE),
        )
        styles.append(style)
        assert contrast(style["color"], style["background-color"]) >= 4.5, style
    assert all(s == styles[0] for s in styles), styles
    layer = scheme_page.locator(".kruimel-first").evaluate(
        "el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]"
    )
    assert contrast(*layer) >= 4.5


CLS_OBSERVER = """
window.layoutShift = 0;
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (e) { if (!e.hadRecentInput) window.layoutShift += e.value; });
}).observe({type: 'layout-shift', buffered: true});
"""


def test_banner_causes_no_layout_shift(demo: Server, browser: Browser) -> None:
    # Motion left on: the slide-in must not count as a shift of the page content either.
    ctx = new_context(browser)
    try:
        page = ctx.new_page()
        page.add_init_script(CLS_OBSERVER)
        page.goto(demo.url + "/")
        expect(page.locator(".kruimel-first")).to_be_visible()
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)
        assert page.evaluate("() => window.layoutShift") == 0
        page.get_by_role("button", name="Alles weigeren").click()
        expect(page.get_by_role("button", name="Cookie-instellingen")).to_be_visible()
        page.wait_for_timeout(300)
        page.goto(demo.url + "/assortiment")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.layoutShift") == 0
    finally:
        ctx.close()
