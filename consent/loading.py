"""Reading the consent settings from ``kruimel.toml``: its ``[consent]`` table as the keyword
arguments of :class:`~consent.config.ConsentConfig` (``ConsentConfig.from_mapping`` and
``from_toml`` build on this)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .catalogue import DEFAULT_CATEGORIES, Category
from .errors import ConsentConfigError
from .presets import service_from_mapping
from .values import SECRET_ENV, fail

__all__ = ["KEYS", "config_kwargs", "read_consent_table"]

KEYS = frozenset(
    {"controller", "privacy_url", "policy_version", "categories", "services", "lifetime_days"}
    | {"default_language", "cookie_name", "language_cookie", "prefix", "cors_origins"}
    | {"record_retention_months", "manage_button", "honor_gpc"}
)


def read_consent_table(path: Path) -> Mapping[str, Any]:
    """The ``[consent]`` table of the TOML file at ``path``.

    :raises ConsentConfigError: the file cannot be read or has no ``[consent]`` table.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConsentConfigError("file", f"cannot read {path}: {e}", source=str(path)) from e
    table = data.get("consent")
    if not isinstance(table, Mapping):
        raise ConsentConfigError("[consent]", "add a [consent] table", source=str(path))
    return table


def config_kwargs(data: Mapping[str, Any]) -> dict[str, Any]:
    """ConsentConfig keyword arguments from a ``[consent]`` table, services included."""
    if not isinstance(data, Mapping):
        raise fail("[consent]", "give a table of settings")
    if "secret_keys" in data:
        raise fail(
            "secret_keys",
            f"keep secret keys out of the settings file; set the environment variable {SECRET_ENV}",
        )
    for key in data:
        if key not in KEYS:
            raise fail(str(key), f"unknown setting; valid ones are {', '.join(sorted(KEYS))}")
    for key in ("controller", "privacy_url", "policy_version"):
        if key not in data:
            raise fail(key, "this setting is required")
    kwargs = {k: v for k, v in data.items() if k not in ("categories", "services")}
    if "cors_origins" in kwargs:
        if not isinstance(kwargs["cors_origins"], list):
            raise fail("cors_origins", 'give a list, e.g. ["https://www.example.nl"]')
        kwargs["cors_origins"] = tuple(kwargs["cors_origins"])
    if "categories" in data:
        kwargs["categories"] = _categories_from(data["categories"])
    services = data.get("services", [])
    if not isinstance(services, list):
        raise fail("services", 'give a list, e.g. ["pardot", "youtube"]')
    kwargs["services"] = tuple(
        service_from_mapping(item, f"services[{i}]") for i, item in enumerate(services)
    )
    return kwargs


def _categories_from(table: object) -> tuple[Category, ...]:
    """The default categories with the table's overrides: ``name = {title=..}`` changes or
    adds a category, ``name = false`` drops an optional one."""
    if not isinstance(table, Mapping):
        raise fail("categories", "give a table keyed by category name")
    defaults = {c.name: c for c in DEFAULT_CATEGORIES}
    result = dict(defaults)
    for name, value in table.items():
        where = f"categories.{name}"
        if value is False:
            if name not in defaults or defaults[name].required:
                raise fail(where, "only a default optional category can be dropped (= false)")
            del result[name]
            continue
        if not isinstance(value, Mapping):
            raise fail(where, "give a table with title and description, or false")
        unknown = set(value) - {"title", "description", "required"}
        if unknown:
            raise fail(f"{where}.{sorted(unknown)[0]}", "use title, description, required")
        base = defaults.get(name)
        if base is None and not {"title", "description"} <= set(value):
            raise fail(where, "a new category needs a title and a description")
        result[name] = Category(
            name,
            value.get("title", base.title if base else ""),
            value.get("description", base.description if base else ""),
            value.get("required", base.required if base else False),
        )
    return tuple(result.values())
