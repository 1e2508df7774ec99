"""Nothing that identifies a visitor reaches the disk or the log.

Events come from a distinctive IPv4 and IPv6 address (through a trusted proxy) with a
distinctive user agent and a full referrer URL; afterwards no file under the store's data
directory or the journal, and no log line, holds any of them, as text or as packed bytes.
"""

from __future__ import annotations

import json
import logging
from ipaddress import ip_address
from pathlib import Path

import httpx
import pytest

from analytics import Collector
from kruimel.base.store import Store

IPV4 = ip_address("203.0.113.77")
IPV6 = ip_address("2001:db8:85a3:77:8a2e:370:7334:4711")
PROBE = "ZzPrivacyProbe4711"
USER_AGENT = (
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; {PROBE}) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
REFERRER = "https://referrer.example/private/inbox/4711?token=SeCrEtToKeN"


def needles() -> list[bytes]:
    texts = [
        str(IPV4),
        str(IPV6),
        IPV6.exploded,
        f"::ffff:{IPV4}",
        USER_AGENT,
        PROBE,
        REFERRER,
        "/private/inbox/4711",
        "SeCrEtToKeN",
    ]
    found = [t.encode() for t in texts] + [t.encode("utf-16-le") for t in texts]
    return [*found, IPV4.packed, IPV6.packed]


def leaks(directory: Path) -> list[str]:
    hits = []
    for path in directory.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{path}: {n!r}" for n in needles() if n in data]
    return hits


async def test_privacy_no_ip_user_agent_or_referrer_on_disk_or_in_logs(
    collector: Collector,
    client: httpx.AsyncClient,
    store: Store,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies = [
        {
            "n": "pageview",
            "u": "https://example.nl/?utm_source=x",
            "d": "example.nl",
            "r": REFERRER,
        },
        {"n": "engagement", "u": "https://example.nl/", "d": "example.nl", "e": 5000},
        {"n": "Signup", "u": "https://example.nl/join", "d": "example.nl", "p": {"plan": "pro"}},
        {"n": "pageview", "u": "https://strict.org/", "d": "strict.org", "r": REFERRER},
    ]
    for ip in (IPV4, IPV6):
        for body in bodies:
            response = await client.post(
                "/api/event",
                content=json.dumps(body),
                headers={"user-agent": USER_AGENT, "x-forwarded-for": str(ip)},
            )
            assert response.status_code == 202
        # a refused and an ignored request with the same identifiers
        bad = await client.post(
            "/api/event",
            content=json.dumps({**bodies[0], "d": "unknown.example"}),
            headers={"user-agent": USER_AGENT, "x-forwarded-for": str(ip)},
        )
        assert bad.status_code == 403
        await client.post(
            "/api/event",
            content=json.dumps(bodies[0]),
            headers={"user-agent": USER_AGENT, "x-forwarded-for": str(ip), "sec-gpc": "1"},
        )

    journal = tmp_path / "journal"
    assert list(journal.glob("events-*.jsonl")), "the events are journaled before the flush"
    assert leaks(journal) == []

    await collector.flush()
    rows = store.query_dicts("SELECT * FROM events")
    assert len(rows) == 8
    assert {r["browser"] for r in rows} == {"Chrome"}
    assert {r["referrer_host"] for r in rows} >= {"referrer.example"}
    store.command("SYSTEM FLUSH LOGS")

    data_dir = Path(store.url[len("chdb://") :])
    assert leaks(data_dir) == []
    assert leaks(journal) == []
    logged = caplog.text.encode()
    assert [n for n in needles() if n in logged] == []


def test_privacy_leak_check_finds_planted_values(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"\x00" + IPV4.packed + b"\x00")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.log").write_text(f"client {PROBE}")
    assert len(leaks(tmp_path)) == 2
