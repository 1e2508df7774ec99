"""``kruimel query`` (store and --endpoint) and the v2 query API over real HTTP in the demo."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from analytics.schema import EVENT_COLUMNS, MIGRATIONS
from analytics.summary import DIRECT
from kruimel.base.store import Store
from kruimel.cli import main
from tests.clock import at, today

from .servers import Server

QUERY = {
    "site_id": "example.nl",
    "metrics": ["visitors", "pageviews"],
    "date_range": [today().isoformat(), today().isoformat()],
    "dimensions": ["event:page"],
}


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"chdb://{tmp_path / 's'}"
    with Store.connect(url) as store:
        store.migrate(MIGRATIONS)
        rows = [
            ("example.nl", at(today(), f"1{i}:00:00"), today(), "pageview", i, path, "", DIRECT,
             "", "", "", "Firefox", "Linux", "desktop", 0, {})
            for i, path in enumerate(["/", "/a", "/a"])
        ]  # fmt: skip
        store.insert("events", EVENT_COLUMNS, rows)
    return url


def test_query_from_a_file_and_from_stdin(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "q.json"
    path.write_text(json.dumps(QUERY), encoding="utf-8")
    assert main(["query", str(path), "--url", url]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["results"] == [
        {"metrics": [2, 2], "dimensions": ["/a"]},
        {"metrics": [1, 1], "dimensions": ["/"]},
    ]
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(QUERY | {"dimensions": []})))
    assert main(["query", "--url", url]) == 0
    assert json.loads(capsys.readouterr().out)["results"] == [{"metrics": [3, 3], "dimensions": []}]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{nope", "not JSON"),
        (json.dumps(QUERY | {"metrics": ["conversion_rate"]}), "'conversion_rate' is not"),
        (json.dumps(QUERY | {"filters": [["matches", "event:page", ["(("]]]}), "re2"),
    ],
)
def test_query_mistakes_exit_2_with_one_line(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "q.json"
    path.write_text(content, encoding="utf-8")
    assert main(["query", str(path), "--url", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kruimel: ") and message in err and err.count("\n") == 1


def test_query_missing_file_exits_2(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "/nonexistent/q.json", "--url", url]) == 2
    assert "cannot read /nonexistent/q.json" in capsys.readouterr().err


def test_query_api_in_the_demo_over_http_and_the_cli_endpoint(demo_server: Server) -> None:
    with httpx.Client(base_url=demo_server.base) as client:
        sent = client.post(
            "/_analytics/api/event",
            json={"n": "pageview", "u": "http://localhost/assortiment", "d": "localhost"},
            headers={"Origin": demo_server.base, "User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"},
        )
        assert sent.status_code == 202
        query = {"site_id": "localhost", "metrics": ["pageviews"], "date_range": "day",
                 "dimensions": ["event:page"]}  # fmt: skip
        refused = client.post("/_analytics/api/v2/query", json=query)
        assert refused.status_code == 401
        answered = client.post(
            "/_analytics/api/v2/query",
            json=query,
            headers={"Authorization": f"Bearer {demo_server.token}"},
        )
    assert answered.status_code == 200, answered.text
    assert answered.json()["results"] == [{"metrics": [1], "dimensions": ["/assortiment"]}]
    remote = subprocess.run(
        [sys.executable, "-m", "kruimel", "query", "--endpoint", f"{demo_server.base}/_analytics"],
        input=json.dumps(query),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KRUIMEL_API_TOKEN": demo_server.token},
    )
    assert remote.returncode == 0, remote.stderr
    assert json.loads(remote.stdout)["results"] == answered.json()["results"]
