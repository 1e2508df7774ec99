"""Kruimel's consent half: configuration, the signed consent cookie, the endpoints under
``/_consent``, proof of consent, and the middleware that puts them in front of an app."""

from __future__ import annotations

from .config import DEFAULT_CATEGORIES, Category, ConsentConfig, CookieSpec, Service
from .cookie import (
    clear_cookie_header,
    expire_cookie_headers,
    read_cookie,
    read_state,
    set_cookie_header,
)
from .endpoints import ConsentEndpoints
from .errors import ConsentConfigError, ConsentError, ConsentRequestError
from .i18n import choose_language
from .middleware import ConsentMiddleware
from .presets import PRESETS, preset
from .records import ConsentLog
from .schema import LOG_COLUMNS as CONSENT_LOG_COLUMNS
from .schema import MIGRATIONS
from .state import ConsentState

__all__ = [
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
