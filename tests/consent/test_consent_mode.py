"""consent.consent_mode: Google Consent Mode v2 defaults and the visitor's update."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from consent.config import ConsentConfig
from consent.consent_mode import GTAG_TYPES, WAIT_FOR_UPDATE, ConsentMode
from consent.presets import preset
from consent.state import ConsentState
from kruimel.base.assets import asset_path, asset_url

ALL_TYPES = {t for types in GTAG_TYPES.values() for t in types}


def calls(snippet: str) -> list[tuple[str, dict[str, object]]]:
    """The gtag('consent', ...) calls of an inline snippet, with their JSON arguments."""
    found = re.findall(r"gtag\('consent','(default|update)',(\{.*?\})\);", snippet)
    return [(kind, json.loads(arg)) for kind, arg in found]


def test_consent_mode_off_without_google_services(
    make_config: Callable[..., ConsentConfig],
) -> None:
    config = make_config(services=(preset("pardot", account_id="1"), preset("youtube")))
    mode = ConsentMode(config)
    assert not mode.enabled
    assert mode.render(ConsentState.undecided(config), nonce="n") == ""


@pytest.mark.parametrize("name", ["ga4", "gtm"])
def test_consent_mode_on_with_a_google_preset(
    make_config: Callable[..., ConsentConfig], name: str
) -> None:
    ids = {"ga4": {"measurement_id": "G-X"}, "gtm": {"container_id": "GTM-X"}}[name]
    assert ConsentMode(make_config(services=(preset(name, **ids),))).enabled


def test_consent_mode_default_denies_everything_then_updates(config: ConsentConfig) -> None:
    snippet = ConsentMode(config).render(ConsentState.undecided(config), nonce=None)
    assert snippet.startswith('<script data-kruimel="consent-mode">')
    assert "window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}" in (
        snippet
    )
    [(first, default), (second, update)] = calls(snippet)
    assert (first, second) == ("default", "update")
    assert default == {**dict.fromkeys(ALL_TYPES, "denied"), "wait_for_update": WAIT_FOR_UPDATE}
    for key in ("ad_storage", "analytics_storage", "ad_user_data", "ad_personalization"):
        assert default[key] == "denied"
    assert update == dict.fromkeys(ALL_TYPES, "denied")


@pytest.mark.parametrize(
    ("allowed", "granted"),
    [
        ((), set()),
        (("analytics",), {"analytics_storage"}),
        (("marketing",), {"ad_storage", "ad_user_data", "ad_personalization"}),
        (("preferences",), {"functionality_storage", "personalization_storage"}),
        (("analytics", "marketing", "preferences"), ALL_TYPES),
    ],
)
def test_consent_mode_update_follows_the_choice(
    config: ConsentConfig, allowed: tuple[str, ...], granted: set[str]
) -> None:
    state = ConsentState.decide(config, dict.fromkeys(allowed, True))
    [_, (_, update)] = calls(ConsentMode(config).render(state, nonce=None))
    assert {k for k, v in update.items() if v == "granted"} == granted
    assert {k for k, v in update.items() if v == "denied"} == ALL_TYPES - granted


def test_consent_mode_inline_carries_the_nonce(config: ConsentConfig) -> None:
    snippet = ConsentMode(config).render(ConsentState.undecided(config), nonce="abc+/=")
    assert snippet.startswith('<script data-kruimel="consent-mode" nonce="abc+/=">')


def test_consent_mode_external_when_inline_is_blocked(config: ConsentConfig) -> None:
    state = ConsentState.decide(config, {"analytics": True})
    snippet = ConsentMode(config).render(state, nonce=None, inline=False)
    src = asset_url(config.prefix + "/static", "consent-mode.js")
    assert snippet == (
        f'<script data-kruimel="consent-mode" src="{src}"'
        f' data-types="{" ".join(t for c in GTAG_TYPES.values() for t in c)}"'
        f' data-granted="analytics_storage" data-wait="{WAIT_FOR_UPDATE}"></script>'
    )
    assert "gtag(" not in snippet


def test_consent_mode_script_is_small_and_uses_no_eval() -> None:
    source = asset_path("consent-mode.js").read_text(encoding="utf-8")
    assert len(source.encode()) < 2048
    for forbidden in ("eval(", "new Function", "innerHTML", "document.write"):
        assert forbidden not in source
    for attribute in ("data-types", "data-granted", "data-wait"):
        assert attribute in source
    # Either quote: the committed file is minified (static/banner/src/consent-mode.js).
    assert any(f"{q}default{q}" in source and f"{q}update{q}" in source for q in "'\"")
