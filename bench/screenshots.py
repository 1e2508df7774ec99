"""Screenshots of the banner for the README (``make screenshots``).

Starts ``kruimel demo`` on a free port with a throw-away data directory, drives Debian's
Chromium through Playwright and writes PNGs into docs/img/: the first layer, the settings,
dark mode, a 320 px wide phone, and the small "cookie settings" button after a choice.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def demo_server() -> Iterator[str]:
    """``kruimel demo`` on a free port; yields its URL and stops it afterwards."""
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="kruimel-shots-") as tmp:
        env = {**os.environ, "KRUIMEL_SECRET_KEY": secrets.token_urlsafe(32)}
        kruimel = Path(sys.executable).parent / "kruimel"
        args = [str(kruimel), "demo", "--port", str(port), "--data-dir", str(Path(tmp) / "d")]
        log = (Path(tmp) / "demo.log").open("wb")
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"kruimel demo exited: {(Path(tmp) / 'demo.log').read_text()}")
                try:
                    httpx.get(url, timeout=2)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise SystemExit("kruimel demo did not start within 60 s") from None
                    time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=15)
            log.close()


def _page(browser: Browser, *, width: int, height: int, scheme: str) -> Page:
    context = browser.new_context(
        viewport={"width": width, "height": height},
        color_scheme=scheme,  # type: ignore[arg-type]
        reduced_motion="reduce",
        device_scale_factor=1,
        locale="nl-NL",  # the demo is a Dutch bakery
    )
    context.route("https://**/*", lambda route: route.abort())
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
    with demo_server() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            take(url, browser)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
