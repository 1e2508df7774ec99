"""Language negotiation and human-readable lifetimes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from consent.config import ConsentConfig
from consent.i18n import choose_language, human_lifetime, parse_accept_language


def _scope(query: str = "", **headers: str) -> dict[str, object]:
    return {
        "type": "http",
        "query_string": query.encode(),
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }


@pytest.mark.parametrize(
    ("query", "headers", "expected"),
    [
        ("", {}, "nl"),
        ("lang=en", {}, "en"),
        ("lang=EN", {"cookie": "kruimel_lang=nl"}, "en"),
        ("lang=de", {"accept_language": "en"}, "en"),
        ("", {"cookie": "kruimel_lang=en", "accept_language": "nl"}, "en"),
        ("", {"cookie": "kruimel_lang=fr", "accept_language": "en-GB"}, "en"),
        ("", {"accept_language": "de-DE, en;q=0.8, nl;q=0.9"}, "nl"),
        ("", {"accept_language": "de-DE, en;q=0.9, nl;q=0.8"}, "en"),
        ("", {"accept_language": "en;q=0, fr"}, "nl"),
        ("", {"accept_language": "fr, *;q=0.5, en;q=0.1"}, "nl"),
        ("", {"accept_language": "nl-BE"}, "nl"),
        ("", {"accept_language": "en;q=abc, nl;q=0.2"}, "nl"),
        ("", {"accept_language": ";;,,"}, "nl"),
    ],
)
def test_choose_language_order(query: str, headers: dict[str, str], expected: str,
                               config: ConsentConfig) -> None:  # fmt: skip
    assert choose_language(config, _scope(query, **headers)) == expected


def test_choose_language_site_default(make_config: Callable[..., ConsentConfig]) -> None:
    config = make_config(default_language="en")
    assert choose_language(config, _scope()) == "en"
    assert choose_language(config, _scope(accept_language="de")) == "en"


def test_parse_accept_language_ranks_by_q_then_order() -> None:
    assert parse_accept_language("fr;q=0.5, en-US, nl;q=0.5, de;q=0") == ["en", "fr", "nl"]


@pytest.mark.parametrize(
    ("days", "nl", "en"),
    [
        (None, "sessie", "session"),
        (1 / 48, "30 minuten", "30 minutes"),
        (1 / 24, "1 uur", "1 hour"),
        (1, "1 dag", "1 day"),
        (30, "30 dagen", "30 days"),
        (90, "3 maanden", "3 months"),
        (182, "6 maanden", "6 months"),
        (393, "13 maanden", "13 months"),
        (730, "2 jaar", "2 years"),
        (3650, "10 jaar", "10 years"),
    ],
)
def test_human_lifetime(days: float | None, nl: str, en: str) -> None:
    assert human_lifetime(days, "nl") == nl
    assert human_lifetime(days, "en") == en
