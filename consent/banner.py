"""Server-rendered banner markup: the first layer, the settings layer and the manage control.

The markup is complete without JavaScript: plain forms post to ``{prefix}`` (see
docs/CONTRACTS.md); ``static/banner/banner.js`` only enhances it (fetch instead of a reload,
re-creating gated scripts). Every piece of configuration text goes through
:func:`markupsafe.escape`. The banner's own words live in ``TEXTS`` below, one place per
language, and :func:`banner_fingerprint` covers them together with the configuration shown.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from kruimel.base.assets import asset_url

from .i18n import human_lifetime

if TYPE_CHECKING:
    from consent.config import Category, ConsentConfig, CookieSpec, Service
    from consent.state import ConsentState

__all__ = [
    "TEXTS",
    "banner_fingerprint",
    "render_banner",
    "render_head",
    "render_manage",
    "render_settings_form",
    "render_settings_layer",
]

Lang = Literal["nl", "en"]

#: The banner's own words, per language. Neutral wording: no steering, refusing is as easy as
#: accepting, and the first layer says how to refuse and how to withdraw later.
TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "region": "Cookiemelding",
        "title": "Cookies op deze website",
        "intro": (
            "{controller} gebruikt cookies en vergelijkbare technieken. Functionele cookies zijn "
            "nodig om de website te laten werken. Alleen met uw toestemming gebruiken wij ook: "
            "{purposes}."
        ),
        "refuse": (
            "Kies \u201cAlles weigeren\u201d om alleen noodzakelijke cookies toe te staan; de "
            "website werkt dan gewoon. Uw keuze kunt u altijd wijzigen of intrekken met de knop "
            "\u201cCookie-instellingen\u201d onderaan elke pagina."
        ),
        "gpc": (
            "Uw browser vraagt via Global Privacy Control om niet gevolgd te worden: marketing "
            "staat daarom uit."
        ),
        "privacy": "Privacyverklaring",
        "declaration": "Cookieverklaring",
        "accept_all": "Alles accepteren",
        "reject_all": "Alles weigeren",
        "settings": "Instellingen",
        "settings_title": "Cookie-instellingen",
        "settings_intro": (
            "Kies per categorie of u toestemming geeft. Niets staat vooraf aan, behalve wat "
            "nodig is om de website te laten werken."
        ),
        "always_on": "altijd aan",
        "services": "Diensten en cookies",
        "no_services": "Geen diensten in deze categorie.",
        "provider": "Aanbieder",
        "purpose": "Doel",
        "lifetime": "Bewaartermijn",
        "more": "Meer informatie",
        "save": "Keuze opslaan",
        "withdraw": "Toestemming intrekken",
        "close": "Sluiten",
        "manage": "Cookie-instellingen",
        "saved": "Uw keuze is opgeslagen.",
        "and": "en",
    },
    "en": {
        "region": "Cookie notice",
        "title": "Cookies on this website",
        "intro": (
            "{controller} uses cookies and similar technologies. Functional cookies are needed "
            "for the website to work. Only with your consent we also use: {purposes}."
        ),
        "refuse": (
            "Choose \u201cReject all\u201d to allow only necessary cookies; the website keeps "
            "working. You can change or withdraw your choice at any time with the \u201cCookie "
            "settings\u201d button at the bottom of every page."
        ),
        "gpc": (
            "Your browser asks not to be tracked through Global Privacy Control, so marketing "
            "stays off."
        ),
        "privacy": "Privacy statement",
        "declaration": "Cookie declaration",
        "accept_all": "Accept all",
        "reject_all": "Reject all",
        "settings": "Settings",
        "settings_title": "Cookie settings",
        "settings_intro": (
            "Choose per category whether you give consent. Nothing is switched on in advance "
            "except what the website needs to work."
        ),
        "always_on": "always on",
        "services": "Services and cookies",
        "no_services": "No services in this category.",
        "provider": "Provider",
        "purpose": "Purpose",
        "lifetime": "Lifetime",
        "more": "More information",
        "save": "Save choice",
        "withdraw": "Withdraw consent",
        "close": "Close",
        "manage": "Cookie settings",
        "saved": "Your choice has been saved.",
        "and": "and",
    },
}


def _texts(lang: str) -> dict[str, str]:
    return TEXTS["en"] if lang == "en" else TEXTS["nl"]


def _attrs(**attrs: object) -> Markup:
    """`` name="value"`` pairs, escaped; ``True`` gives a bare attribute, ``None``/False none."""
    parts = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        parts.append(f" {name}" if value is True else f' {name}="{escape(value)}"')
    return Markup("".join(parts))


def _local(value: Mapping[str, str] | str, lang: str) -> str:
    """The text of a ``{"nl": ..., "en": ...}`` mapping in ``lang`` (falls back to the other)."""
    if isinstance(value, str):
        return value
    return value.get(lang) or value.get("nl") or value.get("en") or ""


def _safe_url(url: str | None) -> bool:
    """Only relative and http(s) links: a ``javascript:`` URL in the config stays out."""
    if not url:
        return False
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:  # e.g. "//[": a link no browser could follow either
        return False
    return scheme in ("", "http", "https")


def _optional(config: ConsentConfig) -> list[Category]:
    return [c for c in config.categories if not c.required]


def _join(items: list[str], word: str) -> str:
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def render_head(config: ConsentConfig, *, lang: str, nonce: str | None) -> str:
    """The ``<link>`` to banner.css and the deferred ``<script>`` of banner.js (with the nonce).

    :param lang: unused by the tags themselves; kept so every renderer has the same shape.
    """
    static = config.prefix.rstrip("/") + "/static"
    return str(
        Markup('<link rel="stylesheet"{}><script defer{}></script>').format(
            _attrs(href=asset_url(static, "banner.css")),
            _attrs(src=asset_url(static, "banner.js"), nonce=nonce or None),
        )
    )


def _root_attrs(config: ConsentConfig, state: ConsentState, lang: str, region: str) -> Markup:
    # banner.js reads the state from here: the settings layer, with its checkboxes, is
    # fetched only when the visitor opens it.
    categories = {c.name: state.allows(c.name) for c in config.categories}
    return _attrs(
        class_="kruimel",
        role="region",
        aria_label=region,
        lang=lang,
        data_kruimel_prefix=config.prefix,
        data_position=config.manage_button,
        data_decided="true" if state.decided else "false",
        data_gpc="true" if state.gpc else None,
        data_categories=json.dumps(categories, separators=(",", ":")),
    )


def _first_layer(config: ConsentConfig, state: ConsentState, lang: str, next_url: str) -> Markup:
    t = _texts(lang)
    purposes = [_local(c.title, lang).lower() for c in _optional(config)]
    gpc = Markup('<p class="kruimel-gpc">{}</p>').format(t["gpc"]) if state.gpc else Markup("")
    return Markup(
        '<div class="kruimel-layer kruimel-first">'
        '<h2 class="kruimel-title" id="kruimel-title" tabindex="-1">{title}</h2>'
        "<p>{intro}</p><p>{refuse}</p>{gpc}"
        '<p class="kruimel-links"><a{privacy}>{privacy_text}</a> '
        "<a{declaration}>{decl_text}</a></p>"
        '<form class="kruimel-actions" method="post"{action}>'
        '<input type="hidden" name="next"{next}>'
        '<button type="submit" name="accept" value="all" class="kruimel-btn">{accept}</button>'
        '<button type="submit" name="accept" value="none" class="kruimel-btn">{reject}</button>'
        '<button type="submit" class="kruimel-btn" data-kruimel-open{settings_attrs}>'
        "{settings}</button>"
        "</form></div>"
    ).format(
        title=t["title"],
        intro=t["intro"].format(
            controller=config.controller, purposes=_join(purposes, t["and"]) or "-"
        ),
        refuse=t["refuse"],
        gpc=gpc,
        privacy=_attrs(href=config.privacy_url if _safe_url(config.privacy_url) else "#"),
        privacy_text=t["privacy"],
        declaration=_attrs(href=f"{config.prefix}/policy?lang={lang}"),
        decl_text=t["declaration"],
        action=_attrs(action=config.prefix),
        next=_attrs(value=next_url),
        accept=t["accept_all"],
        reject=t["reject_all"],
        settings_attrs=_attrs(
            formaction=f"{config.prefix}/policy", formmethod="get", name="lang", value=lang
        ),
        settings=t["settings"],
    )


def _service(service: Service, lang: str, t: dict[str, str]) -> Markup:
    cookies = Markup("").join(
        Markup(
            "<li><code>{name}</code> ({kind}) \u2014 {purpose_label}: {purpose}; "
            "{lifetime_label}: {lifetime}; {provider_label}: {provider}</li>"
        ).format(
            name=c.name,
            kind=c.kind,
            purpose_label=t["purpose"],
            purpose=_local(c.purpose, lang),
            lifetime_label=t["lifetime"],
            # The declaration page says it the same way (one form per cookie).
            lifetime=human_lifetime(c.max_age_days, lang),
            provider_label=t["provider"],
            provider=c.provider or service.provider,
        )
        for c in service.cookies
    )
    more = (
        Markup(" <a{}>{}</a>").format(_attrs(href=service.privacy_url), t["more"])
        if _safe_url(service.privacy_url)
        else Markup("")
    )
    return Markup(
        "<li><strong>{title}</strong> ({provider}): {description}{more}{cookies}</li>"
    ).format(
        title=service.title,
        provider=service.provider,
        description=_local(service.description, lang),
        more=more,
        cookies=Markup("<ul>{}</ul>").format(cookies) if cookies else Markup(""),
    )


def _category(config: ConsentConfig, category: Category, state: ConsentState, lang: str) -> Markup:
    t = _texts(lang)
    box_id = f"kruimel-cat-{category.name}"
    if category.required:
        checked, disabled = True, True
    else:
        # Never pre-ticked: only a choice the visitor made (and, under GPC, made explicitly)
        # shows as ticked.
        checked = bool(state.decided and state.categories.get(category.name))
        disabled = False
    services = [s for s in config.declared_services if s.category == category.name]
    listing = (
        Markup("<ul>{}</ul>").format(Markup("").join(_service(s, lang, t) for s in services))
        if services
        else Markup("<p>{}</p>").format(t["no_services"])
    )
    always = (
        Markup(' <span class="kruimel-always">({})</span>').format(t["always_on"])
        if category.required
        else Markup("")
    )
    return Markup(
        '<div class="kruimel-cat">'
        '<input type="checkbox"{box}>'
        "<label{label}>{title}{always}</label>"
        '<p class="kruimel-desc"{desc_id}>{description}</p>'
        "<details><summary>{summary} ({count})</summary>{listing}</details></div>"
    ).format(
        box=_attrs(
            id=box_id,
            name="categories",
            value=category.name,
            checked=checked,
            disabled=disabled,
            aria_describedby=f"{box_id}-desc",
        ),
        label=_attrs(for_=box_id),
        title=_local(category.title, lang),
        always=always,
        desc_id=_attrs(id=f"{box_id}-desc"),
        description=_local(category.description, lang),
        summary=t["services"],
        count=len(services),
        listing=listing,
    )


_NEXT = "__kruimel_next__"
_CACHE: dict[tuple[object, ...], tuple[object, str]] = {}


def _cached(
    kind: str,
    config: ConsentConfig,
    state: ConsentState,
    lang: str,
    next_url: str,
    build: Callable[[str], Markup],
) -> str:
    """``build``'s markup, cached per configuration, language and visible state.

    The middleware renders the banner on every HTML page before a decision; the markup differs
    only in the ``next`` field, so it is built once with a placeholder that is then replaced.
    """
    ticked = tuple(bool(state.decided and state.categories.get(c.name)) for c in config.categories)
    key = (kind, id(config), lang, bool(state.decided), bool(state.gpc), ticked)
    hit = _CACHE.get(key)
    if hit is None or hit[0] is not config:
        if len(_CACHE) >= 256:
            _CACHE.clear()
        hit = _CACHE[key] = (config, str(build(_NEXT)))
    return hit[1].replace(_NEXT, str(escape(next_url)))


def render_settings_form(
    config: ConsentConfig, *, state: ConsentState, lang: str, next_url: str
) -> str:
    """The settings form: one checkbox per category, services and cookies per category.

    Posts ``accept=custom`` plus one ``categories=<name>`` per ticked box to ``{prefix}``;
    "Withdraw consent" posts ``accept=none`` through a second, field-less form (the button's
    ``form`` attribute), so no ticked boxes travel with a refusal. Works without JavaScript.
    """
    return _cached(
        "settings",
        config,
        state,
        lang,
        next_url,
        lambda nxt: _settings_form(config, state, lang, nxt),
    )


def _settings_form(config: ConsentConfig, state: ConsentState, lang: str, next_url: str) -> Markup:
    t = _texts(lang)
    categories = Markup("").join(_category(config, c, state, lang) for c in config.categories)
    return Markup(
        '<form class="kruimel-settings-form" method="post"{action}>'
        '<input type="hidden" name="next"{next}>'
        "<fieldset><legend>{legend}</legend>{categories}</fieldset>"
        '<div class="kruimel-actions">'
        '<button type="submit" name="accept" value="custom" class="kruimel-btn">'
        "{save}</button>"
        '<button type="submit" name="accept" value="none" class="kruimel-btn"'
        ' form="kruimel-withdraw">{withdraw}</button>'
        "</div></form>"
        '<form id="kruimel-withdraw" method="post" hidden{action}>'
        '<input type="hidden" name="next"{next}></form>'
    ).format(
        action=_attrs(action=config.prefix),
        next=_attrs(value=next_url),
        legend=t["settings_intro"],
        categories=categories,
        save=t["save"],
        withdraw=t["withdraw"] if state.decided else t["reject_all"],
    )


def _settings_layer(
    config: ConsentConfig, state: ConsentState, lang: str, next_url: str, hidden: bool
) -> Markup:
    t = _texts(lang)
    return Markup(
        '<div class="kruimel-layer kruimel-settings"{hidden}>'
        '<div class="kruimel-head">'
        '<h2 class="kruimel-title" id="kruimel-settings-title" tabindex="-1">{title}</h2>'
        '<button type="button" class="kruimel-close" data-kruimel-close>{close}</button>'
        "</div>{form}</div>"
    ).format(
        hidden=_attrs(hidden=hidden),
        title=t["settings_title"],
        close=t["close"],
        form=_settings_form(config, state, lang, next_url),
    )


def _manage_button(config: ConsentConfig, lang: str, next_url: str, hidden: bool) -> Markup:
    t = _texts(lang)
    # A real button in a GET form to the policy page: without JavaScript it opens the settings
    # there; banner.js intercepts it and opens the settings layer in place.
    return Markup(
        '<form class="kruimel-manage-form" method="get"{action}{hidden}>'
        '<input type="hidden" name="lang"{lang}><input type="hidden" name="next"{next}>'
        '<button type="submit" class="kruimel-manage-btn" data-kruimel-open>{label}</button>'
        "</form>"
    ).format(
        action=_attrs(action=f"{config.prefix}/policy"),
        hidden=_attrs(hidden=hidden),
        lang=_attrs(value=lang),
        next=_attrs(value=next_url),
        label=t["manage"],
    )


def _status(lang: str) -> Markup:
    return Markup('<p class="kruimel-status" role="status" data-kruimel-saved="{}"></p>').format(
        _texts(lang)["saved"]
    )


def render_settings_layer(
    config: ConsentConfig, *, state: ConsentState, lang: str, next_url: str
) -> str:
    """The settings layer (``<div class="kruimel-layer kruimel-settings" hidden>``) alone.

    Pages do not carry it: banner.js fetches it from ``{prefix}/banner?part=settings`` when
    the visitor opens the settings, so every page is some 6 KB lighter. Without JavaScript
    the same form is on the policy page.
    """
    return _cached(
        "layer",
        config,
        state,
        lang,
        next_url,
        lambda nxt: _settings_layer(config, state, lang, nxt, hidden=True),
    )


def render_banner(
    config: ConsentConfig, *, state: ConsentState, lang: str, next_url: str, nonce: str | None
) -> str:
    """The banner shown before a decision: the first layer and the (hidden) manage control.

    Root ``id="kruimel-banner"``, a labelled region (not a modal: the page stays usable).
    The settings layer is not part of it (see :func:`render_settings_layer`).

    :param next_url: the page to come back to after a form post (hidden ``next`` field).
    :param nonce: the page's CSP nonce; the markup holds no script, so it is not used here.
    """

    def build(nxt: str) -> Markup:
        return Markup('<div id="kruimel-banner"{root}>{first}{manage}{status}</div>').format(
            root=_root_attrs(config, state, lang, _texts(lang)["region"]),
            first=_first_layer(config, state, lang, nxt),
            manage=_manage_button(config, lang, nxt, hidden=True),
            status=_status(lang),
        )

    return _cached("banner", config, state, lang, next_url, build)


def render_manage(
    config: ConsentConfig, *, state: ConsentState, lang: str, next_url: str, nonce: str | None
) -> str:
    """The small "cookie settings" control shown after a decision (root ``id="kruimel-manage"``).

    Without JavaScript its button opens the settings on the policy page; banner.js fetches
    the settings layer (:func:`render_settings_layer`) and opens it in place.
    """

    def build(nxt: str) -> Markup:
        return Markup('<div id="kruimel-manage"{root}>{manage}{status}</div>').format(
            root=_root_attrs(config, state, lang, _texts(lang)["manage"]),
            manage=_manage_button(config, lang, nxt, hidden=False),
            status=_status(lang),
        )

    return _cached("manage", config, state, lang, next_url, build)


def _shown(config: ConsentConfig, lang: str) -> dict[str, Any]:
    def cookie(c: CookieSpec) -> dict[str, Any]:
        return {
            "name": c.name,
            "purpose": _local(c.purpose, lang),
            "max_age_days": c.max_age_days,
            "domain": c.domain,
            "provider": c.provider,
            "kind": c.kind,
        }

    def services(items: Iterable[Service]) -> list[dict[str, Any]]:
        return [
            {
                "name": s.name,
                "title": s.title,
                "category": s.category,
                "provider": s.provider,
                "description": _local(s.description, lang),
                "privacy_url": s.privacy_url,
                "cookies": [cookie(c) for c in s.cookies],
            }
            for s in items
        ]

    return {
        "lang": lang,
        "texts": _texts(lang),
        "controller": config.controller,
        "privacy_url": config.privacy_url,
        "policy_version": config.policy_version,
        "categories": [
            {
                "name": c.name,
                "title": _local(c.title, lang),
                "description": _local(c.description, lang),
                "required": c.required,
            }
            for c in config.categories
        ],
        "services": services(config.declared_services),
    }


def banner_fingerprint(config: ConsentConfig, lang: str) -> str:
    """SHA-256 (hex) of the banner text and the configuration shown to the visitor in ``lang``.

    Stored with every proof-of-consent record: any change to a text, a category, a service or
    a cookie, or to the policy version gives another fingerprint.
    """
    canonical = json.dumps(_shown(config, lang), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
