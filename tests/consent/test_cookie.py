"""The signed consent cookie: round trip, tampering, rotation, versions, expiry, GPC, and the
Set-Cookie values that store, clear and expire cookies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer

from consent.config import ConsentConfig
from consent.cookie import (
    SALT,
    clear_cookie_header,
    dump_token,
    expire_cookie_headers,
    read_cookie,
    read_state,
    set_cookie_header,
)
from consent.state import ConsentState
from tests.clock import noon

NOW = noon()
_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _headers(token: str, **extra: str) -> dict[str, str]:
    return {"cookie": f"other=1; kruimel_consent={token}", **extra}


def _decided(config: ConsentConfig, at: datetime = NOW, **allowed: bool) -> ConsentState:
    return ConsentState.decide(config, allowed, now=at)


def test_cookie_round_trip_keeps_id_categories_and_time(config: ConsentConfig) -> None:
    state = _decided(config, analytics=True)
    reading = read_cookie(config, _headers(dump_token(config, state)), now=NOW)
    assert reading.status == "valid"
    assert reading.state == state
    assert reading.state.allows("analytics") and not reading.state.allows("marketing")
    assert reading.state.allows("necessary")


def test_cookie_read_from_asgi_scope_and_token_header(config: ConsentConfig) -> None:
    state = _decided(config, marketing=True)
    token = dump_token(config, state)
    scope = {"type": "http", "headers": [(b"cookie", f"kruimel_consent={token}".encode())]}
    assert read_state(config, scope, now=NOW).id == state.id
    header = {"X-Kruimel-Consent": token}
    assert read_state(config, header, now=NOW).allows("marketing")


def test_cookie_flipped_bytes_mean_undecided_with_new_id(config: ConsentConfig) -> None:
    state = _decided(config, analytics=True)
    token = dump_token(config, state)
    for index in (0, len(token) // 2, len(token) - 1):
        if token[index] not in _B64URL:
            index += 1  # a separator: flip the character after it
        # Flip the character's top bit: the last base64 character of a signature carries a few
        # padding bits, so swapping it for an arbitrary letter can decode to the same bytes.
        swapped = _B64URL[_B64URL.index(token[index]) ^ 0b100000]
        flipped = token[:index] + swapped + token[index + 1 :]
        reading = read_cookie(config, _headers(flipped), now=NOW)
        assert reading.status == "invalid"
        assert not reading.state.decided and reading.state.id != state.id
        assert reading.state.allowed == ("necessary",)


def test_cookie_old_key_still_accepted_after_rotation(
    make_config: Callable[..., ConsentConfig],
) -> None:
    old = make_config(secret_keys=("old-key-0123456789abcdef",))
    token = dump_token(old, _decided(old, analytics=True))
    rotated = make_config(secret_keys=("new-key-0123456789abcdef", "old-key-0123456789abcdef"))
    assert read_cookie(rotated, _headers(token), now=NOW).status == "valid"
    resigned = dump_token(rotated, _decided(rotated))
    new_only = make_config(secret_keys=("new-key-0123456789abcdef",))
    assert read_cookie(new_only, _headers(resigned), now=NOW).status == "valid"


def test_cookie_unknown_key_is_rejected(make_config: Callable[..., ConsentConfig]) -> None:
    other = make_config(secret_keys=("somebody-elses-key-0123456789",))
    token = dump_token(other, _decided(other, marketing=True))
    mine = make_config()
    reading = read_cookie(mine, _headers(token), now=NOW)
    assert reading.status == "invalid" and not reading.state.allows("marketing")


def test_cookie_other_salt_is_rejected(config: ConsentConfig) -> None:
    forged = URLSafeTimedSerializer(config.secret_keys[0], salt=SALT + ".other").dumps(
        {"i": "x", "c": ["marketing"], "v": config.policy_version, "t": int(NOW.timestamp())}
    )
    assert read_cookie(config, _headers(forged), now=NOW).status == "invalid"


def test_cookie_other_policy_version_keeps_id_but_asks_again(
    make_config: Callable[..., ConsentConfig],
) -> None:
    before = make_config(policy_version="2026-05")
    state = _decided(before, marketing=True)
    after = make_config(policy_version="2026-11")
    reading = read_cookie(after, _headers(dump_token(before, state)), now=NOW)
    assert reading.status == "outdated"
    assert reading.state.id == state.id and not reading.state.decided
    assert not reading.state.allows("marketing")


@pytest.mark.parametrize(
    ("age", "status"),
    [
        (timedelta(days=181, hours=23), "valid"),
        (timedelta(days=182), "expired"),
        (timedelta(days=400), "expired"),
        (timedelta(minutes=-4), "valid"),
        (timedelta(hours=-1), "expired"),
    ],
)
def test_cookie_lifetime_is_checked(config: ConsentConfig, age: timedelta, status: str) -> None:
    state = _decided(config, NOW - age, analytics=True)
    reading = read_cookie(config, _headers(dump_token(config, state)), now=NOW)
    assert reading.status == status
    assert reading.state.decided is (status == "valid")
    assert reading.state.id == state.id


@pytest.mark.parametrize(
    "value",
    ["", "garbage", "a.b.c", "%00%ff", "x" * 5000, '"quoted"', "eyJ9.AAAA.BBBB"],
)
def test_cookie_garbage_means_undecided(config: ConsentConfig, value: str) -> None:
    reading = read_cookie(config, _headers(value), now=NOW)
    assert reading.status in ("absent", "invalid")
    assert not reading.state.decided


def test_cookie_signed_payload_of_wrong_shape_is_invalid(config: ConsentConfig) -> None:
    serializer = URLSafeTimedSerializer(config.secret_keys[0], salt=SALT)
    for payload in ([1, 2], {"i": "x"}, {"i": 1, "c": [], "v": "2026-11", "t": 0}):
        token = serializer.dumps(payload)
        assert read_cookie(config, _headers(token), now=NOW).status == "invalid"


def test_cookie_absent_is_undecided(config: ConsentConfig) -> None:
    reading = read_cookie(config, {}, now=NOW)
    assert reading.status == "absent" and reading.token is None
    assert reading.state.categories == {
        "necessary": True,
        "preferences": False,
        "analytics": False,
        "marketing": False,
    }


def test_gpc_header_marks_state_and_keeps_marketing_off(config: ConsentConfig) -> None:
    undecided = read_state(config, {"Sec-GPC": "1"})
    assert undecided.gpc and not undecided.allows("marketing")
    explicit = _decided(config, marketing=True)
    later = read_state(config, _headers(dump_token(config, explicit), **{"sec-gpc": "1"}), NOW)
    assert later.gpc and later.allows("marketing")  # an explicit choice wins


def test_gpc_ignored_when_site_does_not_honour_it(
    make_config: Callable[..., ConsentConfig],
) -> None:
    assert not read_state(make_config(honor_gpc=False), {"sec-gpc": "1"}).gpc


def test_set_cookie_header_attributes(config: ConsentConfig) -> None:
    state = _decided(config, analytics=True)
    header = set_cookie_header(config, state, secure=True, now=NOW + timedelta(days=2))
    text = header.decode()
    assert text.startswith("kruimel_consent=")
    assert f"Max-Age={180 * 86400}" in text
    for attr in ("Path=/", "SameSite=Lax", "HttpOnly", "Secure"):
        assert attr in text.split("; ")
    plain = set_cookie_header(config, state, secure=False, now=NOW).decode()
    assert "Secure" not in plain
    token = text.split(";")[0].split("=", 1)[1]
    assert read_cookie(config, _headers(token), now=NOW).state == state


def test_set_cookie_header_refuses_undecided(config: ConsentConfig) -> None:
    with pytest.raises(ValueError):
        set_cookie_header(config, ConsentState.undecided(config), secure=True)


def test_clear_cookie_header(config: ConsentConfig) -> None:
    text = clear_cookie_header(config, secure=True).decode()
    assert text.startswith("kruimel_consent=;") and "Max-Age=0" in text and "Secure" in text


def test_expire_headers_cover_exact_names_domains_and_present_patterns(
    config: ConsentConfig,
) -> None:
    values = [
        v.decode()
        for v in expire_cookie_headers(
            config,
            ["analytics"],
            present=["_pk_id.1.abc", "_pk_id.2.zzz", "_ga", "unrelated"],
            host="www.example.nl:8443",
            secure=True,
        )
    ]
    names = {v.split("=", 1)[0] for v in values}
    assert names == {"_ga", "_ga_TEST1", "_pk_id.1.abc"}
    assert "_ga=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure" in values
    assert any(v.startswith("_ga=;") and "Domain=example.nl" in v for v in values)
    assert any(v.startswith("_ga=;") and "Domain=www.example.nl" in v for v in values)
    assert not any("Domain=nl" in v for v in values)


def test_expire_headers_skip_third_party_domains_and_ips(config: ConsentConfig) -> None:
    youtube = expire_cookie_headers(config, ["marketing"], present=[], host="127.0.0.1:8000",
                                    secure=False)  # fmt: skip
    texts = [v.decode() for v in youtube]
    assert texts and not any("Domain=" in t for t in texts)
    assert not any(t.startswith("YSC=") for t in texts)  # declared on .youtube.com
    only_present = expire_cookie_headers(
        config,
        ["marketing"],
        present=["pardot"],
        host="example.nl",
        secure=False,
        only_present=True,
    )
    assert {v.decode().split("=", 1)[0] for v in only_present} == {"pardot"}
