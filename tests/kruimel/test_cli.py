"""The ``kruimel`` command, in process (each call opens and closes its own store)."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from analytics.schema import EVENT_COLUMNS
from kruimel.base.store import Store
from kruimel.cli import main
from kruimel.cli_serve import secret_from_env_or_file as _secret_from_env_or_file

from .servers import start_kruimel, stop


def _events(store: Store, site: str, day: dt.date) -> None:
    ts = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    row = {
        "site": site,
        "ts": ts,
        "day": day,
        "name": "pageview",
        "visitor": 1,
        "path": "/",
        "referrer_host": "",
        "source": "Direct / None",
        "utm_source": "",
        "utm_medium": "",
        "utm_campaign": "",
        "browser": "Firefox",
        "os": "Linux",
        "device": "desktop",
        "duration_ms": 0,
        "props": {},
    }
    rows = []
    for i, path in enumerate(["/", "/a", "/a"]):
        rows.append([{**row, "path": path, "visitor": i + 1}[c] for c in EVENT_COLUMNS])
    store.insert("events", EVENT_COLUMNS, rows)


def test_cli_migrate_then_up_to_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"chdb://{tmp_path / 's'}"
    assert main(["migrate", "--url", url]) == 0
    first = capsys.readouterr().out
    assert "consent/" in first and "analytics/0001" in first
    assert main(["migrate", "--url", url]) == 0
    assert capsys.readouterr().out.strip() == "schema is up to date"


def test_cli_summary_prints_table_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"chdb://{tmp_path / 's'}"
    assert main(["migrate", "--url", url]) == 0
    with Store.connect(url) as store:
        _events(store, "example.nl", dt.datetime.now(dt.UTC).date())
    capsys.readouterr()
    assert main(["summary", "--url", url, "--site", "example.nl", "--period", "7d", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["pageviews"] == 3
    assert data["pages"][0] == {"path": "/a", "visitors": 2, "pageviews": 2}
    assert main(["summary", "--url", url, "--site", "example.nl", "--period", "7d"]) == 0
    table = capsys.readouterr().out
    assert "/a" in table and "example.nl" in table


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["summary", "--site", "x", "--config", "/nonexistent.toml"], "pass --url"),
        (["summary", "--site", "x", "--url", "mysql://h"], "store url"),
        (["summary", "--site", "x", "--url", "chdb:///tmp/x", "--period", "custom"], "from"),
        (["serve", "--config", "/nonexistent.toml"], "no such file"),
        (["summary", "--site", "x", "--endpoint", "http://127.0.0.1:1"], "KRUIMEL_API_TOKEN"),
    ],
)
def test_cli_user_errors_exit_2_with_a_message(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KRUIMEL_API_TOKEN", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("kruimel: ") and message in err


def test_cli_secret_generated_once_with_private_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KRUIMEL_TEST_SECRET", raising=False)
    path = tmp_path / "d" / "secret_key"
    first, generated = _secret_from_env_or_file("KRUIMEL_TEST_SECRET", path, "secret")
    assert generated and len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _secret_from_env_or_file("KRUIMEL_TEST_SECRET", path, "secret") == (first, False)
    monkeypatch.setenv("KRUIMEL_TEST_SECRET", "from-env")
    assert _secret_from_env_or_file("KRUIMEL_TEST_SECRET", path, "secret") == ("from-env", False)


def test_cli_summary_against_running_server(tmp_path: Path) -> None:
    """A store held by a running demo is refused with a pointer to --endpoint, which works."""
    token = "cli-token"
    env = {"KRUIMEL_SECRET_KEY": "cli-secret-key-123456", "KRUIMEL_API_TOKEN": token}
    data = tmp_path / "data"
    base, proc = start_kruimel(["demo", "--data-dir", str(data)], env, "/_consent")
    try:

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "kruimel", "summary", "--site", "localhost", *args],
                capture_output=True,
                text=True,
                timeout=120,
                env={**os.environ, **env},
            )

        locked = run("--url", f"chdb://{data / 'store'}")
        assert locked.returncode == 2
        assert "in use by process" in locked.stderr and "--endpoint" in locked.stderr
        remote = run("--endpoint", f"{base}/_analytics", "--json")
        assert remote.returncode == 0, remote.stderr
        assert json.loads(remote.stdout)["site"] == "localhost"
    finally:
        stop(proc)


def test_cli_migrate_from_config_needs_no_signing_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("KRUIMEL_SECRET_KEY", raising=False)
    config = tmp_path / "kruimel.toml"
    config.write_text(
        '[store]\nurl = "chdb://data/store"\n'
        '[consent]\ncontroller = "X"\nprivacy_url = "/p"\npolicy_version = "1"\n'
    )
    assert main(["migrate", "--config", str(config)]) == 0
    assert "analytics/0001" in capsys.readouterr().out


def test_cli_serve_without_analytics_says_what_to_add(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "kruimel.toml"
    config.write_text('[store]\nurl = "chdb://data/store"\n')
    assert main(["serve", "--config", str(config)]) == 2
    assert "[[analytics.sites]]" in capsys.readouterr().err
