"""Real-browser fixtures: Debian's Chromium through Playwright, and Kruimel servers started as
subprocesses on free ports of 127.0.0.1.

One browser per session, a fresh context (no cookies, no storage) per test. Chromium comes
from apt (`.ci/browser-deps`), never from Playwright's own download. A missing browser fails
the run with the command that installs it; it never skips.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from browserkit import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Server,
    kruimel_demo,
    lab_server,
    new_context,
    static_site,
)
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).is_file():
        ci = os.environ.get("CI", "").lower() == "true"
        pytest.fail(
            f"{CHROMIUM} is missing{' (CI=true: the browser tests must run)' if ci else ''}. "
            "Install it with: sudo apt-get install -y chromium  (or: make browser-deps)"
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright, chromium: str) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = new_context(browser)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``kruimel demo`` on a free port, site ``127.0.0.1``, its own data directory."""
    data = tmp_path_factory.mktemp("demo")
    with kruimel_demo(data / "data").start(data / "server.log") as server:
        yield server


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """tests/browser/lab_app.py (strict CSP, SPA, Plausible's tracker) on a free port."""
    data = tmp_path_factory.mktemp("lab")
    with lab_server(data / "data").start(data / "server.log") as server:
        yield server


@pytest.fixture(scope="session")
def static(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """examples/static-site served as files on http://localhost:P, its collector
    (``kruimel serve``) on http://127.0.0.1:Q: two origins, two sites."""
    work = tmp_path_factory.mktemp("static")
    site, collector = static_site(work)
    with collector.start(work / "collector.log"), site.start(work / "site.log"):
        yield site, collector
