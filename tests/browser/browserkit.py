"""Helpers of the browser tests: server subprocesses on free ports and what a page holds."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.serving import StartFailed, free_port, start_process, stop_process

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
HERE = Path(__file__).parent
ROOT = HERE.parent.parent
BIN = Path(sys.executable).parent
NODE_MODULES = HERE / "node_modules"
# The collector files events from headless browsers as bots; the tests browse as a desktop
# Chrome would (the tracker itself is told about automation with data-automation).
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
API_TOKEN = "browser-tests-" + secrets.token_hex(8)
SECRET_KEY = secrets.token_urlsafe(32)
ESSENTIAL_COOKIES = frozenset({"kruimel_consent", "kruimel_lang"})


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    """A fresh context as a Dutch visitor on a desktop Chrome; no request leaves the machine
    (third-party embeds such as YouTube are aborted, and so visible in the request log)."""
    ctx = browser.new_context(**{"user_agent": DESKTOP_UA, "locale": "nl-NL", **options})
    ctx.route("https://**/*", lambda route: route.abort())
    return ctx


@dataclass
class Server:
    """A server subprocess; ``url`` is its origin, e.g. ``http://127.0.0.1:43121``."""

    args: list[str]
    port: int
    ready_path: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, log: Path) -> Server:
        """Start the process, its output in ``log``, and wait until it answers (any status);
        a process that does not start is stopped and fails the test."""
        self.log = log
        env = {"KRUIMEL_SECRET_KEY": SECRET_KEY, "KRUIMEL_API_TOKEN": API_TOKEN, **self.env}
        with log.open("wb") as out:
            try:
                self.process = start_process(
                    self.args,
                    self.url + self.ready_path,
                    env=env,
                    cwd=self.cwd,
                    output=out,
                    ready=_any_answer,
                    describe=lambda _: log.read_text(errors="replace"),
                )
            except StartFailed as e:
                pytest.fail(str(e))
        return self

    def stop(self) -> None:
        """Stop the process, if it runs."""
        if self.process is not None:
            stop_process(self.process, timeout=15)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _any_answer(url: str) -> bool:
    httpx.get(url, timeout=2)
    return True


def kruimel_demo(data_dir: Path) -> Server:
    port = free_port()
    args = [
        str(BIN / "kruimel"),
        "demo",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    return Server([*args, "--site", "127.0.0.1"], port)


def lab_server(data_dir: Path) -> Server:
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "lab_app:create_app", "--factory"]
    args += ["--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(port)]
    return Server([*args, "--log-level", "warning"], port, env={"KRUIMEL_LAB_DATA": str(data_dir)})


def static_site(work: Path) -> tuple[Server, Server]:
    """The static-site example copied to ``work`` with its ports replaced by free ones."""
    site_port, collector_port = free_port(), free_port()
    source = ROOT / "examples" / "static-site"
    site_dir = work / "site"
    shutil.copytree(source, site_dir, symlinks=False)
    for path in [*site_dir.glob("*.html"), site_dir / "kruimel.toml"]:
        text = path.read_text(encoding="utf-8")
        text = text.replace("http://127.0.0.1:8000", f"http://127.0.0.1:{collector_port}")
        text = text.replace("http://localhost:8080", f"http://localhost:{site_port}")
        text = text.replace("../../kruimel-data/static-site-store", str(work / "store"))
        path.write_text(text, encoding="utf-8")
    site = Server(
        [sys.executable, "-m", "http.server", str(site_port), "--bind", "127.0.0.1"],
        site_port,
        cwd=site_dir,
        host="localhost",
    )
    collector = Server(
        [
            str(BIN / "kruimel"),
            "serve",
            "--config",
            str(site_dir / "kruimel.toml"),
        ]
        + ["--port", str(collector_port), "--data-dir", str(work / "collector")],
        collector_port,
        ready_path="/healthz",
        cwd=work,
    )
    return site, collector


def standins(page: Page) -> dict[str, int]:
    """How often each stand-in script (static/banner/standin/) ran on the current page."""
    return dict(page.evaluate("() => Object.assign({}, window.kruimelStandins || {})"))


def optional_cookies(context: BrowserContext) -> set[str]:
    """Cookies in the browser other than Kruimel's own functional ones."""
    return {c["name"] for c in context.cookies()} - ESSENTIAL_COOKIES


def document_cookies(page: Page) -> set[str]:
    raw = page.evaluate("() => document.cookie")
    return {part.split("=", 1)[0] for part in raw.split("; ") if part} - ESSENTIAL_COOKIES
