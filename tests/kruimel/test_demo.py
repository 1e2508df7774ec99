"""``kruimel demo`` end to end over real HTTP: the gating promise of the privacy statement."""

from __future__ import annotations

import re

import httpx

from .servers import Server

PARDOT = re.compile(r"<script[^>]*src=\"/standin/pardot\.js\"[^>]*>")
VIDEO = re.compile(r"<iframe[^>]*youtube-nocookie[^>]*>")


def test_demo_before_choice_shows_banner_and_keeps_pardot_inert(demo_server: Server) -> None:
    with httpx.Client(base_url=demo_server.base) as client:
        page = client.get("/")
    assert page.status_code == 200
    assert 'id="kruimel-banner"' in page.text
    tag = PARDOT.search(page.text)
    assert tag and 'type="text/plain"' in tag.group(0)
    video = VIDEO.search(page.text)
    assert video and " src=" not in video.group(0)
    assert "set-cookie" not in page.headers


def test_demo_accept_all_serves_pardot_active(demo_server: Server) -> None:
    with httpx.Client(base_url=demo_server.base) as client:
        r = client.post("/_consent", json={"accept": "all"}, headers={"Origin": demo_server.base})
        assert r.status_code == 200 and r.json()["categories"]["marketing"] is True
        page = client.get("/")
    tag = PARDOT.search(page.text)
    assert tag and "text/plain" not in tag.group(0)
    video = VIDEO.search(page.text)
    assert video and " src=" in video.group(0)
    assert 'id="kruimel-banner"' not in page.text
    assert 'id="kruimel-manage"' in page.text


def test_demo_server_side_pardot_cookie_dropped_without_consent(demo_server: Server) -> None:
    with httpx.Client(base_url=demo_server.base) as client:
        client.post("/_consent", json={"accept": "none"}, headers={"Origin": demo_server.base})
        page = client.get("/nieuwsbrief")
        assert "pi_opt_in" not in page.headers.get("set-cookie", "")
        client.post("/_consent", json={"accept": "all"}, headers={"Origin": demo_server.base})
        page = client.get("/nieuwsbrief")
        assert "pi_opt_in123456=true" in page.headers.get("set-cookie", "")


def test_demo_records_every_decision(demo_server: Server) -> None:
    with httpx.Client(base_url=demo_server.base) as client:
        client.post("/_consent", json={"accept": "all"}, headers={"Origin": demo_server.base})
        client.delete("/_consent", headers={"Origin": demo_server.base})
        records = client.get("/_consent/records").json()
    actions = [r["action"] for r in records["records"]]
    assert actions == ["accept_all", "withdraw"]


def test_demo_counts_a_page_view_without_cookies(demo_server: Server) -> None:
    ua = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0 Safari/537.36"
    )
    with httpx.Client(base_url=demo_server.base, headers={"User-Agent": ua}) as client:
        r = client.post(
            "/_analytics/api/event",
            json={"n": "pageview", "u": "http://localhost/assortiment", "d": "localhost"},
            # What the demo page's own tracker sends: a same-origin fetch still carries Origin.
            headers={"Origin": demo_server.base},
        )
        assert r.status_code == 202
        assert "set-cookie" not in r.headers
        summary = client.get(
            "/_analytics/api/summary?site=localhost&period=day",
            headers={"Authorization": f"Bearer {demo_server.token}"},
        )
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert body["totals"]["pageviews"] == 1
    assert body["pages"][0]["path"] == "/assortiment"
