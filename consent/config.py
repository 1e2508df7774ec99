"""The consent settings of one site: :class:`ConsentConfig`, and its lookups.

Everything is validated once, at construction: a wrong setting raises
:class:`~consent.errors.ConsentConfigError` naming the setting and what to change, so a
misconfigured site fails at start rather than on a visitor's request.

The jobs live apart: the model of categories, services and cookies in ``consent.catalogue``,
single values in ``consent.values``, settings checked together in ``consent.validation``,
``kruimel.toml`` in ``consent.loading``. Their public names are importable from here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kruimel.base import shared

from .catalogue import DEFAULT_CATEGORIES, Category, CookieSpec, Service
from .errors import ConsentConfigError
from .loading import config_kwargs, read_consent_table
from .validation import MAX_LIFETIME_DAYS, ManageButton, validate
from .values import LANGUAGES, SECRET_ENV, fail, is_url, origin, parses, secret_keys, set_field

__all__ = [
    "DEFAULT_CATEGORIES",
    "LANGUAGES",
    "MAX_LIFETIME_DAYS",
    "SECRET_ENV",
    "Category",
    "ConsentConfig",
    "CookieSpec",
    "ManageButton",
    "Service",
]


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
                raise fail(key, "give a non-empty text (at most 200 characters)")
        if not isinstance(self.privacy_url, str) or not (
            (self.privacy_url.startswith("/") and parses(self.privacy_url))
            or is_url(self.privacy_url)
        ):
            raise fail("privacy_url", "give a path such as '/privacy' or an http(s) URL")
        set_field(self, "categories", tuple(self.categories or DEFAULT_CATEGORIES))
        set_field(self, "services", tuple(self.services))
        set_field(self, "secret_keys", secret_keys(tuple(self.secret_keys)))
        set_field(self, "cors_origins", tuple(origin(o) for o in self.cors_origins))
        set_field(self, "declared_services", validate(self))

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
        try:
            return cls(**config_kwargs(data), secret_keys=secret_keys)
        except ConsentConfigError as e:
            raise ConsentConfigError(e.setting, e.detail, source=source) from e

    @classmethod
    def from_toml(cls, path: str | Path, *, secret_keys: tuple[str, ...] = ()) -> ConsentConfig:
        """Read the ``[consent]`` table of a ``kruimel.toml`` file."""
        path = Path(path)
        table = read_consent_table(path)
        return cls.from_mapping(table, source=f"{path} [consent]", secret_keys=secret_keys)
