"""Built-in services a site enables by name, and the ``services`` entries of kruimel.toml.

Each preset declares the cookies the service really sets, with the lifetimes and providers its
own documentation gives. A site adds its own identifiers (``preset("pardot",
account_id="123456")``), which turns cookie patterns such as ``visitor_id*`` into the exact
names, and may override any :class:`~consent.config.Service` field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from typing import Any

from .catalogue import CookieSpec, Service
from .errors import ConsentConfigError

__all__ = ["PRESETS", "preset", "service_from_mapping"]

_GOOGLE_PRIVACY = "https://policies.google.com/privacy"
_HALF_HOUR = 1 / 48
_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_SERVICE_FIELDS = frozenset(f.name for f in fields(Service))
_COOKIE_KEYS = frozenset({"name", "purpose", "max_age_days", "domain", "provider", "kind"})


def _c(
    name: str, nl: str, en: str, days: float | None, provider: str, domain: str | None = None
) -> CookieSpec:
    return CookieSpec(name, {"nl": nl, "en": en}, days, domain, provider)


def _pardot(ids: Mapping[str, str]) -> Service:
    acct = ids.get("account_id", "*")
    sf = "Salesforce, Inc."
    return Service(
        "pardot",
        "Salesforce Account Engagement (Pardot)",
        "marketing",
        sf,
        {
            "nl": "Volgt welke pagina's u bezoekt om u marketingberichten te sturen.",
            "en": "Tracks the pages you visit to send you marketing messages.",
        },
        (
            _c(
                f"visitor_id{acct}",
                "Herkent u als bezoeker",
                "Recognises you as a visitor",
                3650,
                sf,
            ),
            _c(f"visitor_id{acct}-hash", "Beveiligt visitor_id", "Protects visitor_id", 3650, sf),
            _c(
                f"lpv{acct}",
                "Telt een paginabezoek één keer (30 minuten)",
                "Counts a page visit once (30 minutes)",
                _HALF_HOUR,
                sf,
            ),
            _c("pardot", "Houdt uw sessie bij", "Keeps track of your session", None, sf),
            _c(
                f"pi_opt_in{acct}",
                "Onthoudt of u tracking toestond",
                "Remembers whether you allowed tracking",
                3650,
                sf,
            ),
        ),
        "https://www.salesforce.com/company/privacy/",
    )


def _ga4(ids: Mapping[str, str]) -> Service:
    stream = ids.get("measurement_id", "G-*").removeprefix("G-")
    g = "Google Ireland Limited"
    return Service(
        "ga4",
        "Google Analytics 4",
        "analytics",
        g,
        {
            "nl": "Meet bezoek en gebruik van de site; Google ontvangt uw gegevens.",
            "en": "Measures visits and use of the site; Google receives your data.",
        },
        (
            _c("_ga", "Onderscheidt bezoekers", "Distinguishes visitors", 730, g),
            _c(f"_ga_{stream}", "Houdt uw sessie bij", "Keeps track of your session", 730, g),
        ),
        _GOOGLE_PRIVACY,
        google=True,
    )


def _gtm(ids: Mapping[str, str]) -> Service:
    return Service(
        "gtm",
        "Google Tag Manager",
        "marketing",
        "Google Ireland Limited",
        {
            "nl": "Laadt tags van Google en anderen; zet zelf geen cookies.",
            "en": "Loads tags from Google and others; sets no cookies itself.",
        },
        (),
        _GOOGLE_PRIVACY,
        google=True,
    )


def _meta_pixel(ids: Mapping[str, str]) -> Service:
    m = "Meta Platforms Ireland Limited"
    return Service(
        "meta_pixel",
        "Meta Pixel",
        "marketing",
        m,
        {
            "nl": "Meet advertenties op Facebook en Instagram en stemt ze op u af.",
            "en": "Measures and tailors advertising on Facebook and Instagram.",
        },
        (
            _c(
                "_fbp",
                "Herkent uw browser voor advertenties",
                "Recognises your browser for ads",
                90,
                m,
            ),
            _c(
                "fr", "Toont en meet advertenties", "Shows and measures ads", 90, m, ".facebook.com"
            ),
        ),
        "https://www.facebook.com/privacy/policy/",
    )


def _linkedin(ids: Mapping[str, str]) -> Service:
    li, d = "LinkedIn Ireland Unlimited Company", ".linkedin.com"
    return Service(
        "linkedin",
        "LinkedIn Insight Tag",
        "marketing",
        li,
        {
            "nl": "Meet advertenties op LinkedIn en stemt ze op u af.",
            "en": "Measures and tailors advertising on LinkedIn.",
        },
        (
            _c("li_sugr", "Herkent uw browser", "Recognises your browser", 90, li, d),
            _c("bcookie", "Herkent uw browser", "Recognises your browser", 365, li, d),
            _c("lidc", "Kiest een datacentrum", "Chooses a data centre", 1, li, d),
            _c("UserMatchHistory", "Koppelt advertentie-id's", "Syncs ad ids", 30, li, d),
            _c("AnalyticsSyncHistory", "Tijdstip van koppelen", "Time of syncing", 30, li, d),
            _c(
                "li_gc",
                "Bewaart uw cookiekeuze bij LinkedIn",
                "Stores your LinkedIn cookie choice",
                180,
                li,
                d,
            ),
        ),
        "https://www.linkedin.com/legal/privacy-policy",
    )


def _hotjar(ids: Mapping[str, str]) -> Service:
    site = ids.get("site_id", "*")
    h = "Hotjar Ltd."
    return Service(
        "hotjar",
        "Hotjar",
        "analytics",
        h,
        {
            "nl": "Neemt op hoe u de site gebruikt (klikken, scrollen) om hem te verbeteren.",
            "en": "Records how you use the site (clicks, scrolling) to improve it.",
        },
        (
            _c(
                f"_hjSessionUser_{site}",
                "Herkent u als bezoeker",
                "Recognises you as a visitor",
                365,
                h,
            ),
            _c(
                f"_hjSession_{site}",
                "Houdt uw sessie bij (30 minuten)",
                "Keeps track of your session (30 minutes)",
                _HALF_HOUR,
                h,
            ),
        ),
        "https://www.hotjar.com/legal/policies/privacy/",
    )


def _youtube(ids: Mapping[str, str]) -> Service:
    g, d = "Google Ireland Limited", ".youtube.com"
    return Service(
        "youtube",
        "YouTube",
        "marketing",
        g,
        {
            "nl": "Speelt ingesloten video's af (youtube-nocookie.com); Google ziet wat u bekijkt.",
            "en": "Plays embedded videos (youtube-nocookie.com); Google tracks what you watch.",
        },
        (
            _c(
                "VISITOR_INFO1_LIVE",
                "Schat uw bandbreedte, herkent u",
                "Estimates bandwidth, recognises you",
                180,
                g,
                d,
            ),
            _c(
                "VISITOR_PRIVACY_METADATA",
                "Bewaart uw cookiekeuze bij YouTube",
                "Stores your YouTube cookie choice",
                180,
                g,
                d,
            ),
            _c("YSC", "Telt weergaven van video's", "Counts video views", None, g, d),
            _c(
                "PREF",
                "Onthoudt uw YouTube-voorkeuren",
                "Remembers your YouTube preferences",
                240,
                g,
                d,
            ),
        ),
        _GOOGLE_PRIVACY,
    )


def _matomo(ids: Mapping[str, str]) -> Service:
    site = ids.get("site_id", "*")
    m = "Matomo (eigen server / self-hosted)"
    return Service(
        "matomo",
        "Matomo",
        "analytics",
        m,
        {
            "nl": "Meet bezoek op onze eigen server; gegevens gaan niet naar derden.",
            "en": "Measures visits on our own server; data is not shared with others.",
        },
        (
            _c(
                f"_pk_id.{site}.*",
                "Herkent u als terugkerende bezoeker",
                "Recognises you as a returning visitor",
                393,
                m,
            ),
            _c(
                f"_pk_ses.{site}.*",
                "Houdt uw sessie bij (30 minuten)",
                "Keeps track of your session (30 minutes)",
                _HALF_HOUR,
                m,
            ),
        ),
    )


# name -> (factory, the identifiers a site may give)
PRESETS: dict[str, tuple[Callable[[Mapping[str, str]], Service], frozenset[str]]] = {
    "pardot": (_pardot, frozenset({"account_id"})),
    "ga4": (_ga4, frozenset({"measurement_id"})),
    "gtm": (_gtm, frozenset({"container_id"})),
    "meta_pixel": (_meta_pixel, frozenset({"pixel_id"})),
    "linkedin": (_linkedin, frozenset({"partner_id"})),
    "hotjar": (_hotjar, frozenset({"site_id"})),
    "youtube": (_youtube, frozenset()),
    "matomo": (_matomo, frozenset({"site_id", "url"})),
}


def preset(name: str, **overrides: Any) -> Service:
    """The built-in service ``name`` with the site's identifiers and overrides.

    ``preset("ga4", measurement_id="G-ABC123")`` declares ``_ga`` and ``_ga_ABC123``;
    ``preset("gtm", category="analytics")`` moves Tag Manager to another category.

    :raises ConsentConfigError: unknown preset (the message lists the valid names), an
        identifier the preset does not take, or a malformed identifier.
    """
    where = f"services.{name}"
    if name not in PRESETS:
        raise ConsentConfigError(
            "services", f"unknown preset {name!r}; valid presets are {', '.join(sorted(PRESETS))}"
        )
    factory, id_keys = PRESETS[name]
    ids: dict[str, str] = {}
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in id_keys:
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or not (key == "url" or _ID.fullmatch(value)):
                raise ConsentConfigError(f"{where}.{key}", "letters, digits, '-', '_' or '.' only")
            ids[key] = value
        elif key in _SERVICE_FIELDS and key != "ids":
            changes[key] = value
        else:
            valid = sorted(id_keys | _SERVICE_FIELDS - {"ids"})
            raise ConsentConfigError(
                f"{where}.{key}", f"not a setting of this preset; use one of {', '.join(valid)}"
            )
    if name == "ga4" and not ids.get("measurement_id", "G-").startswith("G-"):
        raise ConsentConfigError(f"{where}.measurement_id", "starts with 'G-', e.g. 'G-ABC123'")
    return replace(factory(ids), ids=ids, **changes)


def _cookie_from_mapping(item: object, where: str) -> CookieSpec:
    if not isinstance(item, Mapping):
        raise ConsentConfigError(where, "give a table with name, purpose, max_age_days, ...")
    unknown = sorted(set(item) - _COOKIE_KEYS)
    if unknown:
        raise ConsentConfigError(
            f"{where}.{unknown[0]}", f"unknown key; use {', '.join(sorted(_COOKIE_KEYS))}"
        )
    if "name" not in item or "purpose" not in item:
        raise ConsentConfigError(where, "a cookie needs a name and a purpose")
    return CookieSpec(**item)


def service_from_mapping(item: object, where: str) -> Service:
    """One entry of ``services`` in kruimel.toml: a preset name, a table with
    ``preset = "name"`` plus identifiers and overrides, or a fully custom service table."""
    if isinstance(item, str):
        return preset(item)
    if not isinstance(item, Mapping):
        raise ConsentConfigError(where, "give a preset name or a table")
    values = dict(item)
    if "cookies" in values:
        cookies = values["cookies"]
        if not isinstance(cookies, list):
            raise ConsentConfigError(f"{where}.cookies", "give a list of cookie tables")
        values["cookies"] = tuple(
            _cookie_from_mapping(c, f"{where}.cookies[{i}]") for i, c in enumerate(cookies)
        )
    name = values.pop("preset", None)
    if name is not None:
        if not isinstance(name, str):
            raise ConsentConfigError(f"{where}.preset", "give a preset name")
        return preset(name, **values)
    unknown = sorted(set(values) - _SERVICE_FIELDS)
    if unknown:
        raise ConsentConfigError(
            f"{where}.{unknown[0]}",
            f"unknown key; use preset = one of {', '.join(sorted(PRESETS))}, "
            f"or {', '.join(sorted(_SERVICE_FIELDS))}",
        )
    missing = [
        k for k in ("name", "title", "category", "provider", "description") if k not in values
    ]
    if missing:
        raise ConsentConfigError(f"{where}.{missing[0]}", "a custom service needs this key")
    return Service(**values)
