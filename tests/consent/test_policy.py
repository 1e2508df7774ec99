"""The cookie declaration page: complete, escaped, in Dutch and English, with a working form."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import httpx
import pytest

from consent.config import ConsentConfig, CookieSpec, Service
from consent.policy import policy_data, render_policy
from consent.presets import preset
from consent.state import ConsentState

HOSTILE = '<script>alert("x")</script>'


class _Outline(HTMLParser):
    """Collects the tags, headings and table cells of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Outline:
    outline = _Outline()
    outline.feed(html)
    return outline


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("nl", ["Cookieverklaring", "Bewaartermijn", "2 jaar", "sessie", "30 minuten", "Uw keuze"]),
        (
            "en",
            ["Cookie declaration", "Lifetime", "2 years", "session", "30 minutes", "Your choice"],
        ),
    ],
)
def test_policy_page_lists_every_cookie(config: ConsentConfig, lang: str, words: list[str]) -> None:
    html = render_policy(
        config, state=ConsentState.undecided(config), lang=lang, next_url="/_consent/policy"
    )
    assert html.startswith("<!doctype html>") and f'<html lang="{lang}">' in html
    outline = _parse(html)
    text = " ".join(outline.text)
    for word in words:
        assert word in text
    for service in config.declared_services:
        assert service.title in text
        for cookie in service.cookies:
            assert cookie.name in text
    assert "Google Ireland Limited" in text and ".youtube.com" in text
    assert "13 maanden" in text or "13 months" in text  # Matomo's _pk_id
    assert [t for t, _ in outline.tags].count("h1") == 1
    headers = [a for t, a in outline.tags if t == "th"]
    assert headers and all(a.get("scope") in ("col", "row") for a in headers)
    links = [a.get("href", "") or "" for t, a in outline.tags if t == "link"]
    assert any("/_consent/static/banner.css?v=" in h for h in links)
    assert any("/_consent/static/policy.css?v=" in h for h in links)


def test_policy_page_holds_a_settings_form_without_javascript(config: ConsentConfig) -> None:
    state = ConsentState.decide(config, {"analytics": True})
    html = render_policy(config, state=state, lang="nl", next_url="/_consent/policy?lang=nl")
    outline = _parse(html)
    forms = [a for t, a in outline.tags if t == "form"]
    assert any(a.get("action") == "/_consent" and a.get("method") == "post" for a in forms)
    boxes = {
        a.get("value"): a for t, a in outline.tags if t == "input" and a.get("type") == "checkbox"
    }
    assert "checked" in boxes["analytics"] and "checked" not in boxes["marketing"]
    assert "script" not in [t for t, _ in outline.tags]
    assert "Toegestaan" in html and "Niet toegestaan" in html


def test_policy_escapes_config_text(make_config: Callable[..., ConsentConfig]) -> None:
    hostile = Service(
        "evil",
        HOSTILE,
        "analytics",
        HOSTILE,
        {"nl": HOSTILE, "en": HOSTILE},
        (CookieSpec("x", {"nl": HOSTILE, "en": HOSTILE}, 1, provider=HOSTILE),),
    )
    config = make_config(controller=HOSTILE, services=(hostile, preset("youtube")))
    for lang in ("nl", "en"):
        html = render_policy(config, state=ConsentState.undecided(config), lang=lang, next_url="/")
        assert "<script>" not in html
        assert "&lt;script&gt;" in html


def test_policy_json_matches_declaration(config: ConsentConfig) -> None:
    data = policy_data(config, "en")
    assert data["controller"] == "Voorbeeld B.V." and data["consent_lifetime_days"] == 182
    names = [c["name"] for c in data["categories"]]
    assert names == ["necessary", "preferences", "analytics", "marketing"]
    necessary = data["categories"][0]
    assert necessary["required"] and necessary["services"][0]["name"] == "kruimel"
    analytics = data["categories"][2]
    ga = next(s for s in analytics["services"] if s["name"] == "ga4")
    assert {c["name"]: c["lifetime"] for c in ga["cookies"]} == {
        "_ga": "2 years",
        "_ga_TEST1": "2 years",
    }
    assert ga["cookies"][0]["provider"] == "Google Ireland Limited"


async def test_policy_page_form_round_trip(client: httpx.AsyncClient) -> None:
    page = await client.get("/_consent/policy?lang=en&next=/shop")
    assert page.status_code == 200 and 'name="next" value="/shop"' in page.text
    evil = await client.get("/_consent/policy?next=https://evil.example/")
    assert 'value="https://evil.example/"' not in evil.text
    # English was chosen on the first visit and is remembered in the language cookie.
    assert 'name="next" value="/_consent/policy?lang=en"' in evil.text
    posted = await client.post(
        "/_consent",
        data={"accept": "custom", "categories": ["marketing"], "next": "/_consent/policy?lang=en"},
        headers={"Origin": "https://www.example.nl"},
    )
    assert posted.status_code == 303
    after = await client.get(posted.headers["location"])
    assert '<html lang="en">' in after.text
    assert "You made a choice on" in after.text
