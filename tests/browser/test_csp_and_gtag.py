"""Under ``Content-Security-Policy: default-src 'self'; script-src 'self' 'nonce-...'`` the
banner works, re-created gated scripts (external and inline) run with the page's nonce, no
violation is reported, and Google Consent Mode receives an update on every change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browserkit import Server, new_context, standins
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

pytestmark = pytest.mark.browser

REPORT_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """An English-speaking visitor: the lab page is in English, and so is the banner."""
    ctx = new_context(browser, locale="en-GB")
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


def watch(page: Page) -> list[str]:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.add_init_script(REPORT_VIOLATIONS)
    return problems


def consent_updates(page: Page) -> list[dict[str, str]]:
    return list(
        page.evaluate(
            "() => window.dataLayer.filter(a => a[0] === 'consent' && a[1] === 'update')"
            ".map(a => a[2])"
        )
    )


def test_strict_csp_banner_and_gated_scripts_without_violation(lab: Server, page: Page) -> None:
    problems = watch(page)
    response = page.goto(lab.url + "/")
    assert response is not None
    assert "'nonce-" in response.headers["content-security-policy"]
    expect(page.locator("#kruimel-banner .kruimel-first")).to_be_visible()
    page.get_by_role("button", name="Settings").click()
    expect(page.locator(".kruimel-settings")).to_be_visible()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Accept all").click()
    page.wait_for_function("() => (window.kruimelStandins || {}).analytics === 1")
    page.wait_for_function("() => (window.kruimelStandins || {}).pardot === 1")
    page.wait_for_function("() => window.inlineGated === 1")
    page.wait_for_function("() => window.moduleGated === 1")  # data-type="module"
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.cspViolations") == []
    assert problems == []
    # Served active on the next load, with that response's nonce.
    page.reload()
    page.wait_for_function("() => window.inlineGated === 1")
    assert standins(page) == {"pardot": 1, "analytics": 1}
    assert page.evaluate("() => window.cspViolations") == []
    assert problems == []


def test_gtag_consent_update_on_every_change(lab: Server, page: Page) -> None:
    problems = watch(page)
    page.goto(lab.url + "/")
    # The middleware's own default (and current state) come first, before any Google tag.
    served = len(consent_updates(page))
    page.get_by_role("button", name="Settings").click()
    page.locator(".kruimel-settings").get_by_role("checkbox", name="Statistics").check()
    page.get_by_role("button", name="Save choice").click()
    page.wait_for_function("() => window.inlineGated === 1")
    (update,) = consent_updates(page)[served:]
    assert update["analytics_storage"] == "granted"
    assert update["ad_storage"] == "denied"
    assert update["ad_user_data"] == "denied" and update["ad_personalization"] == "denied"
    # Withdrawal sends 'update' as well, before the reload that drops the scripts that ran:
    # the calls made on this page are kept in sessionStorage to be read after the reload.
    page.evaluate(
        "() => { const g = window.gtag; window.gtag = function () {"
        " sessionStorage.setItem('gtag', JSON.stringify(Array.from(arguments)));"
        " return g.apply(this, arguments); }; }"
    )
    page.evaluate("() => window.kruimel.open()")
    page.locator(".kruimel-settings").get_by_role("checkbox", name="Statistics").uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Save choice").click()
    page.wait_for_load_state()
    before_reload = page.evaluate("() => JSON.parse(sessionStorage.getItem('gtag'))")
    assert before_reload[:2] == ["consent", "update"]
    assert before_reload[2]["analytics_storage"] == "denied"
    # After the reload the banner reports the current (withdrawn) state to gtag at once.
    updates = consent_updates(page)
    assert updates and updates[-1]["analytics_storage"] == "denied"
    assert page.evaluate("() => window.cspViolations") == []
    assert problems == []
