"""Checks of single setting values: texts in every language, URLs, origins, names, keys.

Each check raises :class:`~consent.errors.ConsentConfigError` naming the setting and what to
change. They know nothing of the configuration model (``consent.catalogue``,
``consent.config``), which builds on them.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from .errors import ConsentConfigError

__all__ = [
    "COOKIE_TOKEN",
    "DOMAIN",
    "LANGUAGES",
    "NAME",
    "SECRET_ENV",
    "fail",
    "is_url",
    "origin",
    "parses",
    "secret_keys",
    "set_field",
    "text",
]

log = logging.getLogger("kruimel.consent")

LANGUAGES: tuple[str, ...] = ("nl", "en")
SECRET_ENV = "KRUIMEL_SECRET_KEY"

NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
COOKIE_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
DOMAIN = re.compile(r"\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def fail(setting: str, message: str) -> ConsentConfigError:
    """The error for a wrong ``setting`` (raise it)."""
    return ConsentConfigError(setting, message)


def text(value: object, setting: str) -> dict[str, str]:
    """A text in every language: a ``{"nl": ..., "en": ...}`` mapping (a plain string is
    accepted and used for both)."""
    if isinstance(value, str) and value.strip():
        return {lang: value for lang in LANGUAGES}
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(LANGUAGES))
        if unknown:
            raise fail(setting, f"unknown language {unknown[0]!r}; use {', '.join(LANGUAGES)}")
        missing = [lang for lang in LANGUAGES if not str(value.get(lang) or "").strip()]
        if not missing and all(isinstance(v, str) for v in value.values()):
            return {lang: value[lang] for lang in LANGUAGES}
        raise fail(setting, f"give a non-empty text for {', '.join(missing or LANGUAGES)}")
    raise fail(setting, 'give a text, e.g. {"nl": "...", "en": "..."}')


def set_field(obj: object, name: str, value: object) -> None:
    """Set a field of a frozen dataclass while it normalises itself in ``__post_init__``."""
    object.__setattr__(obj, name, value)


def is_url(value: object) -> bool:
    """Whether ``value`` is an absolute http(s) URL with a host."""
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:  # "http://[" and other broken hosts: not a URL, said by the caller
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def parses(value: str) -> bool:
    """Whether ``urlsplit`` takes ``value`` ("//[" it refuses, at every page's render)."""
    try:
        urlsplit(value)
    except ValueError:
        return False
    return True


def origin(value: object) -> str:
    """``value`` as ``scheme://host[:port]``, the form a browser's ``Origin`` header has.

    :raises ConsentConfigError: naming ``cors_origins`` when it is no origin.
    """
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
        raise fail(
            "cors_origins",
            f"{value!r} is not an origin; write scheme and host only, e.g. "
            "'https://www.example.nl' (no path, no '*')",
        )
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError as e:  # "Port out of range" and the like
        raise fail("cors_origins", f"{value!r}: the port is not a number from 1 to 65535") from e
    return f"{parts.scheme}://{parts.hostname}{port}"


def secret_keys(given: tuple[str, ...]) -> tuple[str, ...]:
    """The signing keys: ``given``, else those in :data:`SECRET_ENV`, newest first."""
    keys = given or tuple(k.strip() for k in os.environ.get(SECRET_ENV, "").split(",") if k.strip())
    if not keys:
        raise fail(
            "secret_keys",
            f"no secret key: set the environment variable {SECRET_ENV} to a long random "
            "value (comma-separated, newest first, to rotate), e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )
    if not all(isinstance(k, str) and k for k in keys):
        raise fail("secret_keys", "give non-empty texts, newest first")
    if any(len(k) < 16 for k in keys):
        log.warning("a consent secret key is shorter than 16 characters; use a longer one")
    return tuple(keys)
