"""The signed functional cookie that holds a visitor's choice.

The value is an itsdangerous ``URLSafeTimedSerializer`` token (salt ``kruimel.consent.v1``)
over ``{"i": consent id, "c": allowed optional categories, "v": policy version, "t": decision
time}``. It is signed with the newest secret key and checked against all configured keys,
so keys rotate without logging anyone out. Reading fails closed: anything but a valid,
current, unexpired token is "no choice made yet", never an exception.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.requests import cookie_parser

from kruimel.base import shared

from .config import ConsentConfig
from .state import ConsentState

__all__ = [
    "SALT",
    "TOKEN_HEADER",
    "CookieReading",
    "clear_cookie_header",
    "dump_token",
    "expire_cookie_headers",
    "headers_of",
    "read_cookie",
    "read_state",
    "set_cookie_header",
]

SALT = "kruimel.consent.v1"
TOKEN_HEADER = shared.TOKEN_HEADER.lower()  # cross-origin callers send the token here
_EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"
_SKEW = timedelta(minutes=5)
ReadStatus = Literal["absent", "valid", "invalid", "expired", "outdated"]


@dataclass(frozen=True)
class CookieReading:
    """The state read from a request and why: ``valid``, or ``absent`` / ``invalid``
    (bad signature or payload: new id) / ``expired`` / ``outdated`` (other policy version;
    both keep the id)."""

    state: ConsentState
    status: ReadStatus
    token: str | None = None


@lru_cache(maxsize=32)
def _serializer(config: ConsentConfig) -> URLSafeTimedSerializer:
    # itsdangerous wants keys oldest to newest; the config lists them newest first.
    return URLSafeTimedSerializer(list(reversed(config.secret_keys)), salt=SALT)


def headers_of(scope_or_headers: Mapping[str, Any]) -> dict[str, str]:
    """Lower-cased request headers from an ASGI scope or a header mapping.

    Repeated headers are joined with ``", "`` (cookies with ``"; "``).
    """
    if "type" in scope_or_headers and "headers" in scope_or_headers:
        result: dict[str, str] = {}
        for raw_key, raw_value in scope_or_headers["headers"]:
            key, value = raw_key.decode("latin-1").lower(), raw_value.decode("latin-1")
            if key in result:
                value = result[key] + ("; " if key == "cookie" else ", ") + value
            result[key] = value
        return result
    return {str(k).lower(): str(v) for k, v in scope_or_headers.items()}


def read_cookie(
    config: ConsentConfig, scope_or_headers: Mapping[str, Any], now: datetime | None = None
) -> CookieReading:
    """Read the consent cookie (or the ``X-Kruimel-Consent`` header) of a request.

    :param scope_or_headers: an ASGI HTTP scope, or a mapping of request headers.
    :param now: the current time (tests).
    """
    headers = headers_of(scope_or_headers)
    gpc = headers.get("sec-gpc", "").strip() == "1"
    token = (
        cookie_parser(headers.get("cookie", "")).get(config.cookie_name)
        or headers.get(TOKEN_HEADER, "").strip()
    )
    if not token:
        return CookieReading(ConsentState.undecided(config, gpc=gpc), "absent")
    try:
        payload = _serializer(config).loads(token)
        consent_id, allowed, version, decided = (payload[k] for k in ("i", "c", "v", "t"))
        if not (
            isinstance(consent_id, str)
            and 0 < len(consent_id) <= 64
            and isinstance(allowed, list)
            and all(isinstance(c, str) for c in allowed)
            and isinstance(version, str)
            and isinstance(decided, int)
        ):
            raise ValueError("unexpected payload")
        decided_at = datetime.fromtimestamp(decided, UTC)
    except (BadData, ValueError, TypeError, KeyError, OverflowError, OSError):
        return CookieReading(ConsentState.undecided(config, gpc=gpc), "invalid")
    if version != config.policy_version:
        return CookieReading(ConsentState.undecided(config, gpc=gpc, id=consent_id), "outdated")
    now = now or datetime.now(UTC)
    if now - decided_at >= timedelta(days=config.lifetime_days) or decided_at > now + _SKEW:
        return CookieReading(ConsentState.undecided(config, gpc=gpc, id=consent_id), "expired")
    state = ConsentState.decide(
        config, dict.fromkeys(allowed, True), id=consent_id, gpc=gpc, now=decided_at
    )
    return CookieReading(state, "valid", token)


def read_state(
    config: ConsentConfig, scope_or_headers: Mapping[str, Any], now: datetime | None = None
) -> ConsentState:
    """The visitor's :class:`ConsentState`; undecided for any missing or bad cookie."""
    return read_cookie(config, scope_or_headers, now).state


def dump_token(config: ConsentConfig, state: ConsentState) -> str:
    """The signed cookie value for a decided ``state``."""
    if not state.decided or state.decided_at is None:
        raise ValueError("only a decision is stored in the consent cookie")
    payload = {
        "i": state.id,
        "c": [name for name in config.optional_categories if state.allows(name)],
        "v": state.policy_version,
        "t": int(state.decided_at.timestamp()),
    }
    return _serializer(config).dumps(payload)


def set_cookie_header(
    config: ConsentConfig,
    state: ConsentState,
    secure: bool,
    now: datetime | None = None,
    token: str | None = None,
) -> bytes:
    """The ``Set-Cookie`` value storing ``state``; Max-Age is the remaining lifetime."""
    if state.expires_at is None:
        raise ValueError("only a decision is stored in the consent cookie")
    remaining = state.expires_at - (now or datetime.now(UTC))
    max_age = max(0, int(remaining.total_seconds()))
    value = token or dump_token(config, state)
    attrs = f"{config.cookie_name}={value}; Max-Age={max_age}; Path=/; SameSite=Lax; HttpOnly"
    return (attrs + ("; Secure" if secure else "")).encode("latin-1")


def clear_cookie_header(config: ConsentConfig, secure: bool) -> bytes:
    """A ``Set-Cookie`` value deleting the consent cookie."""
    attrs = f"{config.cookie_name}=; Max-Age=0; Expires={_EPOCH}; Path=/; SameSite=Lax; HttpOnly"
    return (attrs + ("; Secure" if secure else "")).encode("latin-1")


def _domains(host: str) -> list[str]:
    """The domains a page on ``host`` may delete cookies from: the host and its parents
    (not the top-level domain). Trackers such as ``_ga`` set ``Domain=.example.nl``, and a
    deletion only works with the same Domain attribute."""
    try:
        ipaddress.ip_address(host)
        return []
    except ValueError:
        pass
    labels = host.lower().split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def expire_cookie_headers(
    config: ConsentConfig,
    categories: Iterable[str],
    *,
    present: Iterable[str],
    host: str,
    secure: bool,
    only_present: bool = False,
) -> list[bytes]:
    """``Set-Cookie`` values expiring the declared cookies of ``categories``.

    Exact names are expired whether or not the request carried them; a pattern
    (``_ga_*``) expires the matching cookies in ``present``. Each is expired host-only and
    on every domain of ``host`` (declared third-party domains such as ``.facebook.com``
    cannot be touched by a first-party response, so they are skipped). With
    ``only_present``, exact names too are expired only when the request carried them.
    """
    if host.startswith("[") and "]" in host:
        host = host[1 : host.index("]")]
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    present = list(present)
    domains = _domains(host)
    names: list[str] = []
    for category in categories:
        for spec in config.cookies_in(category):
            if spec.domain and spec.domain.lstrip(".") not in domains:
                continue
            if spec.is_pattern or only_present:
                matched = [n for n in present if spec.matches(n)]
            else:
                matched = [spec.name]
            names.extend(n for n in matched if n not in names)
    headers = []
    tail = "; Secure" if secure else ""
    for name in names:
        base = f"{name}=; Max-Age=0; Expires={_EPOCH}; Path=/"
        headers.append((base + tail).encode("latin-1"))
        for domain in domains:
            headers.append(f"{base}; Domain={domain}{tail}".encode("latin-1"))
    return headers
