"""consent.guard.CookieGuard: Set-Cookie filtering, undeclared-cookie reports, expiry."""

from __future__ import annotations

import logging

import pytest

from consent.config import ConsentConfig
from consent.guard import MAX_REPORTED, CookieGuard, cookie_name
from consent.state import ConsentState
from kruimel.base.headers import RawHeaders, get_all


def decided(config: ConsentConfig, *allowed: str) -> ConsentState:
    return ConsentState.decide(config, dict.fromkeys(allowed, True))


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (b"a=1", "a"),
        (b"pi_opt_in123456=true; Max-Age=31536000; Path=/", "pi_opt_in123456"),
        (b" _ga = GA1.1.2; Domain=.example.nl", "_ga"),
        (b"flag; Path=/", "flag"),
        (b"", ""),
    ],
)
def test_cookie_name_of_set_cookie(value: bytes, name: str) -> None:
    assert cookie_name(value) == name


@pytest.mark.parametrize(
    ("allowed", "kept"),
    [
        ((), ["kruimel_lang", "session"]),
        (("analytics",), ["kruimel_lang", "_ga", "_pk_id.1.abcd", "session"]),
        (("marketing",), ["kruimel_lang", "pi_opt_in123456", "session"]),
        (
            ("analytics", "marketing"),
            ["kruimel_lang", "pi_opt_in123456", "_ga", "_pk_id.1.abcd", "session"],
        ),
    ],
)
def test_guard_filter_drops_cookies_of_denied_categories(
    config: ConsentConfig, allowed: tuple[str, ...], kept: list[str]
) -> None:
    headers: RawHeaders = [
        (b"content-type", b"text/html"),
        (b"set-cookie", b"kruimel_lang=en; Path=/"),
        (b"Set-Cookie", b"pi_opt_in123456=true; Max-Age=31536000"),
        (b"set-cookie", b"_ga=GA1.1.1.1; Domain=.example.nl"),
        (b"set-cookie", b"_pk_id.1.abcd=x"),
        (b"set-cookie", b"session=s3cr3t; HttpOnly"),
    ]
    CookieGuard(config).filter(headers, decided(config, *allowed))
    names = [cookie_name(v) for k, v in headers if k.lower() == b"set-cookie"]
    assert names == kept
    assert headers[0] == (b"content-type", b"text/html")


def test_guard_filter_undecided_visitor_gets_only_necessary(config: ConsentConfig) -> None:
    headers: RawHeaders = [
        (b"set-cookie", b"pardot=abc"),
        (b"set-cookie", b"_ga_TEST1=x"),
        (b"set-cookie", b"kruimel_lang=nl"),
    ]
    CookieGuard(config).filter(headers, ConsentState.undecided(config))
    assert get_all(headers, b"set-cookie") == [b"kruimel_lang=nl"]


def test_guard_logs_drops_at_debug_without_values(
    config: ConsentConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kruimel.consent")
    headers: RawHeaders = [(b"set-cookie", b"pi_opt_in123456=SECRET-VALUE; Path=/")]
    CookieGuard(config).filter(headers, ConsentState.undecided(config))
    assert headers == []
    [record] = caplog.records
    assert record.levelno == logging.DEBUG
    assert "pi_opt_in123456" in record.getMessage()
    assert "marketing" in record.getMessage()
    assert "SECRET-VALUE" not in caplog.text


def test_guard_reports_undeclared_cookie_once_per_name(
    config: ConsentConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kruimel.consent")
    guard = CookieGuard(config)
    state = decided(config, "analytics")
    for _ in range(3):
        headers: RawHeaders = [
            (b"set-cookie", b"session=VALUE1; HttpOnly"),
            (b"set-cookie", b"cart=VALUE2"),
        ]
        guard.filter(headers, state)
        assert len(headers) == 2  # undeclared cookies pass
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert sorted(r.args[0] for r in warnings) == ["cart", "session"]  # type: ignore[index]
    assert "VALUE" not in caplog.text
    # a second guard (a second process, in effect) reports again
    CookieGuard(config).filter([(b"set-cookie", b"cart=1")], state)
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 3


def test_guard_reports_are_bounded(config: ConsentConfig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="kruimel.consent")
    guard = CookieGuard(config)
    state = ConsentState.undecided(config)
    for i in range(MAX_REPORTED + 50):
        guard.filter([(b"set-cookie", f"id_{i}=1".encode())], state)
    assert len(caplog.records) == MAX_REPORTED


def test_guard_expire_denied_cookies_on_host_and_parent_domains(config: ConsentConfig) -> None:
    headers: RawHeaders = []
    CookieGuard(config).expire(
        headers,
        decided(config, "analytics"),
        ["kruimel_consent", "_ga", "pi_opt_in123456", "visitor_id123456", "unknown", "YSC"],
        host="www.example.nl",
        secure=True,
    )
    values = get_all(headers, b"set-cookie")
    names = {cookie_name(v) for v in values}
    assert names == {"pi_opt_in123456", "visitor_id123456"}  # YSC lives on .youtube.com
    for name in names:
        mine = [v for v in values if cookie_name(v) == name]
        domains = sorted(
            part.strip()[7:] for v in mine for part in v.split(b";") if b"Domain=" in part
        )
        assert domains == [b"example.nl", b"www.example.nl"]
        assert len(mine) == 3  # host-only plus the two domains
        assert all(b"Max-Age=0" in v and b"Path=/" in v and b"Secure" in v for v in mine)


def test_guard_expire_nothing_when_allowed_or_absent(config: ConsentConfig) -> None:
    guard = CookieGuard(config)
    headers: RawHeaders = [(b"content-type", b"text/html")]
    guard.expire(headers, decided(config, "analytics", "marketing"), ["_ga", "pardot"],
                 host="example.nl", secure=False)  # fmt: skip
    guard.expire(headers, ConsentState.undecided(config), ["kruimel_lang", "other"],
                 host="example.nl", secure=False)  # fmt: skip
    assert headers == [(b"content-type", b"text/html")]


def test_guard_expire_pattern_cookies_only_as_present(config: ConsentConfig) -> None:
    headers: RawHeaders = []
    CookieGuard(config).expire(
        headers, ConsentState.undecided(config), ["_pk_id.1.f00d", "_pk_ses.1.f00d"],
        host="localhost", secure=False,
    )  # fmt: skip
    assert {cookie_name(v) for v in get_all(headers, b"set-cookie")} == {
        "_pk_id.1.f00d",
        "_pk_ses.1.f00d",
    }
    assert all(b"Domain=" not in v for v in get_all(headers, b"set-cookie"))
