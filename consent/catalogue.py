"""The configuration's model: categories, services and the cookies they set.

Each class checks its own fields at construction (with ``consent.values``); the checks that
need the whole configuration are ``consent.validation``'s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from kruimel.base.optout import OPTOUT_COOKIE, OPTOUT_MAX_AGE

from .values import COOKIE_TOKEN, DOMAIN, NAME, fail, is_url, set_field, text

__all__ = [
    "CONSENT_ONLY",
    "DEFAULT_CATEGORIES",
    "Category",
    "CookieKind",
    "CookieSpec",
    "Service",
    "kruimel_service",
]

CookieKind = Literal["cookie", "localStorage", "sessionStorage"]


@dataclass(frozen=True)
class CookieSpec:
    """One cookie (or storage key) a service sets.

    :param name: exact name, or a pattern where ``*`` stands for any characters
        (``_ga_*``, ``visitor_id*-hash``).
    :param max_age_days: lifetime in days (fractions for less than a day); ``None`` for a
        session cookie.
    :param domain: the domain it is set on (``.example.nl``); ``None`` for the site's host.
    """

    name: str
    purpose: Mapping[str, str]
    max_age_days: float | None = None
    domain: str | None = None
    provider: str = ""
    kind: CookieKind = "cookie"
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"cookie {self.name!r}"
        if self.kind not in get_args(CookieKind):
            raise fail(f"{where}.kind", f"use one of {', '.join(get_args(CookieKind))}")
        if not isinstance(self.name, str) or not self.name:
            raise fail("cookie.name", "give the cookie's name (or a pattern with '*')")
        if self.kind == "cookie" and not COOKIE_TOKEN.fullmatch(self.name):
            raise fail(f"{where}.name", "not a valid cookie name (no spaces, ';', ',' or '=')")
        set_field(self, "purpose", text(self.purpose, f"{where}.purpose"))
        if self.max_age_days is not None and (
            isinstance(self.max_age_days, bool)
            or not isinstance(self.max_age_days, int | float)
            or not 0 < self.max_age_days < 36500
        ):
            raise fail(f"{where}.max_age_days", "give days (> 0; 1/48 is 30 minutes), or None")
        if self.domain is not None:
            if not isinstance(self.domain, str) or not DOMAIN.fullmatch(self.domain.lower()):
                raise fail(f"{where}.domain", "give a host name such as '.example.nl'")
            set_field(self, "domain", self.domain.lower())
        if not isinstance(self.provider, str):
            raise fail(f"{where}.provider", "give the provider's name as text")
        if "*" in self.name:
            regex = ".*".join(re.escape(part) for part in self.name.split("*"))
            set_field(self, "_pattern", re.compile(regex))

    @property
    def is_pattern(self) -> bool:
        """Whether :attr:`name` holds a ``*`` wildcard."""
        return self._pattern is not None

    def matches(self, name: str) -> bool:
        """Whether a cookie called ``name`` is this declared cookie."""
        if self._pattern is None:
            return name == self.name
        return self._pattern.fullmatch(name) is not None


@dataclass(frozen=True)
class Category:
    """A purpose the visitor consents to (or not). ``required`` ones cannot be switched off."""

    name: str
    title: Mapping[str, str]
    description: Mapping[str, str]
    required: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME.fullmatch(self.name):
            raise fail(f"category {self.name!r}", "name: use lowercase letters, digits, '_'")
        set_field(self, "title", text(self.title, f"categories.{self.name}.title"))
        set_field(
            self, "description", text(self.description, f"categories.{self.name}.description")
        )
        if not isinstance(self.required, bool):
            raise fail(f"categories.{self.name}.required", "use true or false")


@dataclass(frozen=True)
class Service:
    """A third party (or the site itself) that sets cookies for one category.

    :param ids: the site's own identifiers for a preset (``account_id``, ``measurement_id``),
        kept for markup helpers and shown nowhere else.
    :param google: a Google tag; enables Google Consent Mode v2 defaults.
    """

    name: str
    title: str
    category: str
    provider: str
    description: Mapping[str, str]
    cookies: tuple[CookieSpec, ...] = ()
    privacy_url: str | None = None
    google: bool = False
    ids: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"services.{self.name}"
        if not isinstance(self.name, str) or not NAME.fullmatch(self.name):
            raise fail(f"service {self.name!r}", "name: use lowercase letters, digits, '_'")
        for key in ("title", "provider", "category"):
            if not isinstance(getattr(self, key), str) or not getattr(self, key).strip():
                raise fail(f"{where}.{key}", "give a non-empty text")
        set_field(self, "description", text(self.description, f"{where}.description"))
        cookies = tuple(self.cookies)
        if not all(isinstance(c, CookieSpec) for c in cookies):
            raise fail(f"{where}.cookies", "give CookieSpec objects")
        set_field(self, "cookies", cookies)
        if self.privacy_url is not None and not is_url(self.privacy_url):
            raise fail(f"{where}.privacy_url", "give an http(s) URL")
        if not isinstance(self.google, bool):
            raise fail(f"{where}.google", "use true or false")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in self.ids.items()):
            raise fail(f"{where}.ids", "give text values")
        set_field(self, "ids", dict(self.ids))


def kruimel_service(
    controller: str, cookie_name: str, language_cookie: str, days: int, category: str
) -> Service:
    """Kruimel's own service: the consent, language and opt-out cookies, in ``category``."""
    return Service(
        name="kruimel",
        title="Kruimel",
        category=category,
        provider=controller,
        description={
            "nl": "Onthoudt uw cookiekeuze, uw taal en een eventueel bezwaar tegen de "
            "anonieme statistieken. Wordt niet gedeeld.",
            "en": "Remembers your cookie choice, your language and any objection to the "
            "anonymous statistics. Never shared.",
        },
        cookies=(
            CookieSpec(
                cookie_name,
                {"nl": "Uw cookiekeuze", "en": "Your cookie choice"},
                days,
                provider=controller,
            ),
            CookieSpec(
                language_cookie,
                {"nl": "Uw gekozen taal", "en": "Your chosen language"},
                days,
                provider=controller,
            ),
            CookieSpec(
                OPTOUT_COOKIE,
                {
                    "nl": "Uw bezwaar tegen de anonieme statistieken; bevat geen id. Blijft "
                    "langer dan uw cookiekeuze: een bezwaar (AVG art. 21) is geen toestemming "
                    "die opnieuw wordt gevraagd, en zou anders ongemerkt vervallen",
                    "en": "Your objection to the anonymous statistics; holds no id. Kept "
                    "longer than your cookie choice: an objection (GDPR art. 21) is not a "
                    "consent that is asked again, and would otherwise lapse unnoticed",
                },
                OPTOUT_MAX_AGE / 86400,
                provider=controller,
            ),
        ),
    )


def _category(name: str, nl: tuple[str, str], en: tuple[str, str], required: bool) -> Category:
    return Category(name, {"nl": nl[0], "en": en[0]}, {"nl": nl[1], "en": en[1]}, required)


DEFAULT_CATEGORIES: tuple[Category, ...] = (
    _category(
        "necessary",
        ("Noodzakelijk", "Nodig om de site te laten werken en uw keuzes te onthouden."),
        ("Necessary", "Needed for the site to work and to remember your choices."),
        True,
    ),
    _category(
        "preferences",
        ("Voorkeuren", "Onthouden instellingen die u zelf kiest, zoals de weergave."),
        ("Preferences", "Remember settings you choose yourself, such as the display."),
        False,
    ),
    _category(
        "analytics",
        ("Statistieken", "Meten hoe bezoekers de site gebruiken, met diensten van derden."),
        ("Statistics", "Measure how visitors use the site, with third-party services."),
        False,
    ),
    _category(
        "marketing",
        ("Marketing", "Volgen uw bezoek om advertenties en berichten op u af te stemmen."),
        ("Marketing", "Track your visit to tailor advertising and messages to you."),
        False,
    ),
)


# Categories that by their purpose need consent (ePrivacy art. 5(3)): never "required".
CONSENT_ONLY = frozenset({"preferences", "analytics", "marketing"})
