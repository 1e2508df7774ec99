"""``kruimel.toml``: one file configures the store, the consent half and the analytics half.

Each half validates its own table (``ConsentConfig.from_mapping``,
``AnalyticsConfig.from_mapping``); this module reads the file, checks the ``[store]`` table and
turns every failure into a :class:`SettingsError` that names the file and the setting.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analytics.config import AnalyticsConfig
from analytics.errors import AnalyticsConfigError
from consent.config import ConsentConfig
from consent.errors import ConsentConfigError

__all__ = ["Settings", "SettingsError", "load_settings", "settings_from_mapping"]

_TOP_LEVEL = {"store", "consent", "analytics"}


class SettingsError(Exception):
    """The settings file is missing, unreadable or invalid; the message says what to change."""


@dataclass(frozen=True)
class Settings:
    """Everything a Kruimel process needs, validated."""

    store_url: str
    cluster: str | None
    consent: ConsentConfig | None
    analytics: AnalyticsConfig | None


def load_settings(
    path: str | Path, *, base_dir: Path | None = None, consent: bool = True
) -> Settings:
    """Read and validate ``path``.

    A relative ``chdb://`` path in ``[store] url`` is taken relative to the file's directory,
    so a checked-in ``kruimel.toml`` works from any working directory.

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
    data: dict[str, Any], *, source: str = "kruimel.toml", base_dir: Path | None = None
) -> Settings:
    """Validate an already-parsed settings mapping (the contents of ``kruimel.toml``)."""
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
    url = store.get("url", "chdb://./kruimel-data/store")
    if not isinstance(url, str) or not url:
        raise SettingsError(f"{source} [store] url: must be a non-empty string")
    if url.startswith("chdb://") and not url.startswith("chdb:///") and base_dir is not None:
        url = f"chdb://{(base_dir / url[len('chdb://') :]).resolve()}"
    cluster = store.get("cluster") or None
    if cluster is not None and not isinstance(cluster, str):
        raise SettingsError(f"{source} [store] cluster: must be a string")

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
    return Settings(store_url=url, cluster=cluster, consent=consent, analytics=analytics)
