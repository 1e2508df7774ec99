"""The cookie declaration (``GET /_consent/policy``): every category, service and cookie with
purpose, lifetime, provider and domain, as a complete HTML page with the settings form (to
change or withdraw a choice without JavaScript), or as JSON (``?format=json``)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from kruimel.base.assets import asset_url

from .banner import render_settings_form
from .config import LANGUAGES, ConsentConfig, Service
from .i18n import human_lifetime
from .state import ConsentState

__all__ = ["policy_data", "render_policy"]

_TEXT: dict[str, dict[str, Any]] = {
    "nl": {
        "title": "Cookieverklaring",
        "intro": "Deze pagina beschrijft alle cookies en vergelijkbare technieken die {c} "
        "op deze website gebruikt, per categorie. Alleen noodzakelijke cookies staan altijd "
        "aan; voor de andere vragen wij uw toestemming.",
        "version": "Versie van het beleid: {v}. Uw keuze geldt {n}; daarna vragen wij het "
        "opnieuw, en ook meteen wanneer dit beleid verandert.",
        "privacy": "Lees ook onze privacyverklaring",
        "on": "Toegestaan",
        "off": "Niet toegestaan",
        "always": "Altijd aan",
        "status": "Uw keuze",
        "undecided": "U heeft nog geen keuze gemaakt; alleen noodzakelijke cookies staan aan.",
        "decided": "U heeft op {d} een keuze gemaakt.",
        "none": "Geen diensten in deze categorie.",
        "cookies": "Cookies van {s}",
        "cols": ("Naam", "Doel", "Bewaartermijn", "Aanbieder", "Domein"),
        "host": "deze website",
        "storage": {"localStorage": " (localStorage)", "sessionStorage": " (sessionStorage)"},
        "more": "Privacybeleid van {p}",
        "change": "Uw keuze wijzigen of intrekken",
        "other": "English",
        "stats": "Anonieme statistieken",
        "stats_text": "{c} telt bezoeken zonder cookies en zonder iets op te slaan dat u "
        "herkent: IP-adressen worden ingekort en bezoekers tellen alleen per dag. Daarvoor is "
        "geen toestemming nodig, maar u kunt bezwaar maken: dan wordt uw bezoek niet meegeteld.",
        "counted": "Uw bezoeken worden anoniem meegeteld.",
        "not_counted": "U heeft bezwaar gemaakt; uw bezoeken worden niet meegeteld.",
        "optout": "Tel mijn bezoeken niet mee",
        "optin": "Tel mijn bezoeken weer mee",
    },
    "en": {
        "title": "Cookie declaration",
        "intro": "This page describes every cookie and similar technique {c} uses on this "
        "website, by category. Only necessary cookies are always on; for the others we ask "
        "for your consent.",
        "version": "Policy version: {v}. Your choice holds for {n}; then we ask again, and "
        "also at once when this policy changes.",
        "privacy": "Also read our privacy statement",
        "on": "Allowed",
        "off": "Not allowed",
        "always": "Always on",
        "status": "Your choice",
        "undecided": "You have not made a choice yet; only necessary cookies are on.",
        "decided": "You made a choice on {d}.",
        "none": "No services in this category.",
        "cookies": "Cookies of {s}",
        "cols": ("Name", "Purpose", "Lifetime", "Provider", "Domain"),
        "host": "this website",
        "storage": {"localStorage": " (localStorage)", "sessionStorage": " (sessionStorage)"},
        "more": "Privacy policy of {p}",
        "change": "Change or withdraw your choice",
        "other": "Nederlands",
        "stats": "Anonymous statistics",
        "stats_text": "{c} counts visits without cookies and without storing anything that "
        "recognises you: IP addresses are shortened and visitors are counted per day only. "
        "This needs no consent, but you can object: then your visits are not counted.",
        "counted": "Your visits are counted anonymously.",
        "not_counted": "You objected; your visits are not counted.",
        "optout": "Do not count my visits",
        "optin": "Count my visits again",
    },
}


def policy_data(config: ConsentConfig, lang: str) -> dict[str, Any]:
    """The declaration as JSON-ready data, texts in ``lang``."""
    return {
        "lang": lang,
        "controller": config.controller,
        "privacy_url": config.privacy_url,
        "policy_version": config.policy_version,
        "consent_lifetime_days": config.lifetime_days,
        "categories": [
            {
                "name": cat.name,
                "title": cat.title[lang],
                "description": cat.description[lang],
                "required": cat.required,
                "services": [_service_data(s, lang) for s in config.services_in(cat.name)],
            }
            for cat in config.categories
        ],
    }


def _service_data(service: Service, lang: str) -> dict[str, Any]:
    return {
        "name": service.name,
        "title": service.title,
        "provider": service.provider,
        "description": service.description[lang],
        "privacy_url": service.privacy_url,
        "cookies": [
            {
                "name": c.name,
                "kind": c.kind,
                "purpose": c.purpose[lang],
                "max_age_days": c.max_age_days,
                "lifetime": human_lifetime(c.max_age_days, lang),
                "provider": c.provider or service.provider,
                "domain": c.domain,
            }
            for c in service.cookies
        ],
    }


def _service_html(service: dict[str, Any], lang: str) -> Markup:
    t = _TEXT[lang]
    more = Markup("")
    if service["privacy_url"]:
        more = Markup(' <a href="{}" rel="noopener">{}</a>').format(
            service["privacy_url"], t["more"].format(p=service["provider"])
        )
    rows = Markup("").join(
        Markup(
            '<tr><th scope="row"><code>{}</code>{}</th><td data-label="{}">{}</td>'
            '<td data-label="{}">{}</td><td data-label="{}">{}</td><td data-label="{}">{}</td>'
            "</tr>"
        ).format(
            c["name"],
            t["storage"].get(c["kind"], ""),
            t["cols"][1],
            c["purpose"],
            t["cols"][2],
            c["lifetime"],
            t["cols"][3],
            c["provider"],
            t["cols"][4],
            c["domain"] or t["host"],
        )
        for c in service["cookies"]
    )
    table = Markup("")
    if rows:
        head = Markup("").join(Markup('<th scope="col">{}</th>').format(h) for h in t["cols"])
        table = Markup(
            '<div class="kruimel-policy-scroll"><table><caption>{}</caption><thead><tr>{}</tr>'
            "</thead><tbody>{}</tbody></table></div>"
        ).format(t["cookies"].format(s=service["title"]), head, rows)
    return Markup(
        '<article class="kruimel-policy-service"><h3>{}</h3><p>{} \u2014 {}{}</p>{}</article>'
    ).format(service["title"], service["provider"], service["description"], more, table)


def render_policy(
    config: ConsentConfig,
    *,
    state: ConsentState,
    lang: str,
    next_url: str,
    opted_out: bool = False,
) -> str:
    """The declaration as a complete, accessible HTML page in ``lang`` (``nl`` or ``en``).

    :param next_url: where the settings form returns to after a choice.
    :param opted_out: whether the visitor objected to the anonymous statistics
        (:mod:`kruimel.base.optout`); the page offers to object or to take it back.
    """
    t = _TEXT[lang]
    data = policy_data(config, lang)
    static = config.prefix + "/static"
    sections = []
    for cat in data["categories"]:
        if cat["required"]:
            status = t["always"]
        else:
            status = t["on"] if state.allows(cat["name"]) else t["off"]
        services = Markup("").join(_service_html(s, lang) for s in cat["services"])
        sections.append(
            Markup(
                '<section class="kruimel-policy-cat" aria-labelledby="cat-{n}">'
                '<h2 id="cat-{n}">{title} <span class="kruimel-policy-status">{status}</span>'
                "</h2><p>{desc}</p>{services}</section>"
            ).format(
                n=cat["name"],
                title=cat["title"],
                status=status,
                desc=cat["description"],
                services=services or Markup("<p>{}</p>").format(t["none"]),
            )
        )
    when = t["undecided"]
    if state.decided and state.decided_at is not None:
        when = t["decided"].format(d=state.decided_at.strftime("%Y-%m-%d %H:%M UTC"))
    other = next(code for code in LANGUAGES if code != lang)
    form = render_settings_form(config, state=state, lang=lang, next_url=next_url)
    page = Markup(
        '<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>{title} \u2014 {controller}</title>"
        '<link rel="stylesheet" href="{css}"><link rel="stylesheet" href="{policy_css}">'
        '</head><body class="kruimel kruimel-policy"><main>'
        '<p class="kruimel-policy-lang"><a href="?lang={other}" hreflang="{other}" '
        'lang="{other}">{other_name}</a></p>'
        "<h1>{title}</h1><p>{intro}</p><p>{version}</p>{sections}"
        '<section class="kruimel-policy-choice" aria-labelledby="kruimel-change">'
        '<h2 id="kruimel-change">{change}</h2><p><strong>{status_label}:</strong> {when}</p>'
        "{form}</section>"
        '<section class="kruimel-policy-choice" aria-labelledby="kruimel-stats">'
        '<h2 id="kruimel-stats">{stats}</h2><p>{stats_text}</p>'
        "<p><strong>{status_label}:</strong> {stats_state}</p>"
        '<form method="post" action="{prefix}/optout">'
        '<input type="hidden" name="next" value="{next_url}">'
        '<button type="submit" class="kruimel-btn" name="optout" value="{optout_value}">'
        "{optout_button}</button></form></section>"
        '<p><a href="{privacy_url}">{privacy}</a></p></main></body></html>'
    ).format(
        lang=lang,
        title=t["title"],
        controller=config.controller,
        css=asset_url(static, "banner.css"),
        policy_css=asset_url(static, "policy.css"),
        other=other,
        other_name=t["other"],
        intro=t["intro"].format(c=config.controller),
        version=t["version"].format(
            v=config.policy_version, n=human_lifetime(config.lifetime_days, lang)
        ),
        sections=Markup("").join(sections),
        change=t["change"],
        status_label=t["status"],
        when=when,
        form=Markup(form),
        stats=t["stats"],
        stats_text=t["stats_text"].format(c=config.controller),
        stats_state=t["not_counted"] if opted_out else t["counted"],
        prefix=config.prefix,
        next_url=next_url,
        optout_value="0" if opted_out else "1",
        optout_button=t["optin"] if opted_out else t["optout"],
        privacy_url=config.privacy_url,
        privacy=t["privacy"],
    )
    return str(page)
