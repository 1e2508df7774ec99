"""What the ``kruimel`` subcommands share: the one-line user error, the settings file, the
store's URL, and asking a running server."""

from __future__ import annotations

import argparse
import json
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

if TYPE_CHECKING:
    from kruimel.settings import Settings

__all__ = [
    "STORE_URL_ENV",
    "CliError",
    "configured_sites",
    "fetch_api",
    "json_default",
    "read_settings",
    "redacted",
    "site_timezone",
    "store_url",
]

STORE_URL_ENV = "KRUIMEL_STORE_URL"  # kruimel.settings.STORE_URL_ENV, without importing it


class CliError(Exception):
    """A user-facing error: printed as ``kruimel: <message>``, exit status 2."""


def fetch_api(
    url: str,
    endpoint: str,
    headers: dict[str, str],
    body: bytes | None = None,
    timeout: float = 30,
) -> dict[str, Any]:
    """GET ``url`` (or POST ``body``) on a running Kruimel server and decode its JSON answer.

    :raises CliError: with the server's own ``{"error"}`` message and status, or saying that
        ``endpoint`` cannot be reached.
    """
    try:
        with urlopen(Request(url, body, headers), timeout=timeout) as response:  # noqa: S310 - URL given by the user
            data: dict[str, Any] = json.load(response)
            return data
    except HTTPError as e:
        try:
            message = json.load(e).get("error", e.reason)
        except ValueError:
            message = e.reason
        raise CliError(f"{url}: {e.code} {message}") from None
    except URLError as e:
        raise CliError(f"cannot reach {endpoint}: {e.reason}") from None


def configured_sites(args: argparse.Namespace) -> list[str] | None:
    """The sites of --config, or None when the store is given without a config."""
    if args.url or not args.config.exists():
        return None
    analytics = read_settings(args.config, consent=False).analytics
    return None if analytics is None else [s.domain for s in analytics.sites]


def redacted(url: str) -> str:
    """``url`` with its password, if any, shown as ``***``."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()
    return url


def json_default(value: object) -> str:
    """``json.dumps``' ``default``: dates as ISO text."""
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_settings(path: Path, *, consent: bool = True) -> Settings:
    """``kruimel.toml`` at ``path``; a wrong setting becomes a :class:`CliError`."""
    from kruimel.settings import SettingsError, load_settings

    try:
        return load_settings(path, consent=consent)
    except SettingsError as e:
        raise CliError(str(e)) from e


def store_url(args: argparse.Namespace) -> tuple[str, str | None]:
    """``(url, cluster)`` of the store: ``--url``, else the environment, else ``--config``."""
    if args.url:
        return str(args.url), args.cluster
    from_env = os.environ.get(STORE_URL_ENV, "").strip()
    if not args.config.exists():
        if from_env:
            return from_env, args.cluster
        raise CliError(
            f"no --url given, {STORE_URL_ENV} is not set and {args.config} does not exist: "
            "pass --url chdb:///path (or set KRUIMEL_STORE_URL=http://user:pass@host:8123/db), "
            "or --config FILE"
        )
    settings = read_settings(args.config, consent=False)
    return settings.store_url, args.cluster or settings.cluster


def site_timezone(args: argparse.Namespace) -> str | None:
    """The time zone ``--config`` gives the site ``--site``, or None."""
    if args.url or not args.config.exists():
        return None
    analytics = read_settings(args.config, consent=False).analytics
    if analytics is None:
        return None
    for site in analytics.sites:
        if site.domain == args.site:
            return str(site.timezone)
    return None
