"""A failed start must fail: the real ``kruimel`` command, in subprocesses, exits 2 with one
line on stderr (no traceback, no library warnings) for every start-up mistake."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from kruimel.base.store import Store

from .servers import free_port, one_line, run_kruimel, start_kruimel, stop

SECRET = {"KRUIMEL_SECRET_KEY": "startup-test-secret-key-0123456789"}
CONFIG = """\
[store]
url = "chdb://store"
[consent]
controller = "Bakkerij"
privacy_url = "/privacy"
policy_version = "1"
[analytics]
[[analytics.sites]]
domain = "example.nl"
"""


def _config(tmp_path: Path, text: str = CONFIG) -> Path:
    path = tmp_path / "kruimel.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_consent_log_that_cannot_start_stops_serve(tmp_path: Path) -> None:
    """consent_log exists with an engine it cannot use: serve exits 2 instead of answering
    503 to every decision forever."""
    config = _config(tmp_path)
    store = Store.connect(f"chdb://{tmp_path / 'store'}")
    try:
        store.command("CREATE TABLE consent_log (x String) ENGINE = Memory")
    finally:
        store.close()
    args = ["serve", "--config", str(config), "--data-dir", str(tmp_path / "d")]
    line = one_line(run_kruimel([*args, "--port", str(free_port())], SECRET, timeout=90))
    assert "consent log could not start" in line and "TTL" in line


@pytest.mark.parametrize("command", ["demo", "serve"])
def test_data_dir_that_is_a_file(tmp_path: Path, command: str) -> None:
    target = tmp_path / "a-file"
    target.write_text("not a directory")
    args = [command, "--data-dir", str(target), "--port", str(free_port())]
    if command == "serve":
        args += ["--config", str(_config(tmp_path))]
    line = one_line(run_kruimel(args, SECRET))
    assert "--data-dir" in line and "is a file" in line


@pytest.mark.parametrize("command", ["demo", "serve"])
def test_data_dir_that_cannot_be_created(tmp_path: Path, command: str) -> None:
    # /proc takes no new directories, not even from root (the tests may run as root)
    args = [command, "--data-dir", "/proc/1/kruimel-data", "--port", str(free_port())]
    if command == "serve":
        args += ["--config", str(_config(tmp_path))]
    line = one_line(run_kruimel(args, SECRET))
    assert "--data-dir /proc/1/kruimel-data" in line and "cannot use it" in line


def test_summary_on_a_store_never_migrated(tmp_path: Path) -> None:
    store = Store.connect(f"chdb://{tmp_path / 'empty'}")
    store.close()
    result = run_kruimel(["summary", "--url", f"chdb://{tmp_path / 'empty'}", "--site", "x.nl"])
    line = one_line(result)
    assert "never migrated" in line and "kruimel migrate" in line


def test_summary_on_a_store_that_is_not_there(tmp_path: Path) -> None:
    missing = tmp_path / "typo"
    line = one_line(run_kruimel(["summary", "--url", f"chdb://{missing}", "--site", "x.nl"]))
    assert "no store at" in line
    assert not missing.exists()  # a summary does not create a store


def test_summary_of_an_unknown_site(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert run_kruimel(["migrate", "--config", str(config)]).returncode == 0
    # with a config, the config names the sites (as the API's 404 does)
    line = one_line(run_kruimel(["summary", "--config", str(config), "--site", "unknown.nl"]))
    assert "'unknown.nl' is not a configured site" in line and "example.nl" in line
    # with a bare store URL, a site the store never saw is unknown
    url = f"chdb://{tmp_path / 'store'}"
    line = one_line(run_kruimel(["summary", "--url", url, "--site", "unknown.nl"]))
    assert "'unknown.nl' is not a site this store has data for" in line
    ok = run_kruimel(["summary", "--config", str(config), "--site", "example.nl"])
    assert ok.returncode == 0, ok.stderr


def test_second_serve_on_the_same_store_names_the_ways_out(tmp_path: Path) -> None:
    config = _config(tmp_path)
    args = ["serve", "--config", str(config), "--data-dir", str(tmp_path / "d")]
    base, first = start_kruimel(args, SECRET, "/healthz")
    try:
        line = one_line(run_kruimel([*args, "--port", str(free_port())], SECRET))
        assert "in use by process" in line
        assert "kruimel serve" in line and "KRUIMEL_STORE_URL" in line
        assert httpx.get(base + "/healthz").status_code == 200  # the first one serves on
    finally:
        stop(first)


def test_second_serve_on_the_same_journal_with_its_own_store(tmp_path: Path) -> None:
    """Two stores, one --data-dir: the journal lock fails the second start, in one line."""
    config = _config(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    config2 = _config(other)
    data = ["--data-dir", str(tmp_path / "d")]
    base, first = start_kruimel(["serve", "--config", str(config), *data], SECRET, "/healthz")
    try:
        args = ["serve", "--config", str(config2), *data, "--port", str(free_port())]
        line = one_line(run_kruimel(args, SECRET))
        assert "journal" in line and "in use" in line
    finally:
        stop(first)


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_unreachable_clickhouse_is_one_line(tmp_path: Path, command: str) -> None:
    url = f"http://kruimel:pw@127.0.0.1:{free_port()}/kruimel"  # nothing listens there
    args = [command, "--config", str(_config(tmp_path))]
    if command == "serve":
        args += ["--data-dir", str(tmp_path / "d"), "--port", str(free_port())]
    line = one_line(run_kruimel(args, {**SECRET, "KRUIMEL_STORE_URL": url}))
    assert "cannot reach ClickHouse" in line and "Connection refused" in line
    assert "pw" not in line  # the password is redacted


def test_port_in_use_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["demo", "--data-dir", str(tmp_path / "d"), "--port", str(port)]
        line = one_line(run_kruimel(args, SECRET))
    assert f"cannot listen on 127.0.0.1:{port}" in line


def test_make_demo_takes_port() -> None:
    root = Path(__file__).resolve().parents[2]
    # Under `make test` this runs inside make: drop the parent's flags and directory lines.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "demo", "PORT=8080"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1].endswith("kruimel demo --port 8080")


@pytest.mark.parametrize("command", ["demo", "serve", "migrate", "summary"])
def test_every_option_has_help_showing_its_default(command: str) -> None:
    result = run_kruimel([command, "--help"])
    assert result.returncode == 0
    # argparse's help: one entry per option, its text indented on the lines that follow
    entries: dict[str, str] = {}
    current = ""
    for line in result.stdout.split("options:", 1)[1].splitlines():
        if line.startswith("  -"):
            current = line.split()[0].rstrip(",")
            entries[current] = line
        elif current:
            entries[current] += " " + line.strip()
    assert len(entries) >= 4
    for option, text in entries.items():
        if option == "-h":
            continue
        assert "default" in text or "(required)" in text, (option, text)
    assert "proxy-headers" not in result.stdout and "forwarded-allow-ips" not in result.stdout


def test_trusted_proxy_must_be_an_address() -> None:
    result = run_kruimel(["demo", "--trusted-proxy", "proxy.internal"])
    assert result.returncode == 2 and "not an IP address or CIDR network" in result.stderr


def test_serve_keeps_a_default_store_in_its_data_dir(tmp_path: Path) -> None:
    config = _config(tmp_path, CONFIG.replace('url = "chdb://store"\n', ""))
    data = tmp_path / "data"
    state = tmp_path / "state"
    env = {**SECRET, "XDG_STATE_HOME": str(state)}
    base, proc = start_kruimel(["serve", "--config", str(config)], env, "/healthz")
    stop(proc)
    assert (state / "kruimel" / "example.nl" / "store").is_dir()
    assert (state / "kruimel" / "example.nl" / "journal").is_dir()
    args = ["serve", "--config", str(config), "--data-dir", str(data)]
    base, proc = start_kruimel(args, env, "/healthz")
    stop(proc)
    assert (data / "store").is_dir() and (data / "journal").is_dir()
