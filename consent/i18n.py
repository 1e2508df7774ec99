"""Language choice (Dutch or English) and the few phrases the server itself writes."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import cookie_parser
from starlette.types import Scope

from .config import LANGUAGES, ConsentConfig
from .cookie import headers_of

__all__ = ["LANGUAGES", "choose_language", "human_lifetime", "parse_accept_language"]


def parse_accept_language(header: str) -> list[str]:
    """Primary language subtags of an ``Accept-Language`` header, best first.

    Entries with ``q=0`` are refused and dropped; ties keep the header's order.
    """
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            ranked.append((-q, index, tag.split("-")[0]))
    return [tag for _, _, tag in sorted(ranked)]


def choose_language(config: ConsentConfig, scope: Scope) -> str:
    """``"nl"`` or ``"en"`` for this request.

    In order: the ``?lang=`` query parameter, the language preference cookie, the first
    supported language of ``Accept-Language`` (by q-value), the site's default.
    """
    query: str = scope.get("query_string", b"").decode("latin-1")
    for key, value in parse_qsl(query):
        if key == "lang" and value.lower() in LANGUAGES:
            return value.lower()
    headers = headers_of(scope)
    chosen = str(cookie_parser(headers.get("cookie", "")).get(config.language_cookie, "")).lower()
    if chosen in LANGUAGES:
        return chosen
    for tag in parse_accept_language(headers.get("accept-language", "")):
        if tag in LANGUAGES:
            return tag
        if tag == "*":
            break
    return config.default_language


_UNITS = {
    "nl": {"session": "sessie", "minute": ("minuut", "minuten"), "hour": ("uur", "uur"),
           "day": ("dag", "dagen"), "month": ("maand", "maanden"), "year": ("jaar", "jaar")},
    "en": {"session": "session", "minute": ("minute", "minutes"), "hour": ("hour", "hours"),
           "day": ("day", "days"), "month": ("month", "months"), "year": ("year", "years")},
}  # fmt: skip


def human_lifetime(days: float | None, lang: str) -> str:
    """A cookie lifetime as people say it: ``"sessie"``, ``"30 minuten"``, ``"13 maanden"``.

    Whole years from 720 days, months from 60 days (30.4 days each), else days, hours or
    minutes.
    """
    units = _UNITS[lang if lang in _UNITS else "en"]
    if days is None:
        return str(units["session"])
    if days >= 720 and round(days / 365) * 365 - days < 30:
        count, unit = round(days / 365), "year"
    elif days >= 60:
        count, unit = round(days / 30.4), "month"
    elif days >= 1:
        count, unit = round(days), "day"
    elif days * 24 >= 1:
        count, unit = round(days * 24), "hour"
    else:
        count, unit = max(1, round(days * 1440)), "minute"
    one, many = units[unit]
    return f"{count} {one if count == 1 else many}"
