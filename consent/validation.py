"""The checks of a whole consent configuration: settings that depend on one another.

``ConsentConfig.__post_init__`` calls :func:`validate`; each check raises
:class:`~consent.errors.ConsentConfigError` naming the setting and what to change.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Literal, get_args

from .catalogue import CONSENT_ONLY, Category, Service, kruimel_service
from .presets import PRESETS
from .values import LANGUAGES, NAME, fail

if TYPE_CHECKING:
    from .config import ConsentConfig

__all__ = ["MAX_LIFETIME_DAYS", "ManageButton", "validate"]

MAX_LIFETIME_DAYS = 396  # 13 months: the longest consent the Dutch and EDPB guidance accept
ManageButton = Literal["bottom-left", "bottom-right", "none"]


def validate(config: ConsentConfig) -> tuple[Service, ...]:
    """Check the settings of ``config`` together; its declared services, Kruimel's first."""
    check_numbers(config)
    check_names(config)
    return check_catalogue(config)


def check_numbers(config: ConsentConfig) -> None:
    """Lifetime, retention (at least as long as a consent lasts) and the switches."""
    days, months = config.lifetime_days, config.record_retention_months
    if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= MAX_LIFETIME_DAYS:
        raise fail("lifetime_days", f"{days!r}: give whole days from 1 to 396 (13 months)")
    if isinstance(months, bool) or not isinstance(months, int) or not 0 < months <= 120:
        raise fail("record_retention_months", f"{months!r}: give 1 to 120 months")
    if months < math.ceil(days / 30):
        raise fail(
            "record_retention_months",
            f"keep proof of consent at least as long as consent lasts "
            f"({days} days): raise it to {math.ceil(days / 30)} or more",
        )
    if not isinstance(config.honor_gpc, bool):
        raise fail("honor_gpc", "use true or false")
    if config.manage_button not in get_args(ManageButton):
        raise fail("manage_button", f"use one of {', '.join(get_args(ManageButton))}")


def check_names(config: ConsentConfig) -> None:
    """The default language, the cookie names and the endpoints' prefix."""
    if config.default_language not in LANGUAGES:
        raise fail(
            "default_language",
            f"unknown language {config.default_language!r}; use {' or '.join(LANGUAGES)}",
        )
    for key in ("cookie_name", "language_cookie"):
        value = getattr(config, key)
        if not isinstance(value, str) or not NAME.fullmatch(value.lower()):
            raise fail(key, f"{value!r}: use letters, digits and '_' only")
    if config.cookie_name == config.language_cookie:
        raise fail("language_cookie", "must differ from cookie_name")
    prefix = config.prefix
    if not isinstance(prefix, str) or not prefix.startswith("/"):
        raise fail("prefix", f"{prefix!r}: start with '/', e.g. '/_consent'")
    if prefix == "/" or prefix.endswith("/") or not re.fullmatch(r"(/[\w.~-]+)+", prefix):
        raise fail("prefix", f"{prefix!r}: a path such as '/_consent' (no trailing '/')")


def check_catalogue(config: ConsentConfig) -> tuple[Service, ...]:
    """Categories and services: one required category, known categories, no cookie twice."""
    seen: set[str] = set()
    for cat in config.categories:
        if not isinstance(cat, Category):
            raise fail("categories", "give Category objects")
        if cat.name in seen:
            raise fail("categories", f"duplicate category {cat.name!r}")
        seen.add(cat.name)
    required = [c.name for c in config.categories if c.required]
    if len(required) != 1:
        raise fail(
            "categories",
            f"mark exactly one category required (e.g. 'necessary'), not {len(required)}: "
            "a required category is on before any choice, so it may hold only what the "
            "site cannot work without",
        )
    if required[0] in CONSENT_ONLY:
        raise fail(
            f"categories.{required[0]}.required",
            f"{required[0]!r} needs consent; it cannot be switched on before a choice",
        )
    names: set[str] = set()
    cookies: dict[str, str] = {}
    own = kruimel_service(
        config.controller,
        config.cookie_name,
        config.language_cookie,
        config.lifetime_days,
        required[0],
    )
    for svc in (own, *config.services):
        if not isinstance(svc, Service):
            raise fail("services", "give Service objects (see consent.presets.preset)")
        if svc.name in names:
            raise fail("services", f"duplicate service {svc.name!r}; give each a name")
        names.add(svc.name)
        if svc.category not in seen:
            raise fail(
                f"services.{svc.name}.category",
                f"unknown category {svc.category!r}; use one of {', '.join(sorted(seen))}",
            )
        # Every built-in preset is a third-party service that needs consent.
        if svc is not own and svc.category == required[0] and svc.name in PRESETS:
            raise fail(
                f"services.{svc.name}.category",
                f"{svc.title} is not strictly necessary and would run before any choice; "
                "put it in an optional category",
            )
        for spec in svc.cookies:
            if spec.name in cookies and spec.kind == "cookie":
                raise fail(
                    f"services.{svc.name}.cookies",
                    f"cookie {spec.name!r} is already declared by {cookies[spec.name]!r}",
                )
            cookies[spec.name] = svc.name
    return (own, *config.services)
