"""Trust and secrets, over real HTTP against the real ``kruimel`` command: only
``trusted_proxies`` decides whose forwarded headers count, the store is private, secrets stay
out of the output and out of the TOML, and the static-site example publishes no data."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kruimel.base.store import Store
from kruimel.settings import SettingsError, load_settings, settings_from_mapping

from .servers import free_port, start_kruimel, stop

ROOT = Path(__file__).resolve().parents[2]
SECRET = "trust-test-secret-key-0123456789"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0 Safari/537.36"
)


def _pageviews(base: str, site: str, forged: list[str]) -> None:
    with httpx.Client(base_url=base, headers={"User-Agent": CHROME}) as client:
        for address in forged:
            r = client.post(
                "/_analytics/api/event",
                json={"n": "pageview", "u": f"http://{site}/", "d": site},
                headers={"X-Forwarded-For": address},
            )
            assert r.status_code == 202, r.text


def _visitors(base: str, site: str, token: str) -> int:
    r = httpx.get(
        f"{base}/_analytics/api/summary?site={site}&period=day",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    return int(r.json()["totals"]["visitors"])


def test_demo_believes_no_forwarded_header_and_keeps_the_env_token_to_itself(
    tmp_path: Path,
) -> None:
    token = "env-token-" + os.urandom(6).hex()
    env = {"KRUIMEL_SECRET_KEY": SECRET, "KRUIMEL_API_TOKEN": token}
    base, proc = start_kruimel(["demo", "--data-dir", str(tmp_path / "d")], env, "/_consent")
    try:
        # 10 forged X-Forwarded-For from loopback: trusted_proxies is empty, so 1 visitor
        _pageviews(base, "localhost", [f"203.0.113.{i}" for i in range(10)])
        assert _visitors(base, "localhost", token) == 1
        # a decision from an https page that reached the server as http (an HTTPS proxy
        # that is not trusted): refused, saying what to configure, the address masked
        https_origin = base.replace("http://", "https://")
        r = httpx.post(
            base + "/_consent",
            json={"accept": "all"},
            headers={"Origin": https_origin, "X-Forwarded-Proto": "https"},
        )
        assert r.status_code == 403
        error = r.json()["error"]
        assert "trusted_proxies" in error and "127.0.0.0/24" in error
        assert "127.0.0.1" not in error
    finally:
        output = stop(proc)
    assert token not in output  # the operator's token is not echoed
    assert "from KRUIMEL_API_TOKEN" in output


def test_serve_believes_its_trusted_proxy_for_address_and_scheme(tmp_path: Path) -> None:
    config = tmp_path / "kruimel.toml"
    config.write_text(
        '[store]\nurl = "chdb://store"\n'
        '[consent]\ncontroller = "X"\nprivacy_url = "/p"\npolicy_version = "1"\n'
        '[analytics]\n[[analytics.sites]]\ndomain = "example.nl"\n'
    )
    token = "serve-token-" + os.urandom(6).hex()
    env = {"KRUIMEL_SECRET_KEY": SECRET, "KRUIMEL_API_TOKEN": token}
    args = ["serve", "--config", str(config), "--data-dir", str(tmp_path / "d")]
    base, proc = start_kruimel([*args, "--trusted-proxy", "127.0.0.1"], env, "/healthz")
    try:
        _pageviews(base, "example.nl", ["203.0.113.1", "203.0.113.2", "203.0.113.3"])
        assert _visitors(base, "example.nl", token) == 3
        r = httpx.post(
            base + "/_consent",
            json={"accept": "all"},
            headers={"Origin": base.replace("http://", "https://"), "X-Forwarded-Proto": "https"},
        )
        assert r.status_code == 200, r.text
        assert "secure" in r.headers["set-cookie"].lower()
    finally:
        stop(proc)


def test_serve_has_no_proxy_headers_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kruimel", "serve", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "--proxy-headers" not in result.stdout and "forwarded-allow-ips" not in result.stdout
    assert "--trusted-proxy" in result.stdout


def _modes(root: Path) -> dict[str, int]:
    modes = {}
    for directory, subdirs, files in os.walk(root):
        for name in [directory, *(os.path.join(directory, n) for n in subdirs + files)]:
            info = os.lstat(name)
            if not stat.S_ISLNK(info.st_mode):
                modes[name] = stat.S_IMODE(info.st_mode)
    return modes


def test_store_files_are_private_and_old_ones_are_fixed(tmp_path: Path) -> None:
    path = tmp_path / "store"
    store = Store.connect(f"chdb://{path}")
    try:
        store.command("CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x")
        store.insert("t", ["x"], [[1]])
    finally:
        store.close()
    modes = _modes(path)
    assert len(modes) > 5
    assert {name: mode for name, mode in modes.items() if mode & 0o077} == {}
    # a store written by an older, laxer version is made private when opened
    for name in modes:
        os.chmod(name, 0o755 if os.path.isdir(name) else 0o644)
    Store.connect(f"chdb://{path}").close()
    assert {name: mode for name, mode in _modes(path).items() if mode & 0o077} == {}


def test_store_password_belongs_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SettingsError, match="KRUIMEL_STORE_URL"):
        settings_from_mapping({"store": {"url": "https://u:secret@ch.internal:8443/k"}})
    with pytest.raises(SettingsError, match="KRUIMEL_API_TOKEN"):
        settings_from_mapping(
            {"analytics": {"api_token": "in-the-file", "sites": [{"domain": "a.nl"}]}}
        )
    url = "https://u:secret@ch.internal:8443/k"
    env = {"KRUIMEL_STORE_URL": url}
    settings = settings_from_mapping({"store": {"url": "chdb://x"}}, environ=env)
    assert settings.store_url == url  # the environment wins over the file
    monkeypatch.setenv("KRUIMEL_STORE_URL", url)
    (tmp_path / "k.toml").write_text("[store]\n")
    assert load_settings(tmp_path / "k.toml").store_url == url


def test_default_store_is_in_the_state_dir(tmp_path: Path) -> None:
    data = {"analytics": {"sites": [{"domain": "example.nl"}]}}
    settings = settings_from_mapping(data, environ={"XDG_STATE_HOME": str(tmp_path)})
    assert settings.store_url == f"chdb://{tmp_path / 'kruimel' / 'example.nl' / 'store'}"


def test_static_site_example_publishes_no_data(tmp_path: Path) -> None:
    """The example served as its README says: http.server on the folder, kruimel serve with
    the folder's kruimel.toml and no --data-dir. Nothing of Kruimel's is reachable."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "examples" / "static-site", site, symlinks=True)
    config = site / "kruimel.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("../../kruimel-data/static-site-store", str(tmp_path / "store")),
        encoding="utf-8",
    )
    state = tmp_path / "state"
    env = {"KRUIMEL_SECRET_KEY": SECRET, "KRUIMEL_API_TOKEN": "t", "XDG_STATE_HOME": str(state)}
    base, collector = start_kruimel(["serve", "--config", str(config)], env, "/healthz")
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=site,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _pageviews(base, "localhost", ["203.0.113.9"])  # the journal now has files
        assert (state / "kruimel" / "localhost" / "journal").is_dir()
        deadline = time.monotonic() + 30
        while True:
            try:
                index = httpx.get(f"http://127.0.0.1:{port}/")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert index.status_code == 200 and "kruimel.js" in index.text
        for path in ("/kruimel-data/", "/kruimel-data/journal/"):
            assert httpx.get(f"http://127.0.0.1:{port}{path}").status_code == 404
        assert not (site / "kruimel-data").exists()
    finally:
        web.terminate()
        web.wait(timeout=30)
        stop(collector)


async def test_401_without_a_token_names_only_the_environment(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analytics import AnalyticsConfig, SiteConfig
    from analytics.api_summary import make_summary_endpoint

    monkeypatch.delenv("KRUIMEL_API_TOKEN", raising=False)
    config = AnalyticsConfig(sites=(SiteConfig("example.nl"),), journal_dir=None)
    endpoint = make_summary_endpoint(config, store)
    transport = httpx.ASGITransport(app=endpoint)
    async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
        r = await client.get("/api/summary?site=example.nl")
    assert r.status_code == 401
    assert "KRUIMEL_API_TOKEN" in r.json()["error"] and "api_token" not in r.json()["error"]
