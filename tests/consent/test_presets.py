"""Built-in services: real cookies, both languages, the site's ids, overrides, errors."""

from __future__ import annotations

import pytest

from consent.config import ConsentConfig
from consent.errors import ConsentConfigError
from consent.presets import PRESETS, preset, service_from_mapping

KEYS = ("k" * 32,)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_is_complete_in_both_languages(name: str) -> None:
    service = preset(name)
    assert service.name == name
    assert service.provider and service.title
    assert service.category in ("analytics", "marketing")
    for lang in ("nl", "en"):
        assert service.description[lang]
        for cookie in service.cookies:
            assert cookie.purpose[lang]
    assert all(c.provider for c in service.cookies)


@pytest.mark.parametrize(
    ("name", "category", "google", "cookies"),
    [
        ("pardot", "marketing", False, {"visitor_id*", "visitor_id*-hash", "lpv*", "pardot"}),
        ("ga4", "analytics", True, {"_ga", "_ga_*"}),
        ("gtm", "marketing", True, set()),
        ("meta_pixel", "marketing", False, {"_fbp", "fr"}),
        ("linkedin", "marketing", False, {"li_sugr", "bcookie", "lidc", "UserMatchHistory"}),
        ("hotjar", "analytics", False, {"_hjSessionUser_*", "_hjSession_*"}),
        ("youtube", "marketing", False, {"VISITOR_INFO1_LIVE", "YSC"}),
        ("matomo", "analytics", False, {"_pk_id.*.*", "_pk_ses.*.*"}),
    ],
)
def test_preset_declares_the_services_cookies(
    name: str, category: str, google: bool, cookies: set[str]
) -> None:
    service = preset(name)
    assert service.category == category
    assert service.google is google
    assert cookies <= {c.name for c in service.cookies}


def test_preset_ids_make_cookie_names_exact() -> None:
    pardot = preset("pardot", account_id=123456)
    names = {c.name for c in pardot.cookies}
    assert {"visitor_id123456", "visitor_id123456-hash", "lpv123456", "pi_opt_in123456"} <= names
    assert pardot.ids == {"account_id": "123456"}
    assert {c.name for c in preset("ga4", measurement_id="G-AB12").cookies} == {"_ga", "_ga_AB12"}
    assert "_hjSession_99" in {c.name for c in preset("hotjar", site_id="99").cookies}


def test_preset_real_lifetimes() -> None:
    ga = {c.name: c.max_age_days for c in preset("ga4").cookies}
    assert ga["_ga"] == 730
    matomo = {c.name: c.max_age_days for c in preset("matomo", site_id="1").cookies}
    assert matomo["_pk_id.1.*"] == 393 and matomo["_pk_ses.1.*"] == pytest.approx(1 / 48)
    yt = {c.name: c.max_age_days for c in preset("youtube").cookies}
    assert yt["YSC"] is None and yt["VISITOR_INFO1_LIVE"] == 180
    fr = next(c for c in preset("meta_pixel").cookies if c.name == "fr")
    assert fr.domain == ".facebook.com"


def test_preset_overrides_service_fields() -> None:
    gtm = preset("gtm", category="analytics", title="Tags", container_id="GTM-1")
    assert (gtm.category, gtm.title, gtm.google, gtm.ids) == (
        "analytics",
        "Tags",
        True,
        {"container_id": "GTM-1"},
    )


def test_preset_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ConsentConfigError) as info:
        preset("pardoht")
    for name in PRESETS:
        assert name in str(info.value)


@pytest.mark.parametrize(
    ("name", "overrides", "fragment"),
    [
        ("youtube", {"account_id": "1"}, "services.youtube.account_id"),
        ("pardot", {"account_id": "12 34"}, "letters, digits"),
        ("ga4", {"measurement_id": "UA-123"}, "starts with 'G-'"),
        ("pardot", {"ids": {}}, "not a setting"),
    ],
)
def test_preset_bad_overrides_raise(name: str, overrides: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConsentConfigError, match=None) as info:
        preset(name, **overrides)
    assert fragment in str(info.value)


def test_all_presets_fit_in_one_config() -> None:
    services = tuple(preset(name) for name in PRESETS)
    config = ConsentConfig(
        controller="X", privacy_url="/p", policy_version="1", services=services, secret_keys=KEYS
    )
    assert config.cookie_category("_fbp") == "marketing"
    assert config.cookie_category("_hjSession_5") == "analytics"


def test_service_from_mapping_cookie_tables_are_checked() -> None:
    with pytest.raises(ConsentConfigError, match=r"services\[0\].cookies\[0\].lifetime"):
        service_from_mapping(
            {"preset": "matomo", "cookies": [{"name": "a", "purpose": "b", "lifetime": 1}]},
            "services[0]",
        )
    service = service_from_mapping(
        {"preset": "matomo", "cookies": [{"name": "_pk_ref.*", "purpose": "Herkomst"}]},
        "services[0]",
    )
    assert [c.name for c in service.cookies] == ["_pk_ref.*"]
