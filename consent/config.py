"""What a site declares: categories, services and their cookies, keys, lifetimes, texts.

Everything is validated once, at construction: a wrong setting raises
:class:`~consent.errors.ConsentConfigError` naming the setting and what to change, so a
misconfigured site fails at start rather than on a visitor's request.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from kruimel.base import shared
from kruimel.base.optout import OPTOUT_COOKIE, OPTOUT_MAX_AGE

from .errors import ConsentConfigError

__all__ = [
    "DEFAULT_CATEGORIES",
    "LANGUAGES",
    "MAX_LIFETIME_DAYS",
    "Category",
    "ConsentConfig",
    "CookieSpec",
    "ManageButton",
    "Service",
]

log = logging.getLogger("kruimel.consent")

LANGUAGES: tuple[str, ...] = ("nl", "en")
MAX_LIFETIME_DAYS = 396  # 13 months: the longest consent the Dutch and EDPB guidance accept
ManageButton = Literal["bottom-left", "bottom-right", "none"]
CookieKind = Literal["cookie", "localStorage", "sessionStorage"]
SECRET_ENV = "KRUIMEL_SECRET_KEY"

_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_COOKIE_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_DOMAIN = re.compile(r"\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def _fail(setting: str, message: str) -> ConsentConfigError:
    return ConsentConfigError(setting, message)


def _text(value: object, setting: str) -> dict[str, str]:
    """A text in every language: a ``{"nl": ..., "en": ...}`` mapping (a plain string is
    accepted and used for both)."""
    if isinstance(value, str) and value.strip():
        return {lang: value for lang in LANGUAGES}
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(LANGUAGES))
        if unknown:
            raise _fail(setting, f"unknown language {unknown[0]!r}; use {', '.join(LANGUAGES)}")
        missing = [lang for lang in LANGUAGES if not str(value.get(lang) or "").strip()]
        if not missing and all(isinstance(v, str) for v in value.values()):
            return {lang: value[lang] for lang in LANGUAGES}
        raise _fail(setting, f"give a non-empty text for {', '.join(missing or LANGUAGES)}")
    raise _fail(setting, 'give a text, e.g. {"nl": "...", "en": "..."}')


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)  # normalising fields of a frozen dataclass


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
            raise _fail(f"{where}.kind", f"use one of {', '.join(get_args(CookieKind))}")
        if not isinstance(self.name, str) or not self.name:
            raise _fail("cookie.name", "give the cookie's name (or a pattern with '*')")
        if self.kind == "cookie" and not _COOKIE_TOKEN.fullmatch(self.name):
            raise _fail(f"{where}.name", "not a valid cookie name (no spaces, ';', ',' or '=')")
        _set(self, "purpose", _text(self.purpose, f"{where}.purpose"))
        if self.max_age_days is not None and (
            isinstance(self.max_age_days, bool)
            or not isinstance(self.max_age_days, int | float)
            or not 0 < self.max_age_days < 36500
        ):
            raise _fail(f"{where}.max_age_days", "give days (> 0; 1/48 is 30 minutes), or None")
        if self.domain is not None:
            if not isinstance(self.domain, str) or not _DOMAIN.fullmatch(self.domain.lower()):
                raise _fail(f"{where}.domain", "give a host name such as '.example.nl'")
            _set(self, "domain", self.domain.lower())
        if not isinstance(self.provider, str):
            raise _fail(f"{where}.provider", "give the provider's name as text")
        if "*" in self.name:
            regex = ".*".join(re.escape(part) for part in self.name.split("*"))
            _set(self, "_pattern", re.compile(regex))

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
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise _fail(f"category {self.name!r}", "name: use lowercase letters, digits, '_'")
        _set(self, "title", _text(self.title, f"categories.{self.name}.title"))
        _set(self, "description", _text(self.description, f"categories.{self.name}.description"))
        if not isinstance(self.required, bool):
            raise _fail(f"categories.{self.name}.required", "use true or false")


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
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise _fail(f"service {self.name!r}", "name: use lowercase letters, digits, '_'")
        for key in ("title", "provider", "category"):
            if not isinstance(getattr(self, key), str) or not getattr(self, key).strip():
                raise _fail(f"{where}.{key}", "give a non-empty text")
        _set(self, "description", _text(self.description, f"{where}.description"))
        cookies = tuple(self.cookies)
        if not all(isinstance(c, CookieSpec) for c in cookies):
            raise _fail(f"{where}.cookies", "give CookieSpec objects")
        _set(self, "cookies", cookies)
        if self.privacy_url is not None and not _is_url(self.privacy_url):
            raise _fail(f"{where}.privacy_url", "give an http(s) URL")
        if not isinstance(self.google, bool):
            raise _fail(f"{where}.google", "use true or false")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in self.ids.items()):
            raise _fail(f"{where}.ids", "give text values")
        _set(self, "ids", dict(self.ids))


def _is_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:  # "http://[" and other broken hosts: not a URL, said by the caller
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _parses(value: str) -> bool:
    """Whether ``urlsplit`` takes ``value`` ("//[" it refuses, at every page's render)."""
    try:
        urlsplit(value)
    except ValueError:
        return False
    return True


def _origin(value: object) -> str:
    try:
        parts = urlsplit(value) if isinstance(value, str) else None
    except ValueError:  # "http://[": reported below as not an origin
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
    ):
        raise _fail(
            "cors_origins",
            f"{value!r} is not an origin; write scheme and host only, e.g. "
            "'https://www.example.nl' (no path, no '*')",
        )
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError as e:  # "Port out of range" and the like
        raise _fail("cors_origins", f"{value!r}: the port is not a number from 1 to 65535") from e
    return f"{parts.scheme}://{parts.hostname}{port}"


def _secret_keys(given: tuple[str, ...]) -> tuple[str, ...]:
    keys = given or tuple(k.strip() for k in os.environ.get(SECRET_ENV, "").split(",") if k.strip())
    if not keys:
        raise _fail(
            "secret_keys",
            f"no secret key: set the environment variable {SECRET_ENV} to a long random "
            "value (comma-separated, newest first, to rotate), e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )
    if not all(isinstance(k, str) and k for k in keys):
        raise _fail("secret_keys", "give non-empty texts, newest first")
    if any(len(k) < 16 for k in keys):
        log.warning("a consent secret key is shorter than 16 characters; use a longer one")
    return tuple(keys)


def _kruimel_service(config: ConsentConfig, category: str) -> Service:
    days = config.lifetime_days
    return Service(
        name="kruimel",
        title="Kruimel",
        category=category,
        provider=config.controller,
        description={
            "nl": "Onthoudt uw cookiekeuze, uw taal en een eventueel bezwaar tegen de "
            "anonieme statistieken. Wordt niet gedeeld.",
            "en": "Remembers your cookie choice, your language and any objection to the "
            "anonymous statistics. Never shared.",
        },
        cookies=(
            CookieSpec(
                config.cookie_name,
                {"nl": "Uw cookiekeuze", "en": "Your cookie choice"},
                days,
                provider=config.controller,
            ),
            CookieSpec(
                config.language_cookie,
                {"nl": "Uw gekozen taal", "en": "Your chosen language"},
                days,
                provider=config.controller,
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
                provider=config.controller,
            ),
        ),
    )


@dataclass(frozen=True, kw_only=True, eq=False)
class ConsentConfig:
    """The consent settings of one site. Compared and hashed by identity.

    :param secret_keys: keys for signing the consent cookie, newest first; when empty they
        come from the environment variable ``KRUIMEL_SECRET_KEY`` (comma-separated).
    :param lifetime_days: how long a choice (consent *and* refusal) holds, at most 396.
    :raises ConsentConfigError: a setting is wrong; the message names it.
    """

    controller: str
    privacy_url: str
    policy_version: str
    categories: tuple[Category, ...] = ()
    services: tuple[Service, ...] = ()
    secret_keys: tuple[str, ...] = field(default=(), repr=False)
    lifetime_days: int = 182
    default_language: str = "nl"
    cookie_name: str = shared.CONSENT_COOKIE
    language_cookie: str = shared.LANGUAGE_COOKIE
    prefix: str = shared.CONSENT_PREFIX
    record_retention_months: int = 13
    cors_origins: tuple[str, ...] = ()
    manage_button: ManageButton = "bottom-left"
    honor_gpc: bool = True
    declared_services: tuple[Service, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for key in ("controller", "policy_version"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip() or len(value) > 200:
                raise _fail(key, "give a non-empty text (at most 200 characters)")
        if not isinstance(self.privacy_url, str) or not (
            (self.privacy_url.startswith("/") and _parses(self.privacy_url))
            or _is_url(self.privacy_url)
        ):
            raise _fail("privacy_url", "give a path such as '/privacy' or an http(s) URL")
        _set(self, "categories", tuple(self.categories or DEFAULT_CATEGORIES))
        _set(self, "services", tuple(self.services))
        _set(self, "secret_keys", _secret_keys(tuple(self.secret_keys)))
        _set(self, "cors_origins", tuple(_origin(o) for o in self.cors_origins))
        self._check_numbers()
        self._check_names()
        self._check_catalogue()

    def _check_numbers(self) -> None:
        days, months = self.lifetime_days, self.record_retention_months
        if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= 396:
            raise _fail("lifetime_days", f"{days!r}: give whole days from 1 to 396 (13 months)")
        if isinstance(months, bool) or not isinstance(months, int) or not 0 < months <= 120:
            raise _fail("record_retention_months", f"{months!r}: give 1 to 120 months")
        if months < math.ceil(days / 30):
            raise _fail(
                "record_retention_months",
                f"keep proof of consent at least as long as consent lasts "
                f"({days} days): raise it to {math.ceil(days / 30)} or more",
            )
        if not isinstance(self.honor_gpc, bool):
            raise _fail("honor_gpc", "use true or false")
        if self.manage_button not in get_args(ManageButton):
            raise _fail("manage_button", f"use one of {', '.join(get_args(ManageButton))}")

    def _check_names(self) -> None:
        if self.default_language not in LANGUAGES:
            raise _fail(
                "default_language",
                f"unknown language {self.default_language!r}; use {' or '.join(LANGUAGES)}",
            )
        for key in ("cookie_name", "language_cookie"):
            value = getattr(self, key)
            if not isinstance(value, str) or not _NAME.fullmatch(value.lower()):
                raise _fail(key, f"{value!r}: use letters, digits and '_' only")
        if self.cookie_name == self.language_cookie:
            raise _fail("language_cookie", "must differ from cookie_name")
        prefix = self.prefix
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise _fail("prefix", f"{prefix!r}: start with '/', e.g. '/_consent'")
        if prefix == "/" or prefix.endswith("/") or not re.fullmatch(r"(/[\w.~-]+)+", prefix):
            raise _fail("prefix", f"{prefix!r}: a path such as '/_consent' (no trailing '/')")

    def _check_catalogue(self) -> None:
        seen: set[str] = set()
        for cat in self.categories:
            if not isinstance(cat, Category):
                raise _fail("categories", "give Category objects")
            if cat.name in seen:
                raise _fail("categories", f"duplicate category {cat.name!r}")
            seen.add(cat.name)
        required = [c.name for c in self.categories if c.required]
        if len(required) != 1:
            raise _fail(
                "categories",
                f"mark exactly one category required (e.g. 'necessary'), not {len(required)}: "
                "a required category is on before any choice, so it may hold only what the "
                "site cannot work without",
            )
        if required[0] in _CONSENT_ONLY:
            raise _fail(
                f"categories.{required[0]}.required",
                f"{required[0]!r} needs consent; it cannot be switched on before a choice",
            )
        names: set[str] = set()
        cookies: dict[str, str] = {}
        own = _kruimel_service(self, required[0])
        for svc in (own, *self.services):
            if not isinstance(svc, Service):
                raise _fail("services", "give Service objects (see consent.presets.preset)")
            if svc.name in names:
                raise _fail("services", f"duplicate service {svc.name!r}; give each a name")
            names.add(svc.name)
            if svc.category not in seen:
                raise _fail(
                    f"services.{svc.name}.category",
                    f"unknown category {svc.category!r}; use one of {', '.join(sorted(seen))}",
                )
            if svc is not own and svc.category == required[0] and svc.name in _preset_names():
                raise _fail(
                    f"services.{svc.name}.category",
                    f"{svc.title} is not strictly necessary and would run before any choice; "
                    "put it in an optional category",
                )
            for spec in svc.cookies:
                if spec.name in cookies and spec.kind == "cookie":
                    raise _fail(
                        f"services.{svc.name}.cookies",
                        f"cookie {spec.name!r} is already declared by {cookies[spec.name]!r}",
                    )
                cookies[spec.name] = svc.name
        _set(self, "declared_services", (own, *self.services))

    # -- lookups ---------------------------------------------------------------------
    @property
    def optional_categories(self) -> tuple[str, ...]:
        """Names of the categories a visitor can switch on or off, in order."""
        return tuple(c.name for c in self.categories if not c.required)

    @property
    def required_categories(self) -> tuple[str, ...]:
        """Names of the categories that are always on."""
        return tuple(c.name for c in self.categories if c.required)

    def category(self, name: str) -> Category:
        """The category called ``name``; :class:`KeyError` when there is none."""
        for cat in self.categories:
            if cat.name == name:
                return cat
        raise KeyError(name)

    def services_in(self, category: str) -> tuple[Service, ...]:
        """The declared services (Kruimel's own included) of one category."""
        return tuple(s for s in self.declared_services if s.category == category)

    def cookie_category(self, name: str) -> str | None:
        """Category of the declared cookie ``name`` (exact names before patterns)."""
        for exact in (True, False):
            for svc in self.declared_services:
                for spec in svc.cookies:
                    if spec.kind == "cookie" and spec.is_pattern != exact and spec.matches(name):
                        return svc.category
        return None

    def cookies_in(self, category: str) -> tuple[CookieSpec, ...]:
        """The declared browser cookies of one category."""
        return tuple(
            spec
            for svc in self.services_in(category)
            for spec in svc.cookies
            if spec.kind == "cookie"
        )

    # -- loading ---------------------------------------------------------------------
    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        *,
        source: str = "kruimel.toml [consent]",
        secret_keys: tuple[str, ...] = (),
    ) -> ConsentConfig:
        """Build from the ``[consent]`` table of ``kruimel.toml`` (see ``kruimel.settings``).

        :param secret_keys: overrides the environment, e.g. the demo's generated key.
        :raises ConsentConfigError: naming the key (with ``source``) and what to change.
        """
        from .presets import service_from_mapping

        try:
            kwargs = _config_kwargs(data)
            services = data.get("services", [])
            if not isinstance(services, list):
                raise _fail("services", 'give a list, e.g. ["pardot", "youtube"]')
            kwargs["services"] = tuple(
                service_from_mapping(item, f"services[{i}]") for i, item in enumerate(services)
            )
            return cls(**kwargs, secret_keys=secret_keys)
        except ConsentConfigError as e:
            raise ConsentConfigError(e.setting, e.detail, source=source) from e

    @classmethod
    def from_toml(cls, path: str | Path, *, secret_keys: tuple[str, ...] = ()) -> ConsentConfig:
        """Read the ``[consent]`` table of a ``kruimel.toml`` file."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConsentConfigError("file", f"cannot read {path}: {e}", source=str(path)) from e
        table = data.get("consent")
        if not isinstance(table, Mapping):
            raise ConsentConfigError("[consent]", "add a [consent] table", source=str(path))
        return cls.from_mapping(table, source=f"{path} [consent]", secret_keys=secret_keys)


_KEYS = frozenset(
    {"controller", "privacy_url", "policy_version", "categories", "services", "lifetime_days"}
    | {"default_language", "cookie_name", "language_cookie", "prefix", "cors_origins"}
    | {"record_retention_months", "manage_button", "honor_gpc"}
)


def _config_kwargs(data: Mapping[str, Any]) -> dict[str, Any]:
    """ConsentConfig keyword arguments from a ``[consent]`` table, services excepted."""
    if not isinstance(data, Mapping):
        raise _fail("[consent]", "give a table of settings")
    if "secret_keys" in data:
        raise _fail(
            "secret_keys",
            f"keep secret keys out of the settings file; set the environment variable {SECRET_ENV}",
        )
    for key in data:
        if key not in _KEYS:
            raise _fail(str(key), f"unknown setting; valid ones are {', '.join(sorted(_KEYS))}")
    for key in ("controller", "privacy_url", "policy_version"):
        if key not in data:
            raise _fail(key, "this setting is required")
    kwargs = {k: v for k, v in data.items() if k not in ("categories", "services")}
    if "cors_origins" in kwargs:
        if not isinstance(kwargs["cors_origins"], list):
            raise _fail("cors_origins", 'give a list, e.g. ["https://www.example.nl"]')
        kwargs["cors_origins"] = tuple(kwargs["cors_origins"])
    if "categories" in data:
        kwargs["categories"] = _categories_from(data["categories"])
    return kwargs


def _categories_from(table: object) -> tuple[Category, ...]:
    """The default categories with the table's overrides: ``name = {title=..}`` changes or
    adds a category, ``name = false`` drops an optional one."""
    if not isinstance(table, Mapping):
        raise _fail("categories", "give a table keyed by category name")
    defaults = {c.name: c for c in DEFAULT_CATEGORIES}
    result = dict(defaults)
    for name, value in table.items():
        where = f"categories.{name}"
        if value is False:
            if name not in defaults or defaults[name].required:
                raise _fail(where, "only a default optional category can be dropped (= false)")
            del result[name]
            continue
        if not isinstance(value, Mapping):
            raise _fail(where, "give a table with title and description, or false")
        unknown = set(value) - {"title", "description", "required"}
        if unknown:
            raise _fail(f"{where}.{sorted(unknown)[0]}", "use title, description, required")
        base = defaults.get(name)
        if base is None and not {"title", "description"} <= set(value):
            raise _fail(where, "a new category needs a title and a description")
        result[name] = Category(
            name,
            value.get("title", base.title if base else ""),
            value.get("description", base.description if base else ""),
            value.get("required", base.required if base else False),
        )
    return tuple(result.values())


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
_CONSENT_ONLY = frozenset({"preferences", "analytics", "marketing"})


def _preset_names() -> frozenset[str]:
    # Every built-in preset is a third-party service that needs consent. Imported here
    # because presets builds on this module.
    from .presets import PRESETS

    return frozenset(PRESETS)
