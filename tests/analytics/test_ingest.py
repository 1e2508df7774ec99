from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from analytics import InvalidEvent, SiteConfig, normalize_url, referrer_source
from analytics.ingest import MAX_PROP_VALUE, MAX_PROPS, build_row, parse_event
from analytics.schema import EVENT_COLUMNS
from analytics.useragent import UserAgentInfo


def body(**fields: object) -> bytes:
    data: dict[str, object] = {"n": "pageview", "u": "https://example.nl/", "d": "example.nl"}
    data.update(fields)
    return json.dumps({k: v for k, v in data.items() if v is not None}).encode()


def test_parse_event_plausible_short_names() -> None:
    event = parse_event(
        body(r="https://www.google.com/", w=1280, p='{"plan":"pro","n":3,"ok":true,"x":null}')
    )
    assert event.name == "pageview" and event.url == "https://example.nl/"
    assert event.domains == ("example.nl",)
    assert event.referrer == "https://www.google.com/"
    assert event.props == {"plan": "pro", "n": "3", "ok": "true"}
    assert event.duration_ms == 0 and not event.hash_mode


def test_parse_event_long_names() -> None:
    data = {
        "name": "Signup",
        "url": "https://example.nl/x",
        "domain": "example.nl,rollup.example",
        "referrer": None,
        "screen_width": 390,
        "props": {"plan": "pro"},
    }
    event = parse_event(json.dumps(data).encode())
    assert event.name == "Signup" and event.domains == ("example.nl", "rollup.example")
    assert event.props == {"plan": "pro"} and event.referrer == ""


@pytest.mark.parametrize("key", ["e", "engagement_time", "duration"])
def test_parse_event_engagement_time(key: str) -> None:
    event = parse_event(body(n="engagement", **{key: 15234}))
    assert event.name == "engagement" and event.duration_ms == 15234


def test_parse_event_engagement_time_is_capped() -> None:
    assert parse_event(body(n="engagement", e=10**12)).duration_ms == 24 * 3600 * 1000


def test_parse_event_long_prop_values_are_truncated() -> None:
    event = parse_event(body(p={"url": "https://other.example/" + "x" * 2000}))
    assert len(event.props["url"]) == MAX_PROP_VALUE


def test_parse_event_hash_mode() -> None:
    assert parse_event(body(h=1)).hash_mode


BAD = [
    (b"\xff\xfe{}", "UTF-8"),
    (b"{not json", "JSON"),
    (b"", "JSON"),
    (b"[1, 2]", "object"),
    (b'"pageview"', "object"),
    (body(n=None), "'name' is required"),
    (body(n=""), "name"),
    (body(n="x" * 121), "name"),
    (body(n="a\nb"), "name"),
    (body(n=5), "'name' must be a string"),
    (body(u=None), "'url' is required"),
    (body(u=["https://example.nl/"]), "'url' must be a string"),
    (body(u="https://example.nl/" + "a" * 5000), "longer than"),
    (body(d=None), "'domain' is required"),
    (body(d=" , "), "domain"),
    (body(w="wide"), "screen_width"),
    (body(w=-1), "screen_width"),
    (body(w=True), "screen_width"),
    (body(p="[1]"), "props"),
    (body(p="{broken"), "props"),
    (body(p=[1]), "props"),
    (body(p={f"k{i}": "v" for i in range(MAX_PROPS + 1)}), "too many props"),
    (body(p={"k" * 65: "v"}), "prop name"),
    (body(p={"": "v"}), "prop name"),
    (body(p={"nested": {"a": 1}}), "string, number or boolean"),
    (body(e="long"), "engagement_time"),
    (body(e=-5), "engagement_time"),
    (body(e=True), "engagement_time"),
    (b'{"n":"pageview","u":"https://example.nl/\\ud800","d":"example.nl"}', "surrogate"),
]


@pytest.mark.parametrize(("raw", "message"), BAD)
def test_parse_event_rejects_bad_input(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message) as info:
        parse_event(raw)
    assert info.value.status == 400


def test_parse_event_paired_surrogates_are_fine() -> None:
    raw = b'{"n":"pageview","u":"https://example.nl/\\ud83c\\udf6a","d":"example.nl"}'
    assert parse_event(raw).url == "https://example.nl/\U0001f36a"


def test_build_row_keeps_only_what_the_schema_needs() -> None:
    site = SiteConfig("example.nl")
    event = parse_event(
        body(
            u="https://example.nl/blog/?utm_source=nl&utm_medium=mail&utm_campaign=nov&id=9",
            r="https://www.google.com/search?q=private+question",
            p={"plan": "pro"},
        )
    )
    ts = datetime(2026, 11, 20, 12, 0, 5, 123456, tzinfo=UTC)
    ua = UserAgentInfo("Chrome", "Windows", "desktop", None)
    page = normalize_url(event.url)
    referrer = referrer_source(event.referrer, site.domain)
    row = build_row(event, site, page, referrer, ua, 42, ts, date(2026, 11, 20))
    assert dict(zip(EVENT_COLUMNS, row, strict=True)) == {
        "site": "example.nl",
        "ts": 1795176005,  # 2026-11-20 12:00:05 UTC
        "day": "2026-11-20",
        "name": "pageview",
        "visitor": 42,
        "path": "/blog/",
        "referrer_host": "google.com",
        "source": "Google",
        "utm_source": "nl",
        "utm_medium": "mail",
        "utm_campaign": "nov",
        "browser": "Chrome",
        "os": "Windows",
        "device": "desktop",
        "duration_ms": 0,
        "props": {"plan": "pro"},
    }
