"""Names and numbers shared by the Python and the browser scripts, from one file.

``kruimel/base/shared.json`` is read here and bundled into ``static/banner/*.js`` by esbuild
(``make assets``; the sources import it), so a cookie name, the Consent Mode table or the
opt-out lifetime is written once. ``tests/test_asset_build.py`` fails when the committed
scripts were built from another version of it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = [
    "CONSENT_COOKIE",
    "CONSENT_EVENT",
    "CONSENT_PREFIX",
    "GTAG_TYPES",
    "GTAG_WAIT_MS",
    "LANGUAGE_COOKIE",
    "OPTOUT_COOKIE",
    "OPTOUT_DAYS",
    "SHARED_FILE",
    "TOKEN_HEADER",
]

SHARED_FILE = Path(__file__).with_name("shared.json")
_DATA: dict[str, Any] = json.loads(SHARED_FILE.read_text(encoding="utf-8"))

CONSENT_COOKIE: str = _DATA["consent_cookie"]
LANGUAGE_COOKIE: str = _DATA["language_cookie"]
OPTOUT_COOKIE: str = _DATA["optout_cookie"]
OPTOUT_DAYS: int = _DATA["optout_days"]
TOKEN_HEADER: str = _DATA["token_header"]
CONSENT_PREFIX: str = _DATA["consent_prefix"]
CONSENT_EVENT: str = _DATA["consent_event"]
#: Consent category -> Google Consent Mode v2 types it grants.
GTAG_TYPES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {category: tuple(types) for category, types in _DATA["gtag_types"].items()}
)
GTAG_WAIT_MS: int = _DATA["gtag_wait_ms"]
