"""``kruimel.toml``: one file configures the store, the consent half and the analytics half.

Each half validates its own table (``ConsentConfig.from_mapping``,
``AnalyticsConfig.from_mapping``); this module reads the file, checks the ``[store]`` table and
turns every failure into a :class:`SettingsError` that names the file and the setting.

Secrets never come from the file: the ClickHouse URL with its password from
``KRUIMEL_STORE_URL`` (it wins over ``[store] url``), the API token from
``KRUIMEL_API_TOKEN``, the signing keys from ``KRUIMEL_SECRET_KEY``. A password in
``[store] url`` or an ``[analytics] api_token`` is refused, naming the variable to use.

Without a store URL the embedded store lives in :func:`default_data_dir`, outside the
folder of the config file: a static site often keeps its ``kruimel.toml`` in the folder its
web server publishes.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from analytics.config import AnalyticsConfig
from analytics.errors import AnalyticsConfigError
from consent.config import ConsentConfig
from consent.errors import ConsentConfigError

__all__ = [
    "STORE_URL_ENV",
    "Settings",
    "SettingsError",
    "default_data_dir",
    "load_settings",
    "settings_from_mapping",
]

_TOP_LEVEL = {"store", "consent", "analytics"}
#: the environment variable that holds the store URL (and so its password)
STORE_URL_ENV = "KRUIMEL_STORE_URL"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


class SettingsError(Exception):
    """The settings file is missing, unreadable or invalid; the message says what to change."""


@dataclass(frozen=True)
class Settings:
    """Everything a Kruimel process needs, validated."""

    store_url: str
    cluster: str | None
    consent: ConsentConfig | None
    analytics: AnalyticsConfig | None
    #: no store URL was given (file or environment): the store is in the default data dir
    store_url_default: bool = False


def default_data_dir(
    analytics: AnalyticsConfig | None, environ: Mapping[str, str] = os.environ
) -> Path:
    """Where ``kruimel serve`` keeps its data by default: ``$XDG_STATE_HOME/kruimel/<site>``
    (``~/.local/state/kruimel/<site>``), named after the first configured site, so never
    inside a folder a web server publishes."""
    base = environ.get("XDG_STATE_HOME", "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state"
    name = analytics.sites[0].domain if analytics is not None else "default"
    return root / "kruimel" / (_UNSAFE_NAME.sub("_", name) or "default")


def load_settings(
    path: str | Path, *, base_dir: Path | None = None, consent: bool = True
) -> Settings:
    """Read and validate ``path``.

    A relative ``chdb://`` path in ``[store] url`` is taken relative to the file's directory,
    so a checked-in ``kruimel.toml`` works from any working directory. ``KRUIMEL_STORE_URL``
    wins over ``[store] url``; with neither, the store is in :func:`default_data_dir`.

    :param consent: build the ``[consent]`` table too. Commands that only reach the store or
        the analytics (``migrate``, ``summary``) pass ``False``, so they need no signing key.
    :raises SettingsError: the file is missing, not TOML, or a setting is invalid.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise SettingsError(
            f"{path}: no such file. Create it (see examples/kruimel.toml) or pass --config."
        ) from e
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise SettingsError(f"{path}: not a readable TOML file: {e}") from e
    if not consent:
        data.pop("consent", None)
    return settings_from_mapping(data, source=str(path), base_dir=base_dir or path.parent)


def settings_from_mapping(
    data: dict[str, Any],
    *,
    source: str = "kruimel.toml",
    base_dir: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Settings:
    """Validate an already-parsed settings mapping (the contents of ``kruimel.toml``).

    :param environ: where ``KRUIMEL_STORE_URL`` and ``XDG_STATE_HOME`` are read.
    """
    unknown = sorted(set(data) - _TOP_LEVEL)
    if unknown:
        raise SettingsError(
            f"{source}: unknown table(s) {', '.join(unknown)}; "
            f"expected {', '.join(sorted(_TOP_LEVEL))}"
        )
    store = data.get("store", {})
    if not isinstance(store, dict):
        raise SettingsError(f"{source} [store]: must be a table")
    extra = sorted(set(store) - {"url", "cluster"})
    if extra:
        raise SettingsError(f"{source} [store]: unknown setting(s) {', '.join(extra)}")
    raw_analytics = data.get("analytics")
    if isinstance(raw_analytics, dict) and "api_token" in raw_analytics:
        raise SettingsError(
            f"{source} [analytics] api_token: secrets do not go in the file; remove it and set "
            "KRUIMEL_API_TOKEN in the server's environment"
        )
    consent = analytics = None
    try:
        if "consent" in data:
            consent = ConsentConfig.from_mapping(data["consent"], source=f"{source} [consent]")
        if "analytics" in data:
            analytics = AnalyticsConfig.from_mapping(
                data["analytics"], source=f"{source} [analytics]"
            )
    except (ConsentConfigError, AnalyticsConfigError) as e:
        raise SettingsError(str(e)) from e

    url = store.get("url")
    if url is not None and (not isinstance(url, str) or not url):
        raise SettingsError(f"{source} [store] url: must be a non-empty string")
    if isinstance(url, str) and urlsplit(url).password:
        raise SettingsError(
            f"{source} [store] url: holds a password; secrets do not go in the file. Set "
            f"{STORE_URL_ENV}=http://user:password@host:8123/database in the server's "
            "environment instead (it wins over [store] url)"
        )
    from_env = environ.get(STORE_URL_ENV, "").strip()
    default = not from_env and url is None
    if from_env:
        url = from_env
    elif url is None:
        url = f"chdb://{default_data_dir(analytics, environ) / 'store'}"
    elif url.startswith("chdb://") and not url.startswith("chdb:///") and base_dir is not None:
        url = f"chdb://{(base_dir / url[len('chdb://') :]).resolve()}"
    cluster = store.get("cluster") or None
    if cluster is not None and not isinstance(cluster, str):
        raise SettingsError(f"{source} [store] cluster: must be a string")
    return Settings(
        store_url=url,
        cluster=cluster,
        consent=consent,
        analytics=analytics,
        store_url_default=default,
    )
