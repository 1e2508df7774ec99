"""One event, from the request body to the row that is stored.

:func:`parse_event` validates a Plausible-compatible body (``name``/``n``, ``url``/``u``,
``domain``/``d``, ``referrer``/``r``, ``screen_width``/``w``, ``props``/``p``, ``h`` for hash
routing; engagement time in ms as Plausible's ``e`` or ``engagement_time``, or ``duration``);
:func:`build_row` turns it, with what the request says about the client, into a row in
``analytics.schema.EVENT_COLUMNS`` order. The raw IP address and user agent are used by the
caller to compute the visitor key and never enter the row.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime
from typing import Any, NamedTuple

from .config import SiteConfig
from .errors import InvalidEvent
from .normalize import MAX_URL, PageURL
from .useragent import UserAgentInfo

__all__ = [
    "Event",
    "parse_event",
    "build_row",
    "MAX_PROPS",
    "MAX_PROP_KEY",
    "MAX_PROP_VALUE",
    "MAX_NAME",
    "MAX_DURATION_MS",
]

MAX_PROPS = 10
MAX_PROP_KEY = 64
MAX_PROP_VALUE = 512
MAX_NAME = 120
MAX_DURATION_MS = 24 * 3600 * 1000
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_decoder = json.JSONDecoder()


class Event(NamedTuple):
    """A validated event body (a named tuple: built once per request on the hot path)."""

    name: str
    url: str
    domains: tuple[str, ...]
    referrer: str
    props: dict[str, str]
    duration_ms: int
    hash_mode: bool


def _pick(data: dict[str, Any], short: str, long: str) -> Any:
    """Plausible's short field name, else the long one."""
    value = data.get(short)
    return data.get(long) if value is None else value


def _string(data: dict[str, Any], field: str, short: str, required: bool = False) -> str:
    value = _pick(data, short, field)
    if value is None:
        if required:
            raise InvalidEvent(f"'{field}' is required")
        return ""
    if not isinstance(value, str):
        raise InvalidEvent(f"'{field}' must be a string")
    return value


def parse_event(body: bytes) -> Event:
    """Validate an event body (JSON, sent as ``application/json`` or ``text/plain``).

    :raises InvalidEvent: (400) invalid UTF-8, malformed JSON, wrong types, missing fields,
        too many or too long props, an absurd URL.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidEvent("the body is not valid UTF-8") from e
    try:
        data = _decoder.decode(text)
    except (ValueError, RecursionError) as e:  # RecursionError: "[[[[..." nested thousands deep
        raise InvalidEvent("the body is not valid JSON") from e
    if not isinstance(data, dict):
        raise InvalidEvent("the body must be a JSON object")
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidEvent("the body holds an unpaired UTF-16 surrogate") from e

    # Plausible's short field names first, then the long ones; inlined (no helper calls per
    # field): this runs for every event
    get = data.get
    name = get("n")
    if name is None:
        name = get("name")
    url = get("u")
    if url is None:
        url = get("url")
    domain = get("d")
    if domain is None:
        domain = get("domain")
    referrer = get("r")
    if referrer is None:
        referrer = get("referrer")
    if type(name) is not str:
        name = _string(data, "name", "n", required=True)
    name = name.strip()
    if not name or len(name) > MAX_NAME or _CONTROL.search(name):
        raise InvalidEvent(f"'name' must be 1 to {MAX_NAME} printable characters")
    if type(url) is not str:
        url = _string(data, "url", "u", required=True)
    if len(url) > MAX_URL:
        raise InvalidEvent(f"'url' is longer than {MAX_URL} characters")
    if type(domain) is not str:
        domain = _string(data, "domain", "d", required=True)
    if "," in domain:  # Plausible's "site.nl,rollup.nl"
        domains = tuple(d.strip().lower() for d in domain.split(",") if d.strip())
    else:
        only = domain.strip().lower()
        domains = (only,) if only else ()
    if not domains or len(domain) > 1000:
        raise InvalidEvent("'domain' must name the site, e.g. 'example.nl'")
    if referrer is None:
        referrer = ""
    elif type(referrer) is not str:
        referrer = _string(data, "referrer", "r")
    width = get("w")
    if width is None:
        width = get("screen_width")
    if width is not None and (type(width) is not int or not 0 <= width <= 100_000):
        raise InvalidEvent("'screen_width' must be a whole number of pixels")
    props = _pick(data, "p", "props")
    props = _props(props) if props is not None else {}
    duration = _pick(data, "e", "engagement_time")
    if duration is None:
        duration = get("duration")
    if duration is None:
        duration_ms = 0
    elif (
        isinstance(duration, bool)
        or not isinstance(duration, int | float)
        or not math.isfinite(duration)
        or duration < 0
    ):
        raise InvalidEvent("'engagement_time' must be a non-negative number of milliseconds")
    else:
        duration_ms = min(int(duration), MAX_DURATION_MS)
    hash_mode = bool(get("h"))
    return Event(name, url, domains, referrer, props, duration_ms, hash_mode)


def _props(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):  # Plausible's tracker sends props as a JSON string
        try:
            value = json.loads(value) if value.strip() else {}
        except (ValueError, RecursionError) as e:
            raise InvalidEvent("'props' is not a JSON object") from e
    if not isinstance(value, dict):
        raise InvalidEvent("'props' must be an object of strings")
    try:  # a props *string* is parsed here, past the outer body's surrogate check
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError, RecursionError) as e:
        raise InvalidEvent("'props' holds an unpaired UTF-16 surrogate") from e
    if len(value) > MAX_PROPS:
        raise InvalidEvent(f"too many props: at most {MAX_PROPS}")
    props: dict[str, str] = {}
    for key, raw in value.items():
        if not key or len(key) > MAX_PROP_KEY or _CONTROL.search(key):
            raise InvalidEvent(f"a prop name must be 1 to {MAX_PROP_KEY} printable characters")
        if raw is None:
            continue
        if isinstance(raw, bool):
            text = "true" if raw else "false"
        elif isinstance(raw, str | int | float):
            text = str(raw)
        else:
            raise InvalidEvent(f"prop {key!r} must be a string, number or boolean")
        # truncated, not refused: the tracker sends whole link URLs as props
        props[key] = text[:MAX_PROP_VALUE]
    return props


def build_row(
    event: Event,
    site: SiteConfig,
    page: PageURL,
    referrer: tuple[str, str],
    ua: UserAgentInfo,
    visitor: int,
    ts: datetime,
    day: date,
) -> tuple[Any, ...]:
    """The stored row, in ``EVENT_COLUMNS`` order, ready for the journal: ``ts`` as UTC epoch
    seconds and ``day`` as ``YYYY-MM-DD``, which ClickHouse reads into its column types.

    :param page: the normalised page URL (:func:`~analytics.normalize.normalize_url`).
    :param referrer: ``(host, source)`` (:func:`~analytics.normalize.referrer_source`): only
        the referrer's host is stored, never its URL.
    """
    referrer_host, source = referrer
    return (
        site.domain,
        int(ts.timestamp()),  # DateTime('UTC') takes epoch seconds: no per-row formatting
        day.isoformat(),
        event.name,
        visitor,
        page.path,
        referrer_host,
        source,
        page.utm_source,
        page.utm_medium,
        page.utm_campaign,
        ua.browser,
        ua.os,
        ua.device,
        event.duration_ms,
        event.props,
    )
