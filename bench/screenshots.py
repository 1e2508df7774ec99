"""Screenshots of the banner for the README (``make screenshots``).

Starts ``kruimel demo`` on a free port with a throw-away data directory, drives Debian's
Chromium through Playwright and writes PNGs into docs/img/: the first layer, the settings,
dark mode, a 320 px wide phone, and the small "cookie settings" button after a choice.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img"
# One way to start Chromium and the demo: the browser tests' own helpers.
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from browserkit import CHROMIUM, CHROMIUM_ARGS, kruimel_demo, new_context  # noqa: E402


def _page(browser: Browser, *, width: int, height: int, scheme: str) -> Page:
    context = new_context(
        browser,
        viewport={"width": width, "height": height},
        color_scheme=scheme,
        reduced_motion="reduce",
        device_scale_factor=1,
    )
    return context.new_page()


def _shot(page: Page, name: str) -> None:
    path = OUT / name
    page.wait_for_timeout(200)
    page.screenshot(path=str(path))
    print(f"{path.relative_to(ROOT)}  {path.stat().st_size} bytes")


def take(url: str, browser: Browser) -> None:
    page = _page(browser, width=1280, height=800, scheme="light")
    page.goto(url + "/")
    page.locator(".kruimel-first").wait_for()
    _shot(page, "banner-first-layer.png")
    page.get_by_role("button", name="Instellingen").click()
    page.locator(".kruimel-settings details").first.locator("summary").click()
    _shot(page, "banner-settings.png")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Alles weigeren").click()
    page.get_by_role("button", name="Cookie-instellingen").wait_for()
    page.wait_for_timeout(4200)  # the "choice saved" notice fades after four seconds
    _shot(page, "banner-manage-button.png")
    page.context.close()

    dark = _page(browser, width=1280, height=800, scheme="dark")
    dark.goto(url + "/")
    dark.locator(".kruimel-first").wait_for()
    _shot(dark, "banner-dark.png")
    dark.get_by_role("button", name="Instellingen").click()
    dark.locator(".kruimel-settings").wait_for()  # fetched when opened
    _shot(dark, "banner-settings-dark.png")
    dark.context.close()

    phone = _page(browser, width=320, height=640, scheme="light")
    phone.goto(url + "/")
    phone.locator(".kruimel-first").wait_for()
    _shot(phone, "banner-320px.png")
    phone.context.close()


def main() -> None:
    if not Path(CHROMIUM).is_file():
        raise SystemExit(f"{CHROMIUM} is missing: sudo apt-get install -y chromium")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kruimel-shots-") as tmp:
        demo = kruimel_demo(Path(tmp) / "data").start(Path(tmp) / "demo.log")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    take(demo.url, browser)
                finally:
                    browser.close()
        finally:
            demo.stop()


if __name__ == "__main__":
    main()
