"""ConsentConfig: validation messages that name the setting, TOML loading, lookups."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from consent.config import DEFAULT_CATEGORIES, Category, ConsentConfig, CookieSpec, Service
from consent.errors import ConsentConfigError
from consent.presets import preset

BASE = {"controller": "Voorbeeld B.V.", "privacy_url": "/privacy", "policy_version": "2026-11"}
KEYS = ("k" * 32,)


def _svc(**kw: Any) -> Service:
    options: dict[str, Any] = {
        "name": "shop",
        "title": "Shop",
        "category": "preferences",
        "provider": "Voorbeeld B.V.",
        "description": "Winkelwagen",
    }
    options.update(kw)
    return Service(**options)


@pytest.mark.parametrize(
    ("overrides", "setting", "hint"),
    [
        ({"lifetime_days": 0}, "lifetime_days", "1 to 396"),
        ({"lifetime_days": 397}, "lifetime_days", "13 months"),
        ({"lifetime_days": True}, "lifetime_days", "1 to 396"),
        ({"default_language": "de"}, "default_language", "'de'"),
        ({"prefix": "_consent"}, "prefix", "start with '/'"),
        ({"prefix": "/_consent/"}, "prefix", "no trailing"),
        ({"cors_origins": ("https://a.nl/path",)}, "cors_origins", "no path"),
        ({"cors_origins": ("*",)}, "cors_origins", "not an origin"),
        ({"cors_origins": ("ftp://a.nl",)}, "cors_origins", "scheme and host"),
        ({"record_retention_months": 0}, "record_retention_months", "1 to 120"),
        (
            {"record_retention_months": 3, "lifetime_days": 182},
            "record_retention_months",
            "raise it to 7",
        ),
        ({"privacy_url": "javascript:alert(1)"}, "privacy_url", "http(s) URL"),
        ({"controller": " "}, "controller", "non-empty"),
        ({"policy_version": ""}, "policy_version", "non-empty"),
        ({"cookie_name": "bad name"}, "cookie_name", "letters"),
        ({"language_cookie": "kruimel_consent"}, "language_cookie", "differ"),
        ({"manage_button": "top"}, "manage_button", "bottom-left"),
        ({"honor_gpc": "yes"}, "honor_gpc", "true or false"),
        ({"services": (_svc(category="ads"),)}, "services.shop.category", "'ads'"),
        ({"services": (_svc(), _svc())}, "services", "duplicate service 'shop'"),
        ({"services": (_svc(name="kruimel"),)}, "services", "duplicate service 'kruimel'"),
        ({"categories": (DEFAULT_CATEGORIES[1],)}, "categories", "required"),
        (
            {
                "categories": (
                    *DEFAULT_CATEGORIES[:3],
                    replace(DEFAULT_CATEGORIES[3], required=True),
                )
            },
            "categories",
            "exactly one category required",
        ),
        (
            {
                "categories": (
                    replace(DEFAULT_CATEGORIES[0], required=False),
                    *DEFAULT_CATEGORIES[1:3],
                    replace(DEFAULT_CATEGORIES[3], required=True),
                )
            },
            "categories.marketing.required",
            "cannot be switched on before a choice",
        ),
        (
            {"services": (preset("pardot", category="necessary"),)},
            "services.pardot.category",
            "not strictly necessary",
        ),
        (
            {"categories": (*DEFAULT_CATEGORIES, DEFAULT_CATEGORIES[1])},
            "categories",
            "duplicate category 'preferences'",
        ),
        (
            {
                "services": (
                    _svc(cookies=(CookieSpec("cart", "Winkelwagen"),)),
                    _svc(name="other", cookies=(CookieSpec("cart", "Ander"),)),
                )
            },
            "services.other.cookies",
            "already declared by 'shop'",
        ),
    ],
)
def test_config_invalid_setting_names_it(
    overrides: dict[str, Any], setting: str, hint: str
) -> None:
    with pytest.raises(ConsentConfigError) as info:
        ConsentConfig(**{**BASE, "secret_keys": KEYS, **overrides})
    assert info.value.setting == setting
    assert setting in str(info.value)
    assert hint in str(info.value)


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: CookieSpec("a b", "x"), "not a valid cookie name"),
        (lambda: CookieSpec("a", {"nl": "x"}), "en"),
        (lambda: CookieSpec("a", {"nl": "x", "en": "y", "de": "z"}), "unknown language 'de'"),
        (lambda: CookieSpec("a", "x", max_age_days=0), "max_age_days"),
        (lambda: CookieSpec("a", "x", domain="exa mple.nl"), "domain"),
        (lambda: CookieSpec("a", "x", kind="indexedDB"), "kind"),  # type: ignore[arg-type]
        (lambda: Category("Ads!", "t", "d"), "lowercase"),
        (lambda: _svc(privacy_url="/privacy"), "http(s) URL"),
        (lambda: _svc(title=""), "services.shop.title"),
    ],
)
def test_config_parts_invalid_raise(build: Callable[[], object], fragment: str) -> None:
    with pytest.raises(ConsentConfigError, match=None) as info:
        build()
    assert fragment in str(info.value)


def test_config_secret_keys_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRUIMEL_SECRET_KEY", " newest-key-0123456789 , older-key-0123456789 ")
    config = ConsentConfig(**BASE)
    assert config.secret_keys == ("newest-key-0123456789", "older-key-0123456789")


def test_config_without_secret_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KRUIMEL_SECRET_KEY", raising=False)
    with pytest.raises(ConsentConfigError, match="KRUIMEL_SECRET_KEY") as info:
        ConsentConfig(**BASE)
    assert info.value.setting == "secret_keys"


def test_config_explicit_keys_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRUIMEL_SECRET_KEY", "from-the-environment")
    assert ConsentConfig(**BASE, secret_keys=KEYS).secret_keys == KEYS


def test_config_defaults_and_lookups(make_config: Callable[..., ConsentConfig]) -> None:
    config = make_config()
    assert [c.name for c in config.categories] == [
        "necessary",
        "preferences",
        "analytics",
        "marketing",
    ]
    assert config.category("necessary").required
    assert config.optional_categories == ("preferences", "analytics", "marketing")
    assert config.lifetime_days == 182 and config.record_retention_months == 13
    assert config.cookie_category("kruimel_consent") == "necessary"
    assert config.cookie_category("kruimel_lang") == "necessary"
    assert config.cookie_category("visitor_id123456-hash") == "marketing"
    assert config.cookie_category("_ga") == "analytics"
    assert config.cookie_category("_ga_TEST1") == "analytics"
    assert config.cookie_category("_pk_id.1.a1b2") == "analytics"
    assert config.cookie_category("_pk_id.2.a1b2") is None
    assert config.cookie_category("session") is None
    assert [s.name for s in config.services_in("marketing")] == ["pardot", "youtube"]
    assert [s.name for s in config.services_in("necessary")] == ["kruimel"]
    with pytest.raises(KeyError):
        config.category("ads")


def test_default_categories_have_both_languages() -> None:
    for category in DEFAULT_CATEGORIES:
        for lang in ("nl", "en"):
            assert category.title[lang] and category.description[lang]
    assert [c.required for c in DEFAULT_CATEGORIES] == [True, False, False, False]


def test_cookie_spec_wildcard_matches_whole_name() -> None:
    spec = CookieSpec("visitor_id*-hash", "x")
    assert spec.matches("visitor_id42-hash")
    assert not spec.matches("visitor_id42")
    assert not spec.matches("xvisitor_id42-hash")
    assert CookieSpec("a.b", "x").matches("a.b") and not CookieSpec("a.b", "x").matches("axb")


def test_from_mapping_presets_tables_and_custom_services() -> None:
    data = {
        **BASE,
        "lifetime_days": 90,
        "services": [
            "youtube",
            {"preset": "pardot", "account_id": 123456},
            {"preset": "gtm", "category": "analytics", "container_id": "GTM-AB12"},
            {
                "name": "chat",
                "title": "Chat",
                "category": "preferences",
                "provider": "Chatbedrijf",
                "description": {"nl": "Live chat", "en": "Live chat"},
                "cookies": [{"name": "chat_*", "purpose": "Gesprek", "max_age_days": 7}],
            },
        ],
        "categories": {
            "analytics": {"title": {"nl": "Meten", "en": "Measuring"}},
            "preferences": False,
        },
    }
    with pytest.raises(ConsentConfigError, match="services.chat.category"):
        ConsentConfig.from_mapping(data, secret_keys=KEYS)
    data["categories"] = {"analytics": {"title": {"nl": "Meten", "en": "Measuring"}}}
    config = ConsentConfig.from_mapping(data, secret_keys=KEYS)
    assert config.lifetime_days == 90
    assert [s.name for s in config.services] == ["youtube", "pardot", "gtm", "chat"]
    assert config.cookie_category("visitor_id123456") == "marketing"
    assert config.services[2].category == "analytics"
    assert config.services[2].ids == {"container_id": "GTM-AB12"}
    assert config.cookie_category("chat_9") == "preferences"
    assert config.category("analytics").title == {"nl": "Meten", "en": "Measuring"}


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"colour": "red"}, "colour: unknown setting"),
        ({"secret_keys": ["x"]}, "KRUIMEL_SECRET_KEY"),
        ({"services": "pardot"}, "services: give a list"),
        ({"services": ["pardo"]}, "valid presets are"),
        ({"services": [{"preset": "ga4", "measurement_id": "UA-1"}]}, "starts with 'G-'"),
        ({"services": [{"name": "x"}]}, "services[0].title"),
        ({"cors_origins": "https://a.nl"}, "cors_origins: give a list"),
        ({"categories": {"necessary": False}}, "categories.necessary"),
        ({"categories": {"social": {"title": "Sociaal"}}}, "needs a title and a description"),
        ({"lifetime_days": "182"}, "lifetime_days"),
    ],
)
def test_from_mapping_errors_name_source_and_key(data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConsentConfigError) as info:
        ConsentConfig.from_mapping({**BASE, **data}, source="site.toml [consent]", secret_keys=KEYS)
    assert str(info.value).startswith("site.toml [consent]: ")
    assert fragment in str(info.value)


def test_from_mapping_requires_the_core_settings() -> None:
    with pytest.raises(ConsentConfigError, match="policy_version: this setting is required"):
        ConsentConfig.from_mapping({"controller": "X", "privacy_url": "/p"}, secret_keys=KEYS)


def test_from_toml_reads_the_consent_table(tmp_path: Path) -> None:
    path = tmp_path / "kruimel.toml"
    path.write_text(
        """
[store]
url = "chdb://./data"

[consent]
controller = "Bakkerij De Kruimel"
privacy_url = "https://www.example.nl/privacy"
policy_version = "2026-11"
default_language = "en"
cors_origins = ["https://static.example.org/"]

[[consent.services]]
preset = "ga4"
measurement_id = "G-XYZ"

[consent.categories.marketing]
title = "Reclame"
""",
        encoding="utf-8",
    )
    config = ConsentConfig.from_toml(path, secret_keys=KEYS)
    assert config.controller == "Bakkerij De Kruimel"
    assert config.default_language == "en"
    assert config.cors_origins == ("https://static.example.org",)
    assert config.cookie_category("_ga_XYZ") == "analytics"
    assert config.category("marketing").title == {"nl": "Reclame", "en": "Reclame"}


def test_from_toml_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "kruimel.toml"
    path.write_text('[consent]\ncontroller = "X"\nprivacy_url = "/p"\npolicy_version = 1\n')
    with pytest.raises(ConsentConfigError, match=r"kruimel.toml \[consent\]: policy_version"):
        ConsentConfig.from_toml(path, secret_keys=KEYS)
    path.write_text("[consent\n")
    with pytest.raises(ConsentConfigError, match="cannot read"):
        ConsentConfig.from_toml(path, secret_keys=KEYS)
    path.write_text("[store]\n")
    with pytest.raises(ConsentConfigError, match=r"add a \[consent\] table"):
        ConsentConfig.from_toml(path, secret_keys=KEYS)


def test_package_exports_are_the_public_api() -> None:
    import consent

    assert sorted(consent.__all__) == sorted(
        [
            "CONSENT_LOG_COLUMNS",
            "DEFAULT_CATEGORIES",
            "MIGRATIONS",
            "PRESETS",
            "Category",
            "ConsentConfig",
            "ConsentConfigError",
            "ConsentEndpoints",
            "ConsentError",
            "ConsentLog",
            "ConsentMiddleware",
            "ConsentRequestError",
            "ConsentState",
            "CookieSpec",
            "Service",
            "choose_language",
            "clear_cookie_header",
            "expire_cookie_headers",
            "preset",
            "read_cookie",
            "read_state",
            "set_cookie_header",
        ]
    )
    for name in consent.__all__:
        exported = getattr(consent, name)
        # Every callable export is the package's own and documented; every constant has content.
        if callable(exported):
            assert exported.__module__.startswith("consent."), name
            assert (exported.__doc__ or "").strip(), f"{name} has no docstring"
        else:
            assert len(exported) > 0, name
    assert consent.ConsentMiddleware.__module__ == "consent.middleware"
