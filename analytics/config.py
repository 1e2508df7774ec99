"""Configuration of the analytics collector: the ``[analytics]`` table of ``kruimel.toml``.

Everything is validated once, at construction; a mistake raises
:class:`~analytics.errors.AnalyticsConfigError` naming the setting to change.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from ipaddress import ip_network
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import AnalyticsConfigError

__all__ = ["SiteConfig", "AnalyticsConfig", "VisitorHash"]

VisitorHash = Literal["full_ip", "masked_ip"]
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")
_ORIGIN = re.compile(
    r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?$"
)
_LOCALHOST_ORIGIN = re.compile(r"^http://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?$")


@dataclass(frozen=True)
class SiteConfig:
    """One site whose events the collector accepts.

    :param domain: the site's domain as the tracker sends it (``data-domain``), e.g. ``example.nl``.
    :param timezone: IANA zone; a visitor's "day" (and its salt) follows the site's local day.
    :param origins: origins allowed to send events from a browser (CORS). Default
        ``https://{domain}`` and ``https://www.{domain}``.
    :param ip_mask_bytes: Matomo level 1, 2 or 3 (IPv4 /24, /16, /8). Default 2.
    :param visitor_hash: ``"full_ip"`` (default) or ``"masked_ip"``; see :mod:`analytics.visitor`.
    :param honor_dnt: ``DNT: 1`` means "do not store" (``Sec-GPC: 1`` always does).
    :param hash_routing: keep the URL fragment (single-page apps routing on ``#/...``).
    :param allow_localhost: also accept ``http://localhost[:port]`` and ``http://127.0.0.1[:port]``
        origins (development only).
    :raises AnalyticsConfigError: a setting is invalid.
    """

    domain: str
    timezone: str = "Europe/Amsterdam"
    origins: tuple[str, ...] = ()
    ip_mask_bytes: int = 2
    visitor_hash: VisitorHash = "full_ip"
    honor_dnt: bool = True
    hash_routing: bool = False
    allow_localhost: bool = False
    tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        domain = str(self.domain).strip().lower().rstrip(".")
        if not _DOMAIN.match(domain):
            raise AnalyticsConfigError("sites.domain", f"{self.domain!r} is not a domain name")
        object.__setattr__(self, "domain", domain)
        try:
            object.__setattr__(self, "tz", ZoneInfo(self.timezone))
        except (ZoneInfoNotFoundError, ValueError, TypeError) as e:
            raise AnalyticsConfigError(
                f"sites[{domain}].timezone",
                f"unknown time zone {self.timezone!r}; use an IANA name like 'Europe/Amsterdam'",
            ) from e
        if type(self.ip_mask_bytes) is not int or self.ip_mask_bytes not in (1, 2, 3):
            raise AnalyticsConfigError(
                f"sites[{domain}].ip_mask_bytes",
                f"must be 1, 2 or 3 (IPv4 /24, /16, /8), not {self.ip_mask_bytes!r}; level 0 "
                "keeps the full address, which is not anonymisation",
            )
        if self.visitor_hash not in ("full_ip", "masked_ip"):
            raise AnalyticsConfigError(
                f"sites[{domain}].visitor_hash",
                f"must be 'full_ip' or 'masked_ip', not {self.visitor_hash!r}",
            )
        origins = tuple(str(o).strip().rstrip("/").lower() for o in self.origins) or (
            f"https://{domain}",
            f"https://www.{domain}",
        )
        for origin in origins:
            if not _ORIGIN.match(origin):
                raise AnalyticsConfigError(
                    f"sites[{domain}].origins",
                    f"{origin!r} is not an origin like 'https://example.nl'",
                )
        object.__setattr__(self, "origins", origins)

    def allows_origin(self, origin: str) -> bool:
        """Whether a browser at ``origin`` may send events for this site."""
        origin = origin.lower()
        if origin in self.origins:
            return True
        return self.allow_localhost and bool(_LOCALHOST_ORIGIN.match(origin))


@dataclass(frozen=True)
class AnalyticsConfig:
    """The collector's settings.

    :param sites: the accepted sites (at least one).
    :param api_token: bearer token of ``GET /api/summary``; default env ``KRUIMEL_API_TOKEN``.
    :param trusted_proxies: CIDRs of reverse proxies whose ``X-Forwarded-For`` is believed.
    :param flush_rows: flush the event buffer at this many rows.
    :param flush_seconds: ... or after this many seconds.
    :param journal_dir: the write-ahead journal of accepted events (None: memory only).
    :param max_journal_bytes: accept events while the journal is below this; then 503.
    :param retention_months: raw events and rollups are deleted after this (1..25).
    :param max_body_bytes: larger event bodies are answered 413.
    :raises AnalyticsConfigError: a setting is invalid.
    """

    sites: tuple[SiteConfig, ...]
    api_token: str | None = field(default=None, repr=False)
    trusted_proxies: tuple[str, ...] = ()
    flush_rows: int = 5000
    flush_seconds: float = 2.0
    journal_dir: Path | None = Path("kruimel-data/journal")
    max_journal_bytes: int = 256 * 2**20
    retention_months: int = 25
    max_body_bytes: int = 4096

    def __post_init__(self) -> None:
        sites = tuple(self.sites)
        if not sites or not all(isinstance(s, SiteConfig) for s in sites):
            raise AnalyticsConfigError("sites", "configure at least one [[analytics.sites]] domain")
        domains = [s.domain for s in sites]
        if len(set(domains)) != len(domains):
            raise AnalyticsConfigError("sites", f"a domain is listed twice in {domains}")
        object.__setattr__(self, "sites", sites)
        token = (
            self.api_token if self.api_token is not None else os.environ.get("KRUIMEL_API_TOKEN")
        )
        object.__setattr__(self, "api_token", token or None)
        proxies = tuple(str(p).strip() for p in self.trusted_proxies)
        for proxy in proxies:
            try:
                ip_network(proxy, strict=False)
            except ValueError as e:
                raise AnalyticsConfigError(
                    "trusted_proxies", f"{proxy!r} is not an IP address or CIDR network"
                ) from e
        object.__setattr__(self, "trusted_proxies", proxies)
        _check_int("flush_rows", self.flush_rows, 1, 1_000_000)
        _check_int("max_journal_bytes", self.max_journal_bytes, 2**16, 2**40)
        _check_int("retention_months", self.retention_months, 1, 25)
        _check_int("max_body_bytes", self.max_body_bytes, 256, 2**20)
        if (
            isinstance(self.flush_seconds, bool)
            or not isinstance(self.flush_seconds, int | float)
            or not 0.01 <= self.flush_seconds <= 600
        ):
            raise AnalyticsConfigError(
                "flush_seconds",
                f"must be seconds in 0.01..600, not {self.flush_seconds!r}",
            )
        if self.journal_dir is not None:
            object.__setattr__(self, "journal_dir", Path(self.journal_dir))

    def site(self, domain: str) -> SiteConfig | None:
        """The configured site for a tracker's ``domain`` (a ``www.`` prefix is ignored)."""
        return self._by_domain.get(domain.lower().removeprefix("www."))

    @property
    def _by_domain(self) -> dict[str, SiteConfig]:
        cached = self.__dict__.get("_domains")
        if cached is None:
            cached = {s.domain.removeprefix("www."): s for s in self.sites}
            object.__setattr__(self, "_domains", cached)
        return cast(dict[str, SiteConfig], cached)

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, source: str = "kruimel.toml [analytics]"
    ) -> AnalyticsConfig:
        """Build from the ``[analytics]`` table (a dict as read by ``tomllib``).

        :raises AnalyticsConfigError: unknown key, wrong type or invalid value; the message
            starts with ``source`` and the key.
        """
        try:
            return cls._from_mapping(data)
        except AnalyticsConfigError as e:
            raise AnalyticsConfigError(f"{source}: {e.setting}", str(e).split(": ", 1)[1]) from e

    @classmethod
    def _from_mapping(cls, data: Mapping[str, Any]) -> AnalyticsConfig:
        known = {f.name for f in fields(cls)}
        _reject_unknown("", data, known)
        raw_sites = data.get("sites", ())
        if not isinstance(raw_sites, list | tuple):
            raise AnalyticsConfigError("sites", "must be a list of tables ([[analytics.sites]])")
        site_keys = {f.name for f in fields(SiteConfig) if f.init}
        sites = []
        for i, raw in enumerate(raw_sites):
            if not isinstance(raw, Mapping) or "domain" not in raw:
                raise AnalyticsConfigError(f"sites[{i}]", "each site needs a 'domain'")
            _reject_unknown(f"sites[{i}].", raw, site_keys)
            values = dict(raw)
            if "origins" in values:
                values["origins"] = tuple(_str_list(f"sites[{i}].origins", values["origins"]))
            for key in ("honor_dnt", "hash_routing", "allow_localhost"):
                if key in values and not isinstance(values[key], bool):
                    raise AnalyticsConfigError(f"sites[{i}].{key}", "must be true or false")
            sites.append(SiteConfig(**values))
        values = {k: v for k, v in data.items() if k != "sites"}
        if "trusted_proxies" in values:
            values["trusted_proxies"] = tuple(
                _str_list("trusted_proxies", values["trusted_proxies"])
            )
        if "journal_dir" in values:
            jd = values["journal_dir"]
            if jd is not None and not isinstance(jd, str):
                raise AnalyticsConfigError("journal_dir", "must be a directory path (a string)")
            values["journal_dir"] = Path(jd) if jd else None
        if "api_token" in values and not isinstance(values["api_token"], str):
            raise AnalyticsConfigError("api_token", "must be a string")
        return cls(sites=tuple(sites), **values)


def _reject_unknown(prefix: str, data: Mapping[str, Any], known: set[str]) -> None:
    for key in data:
        if key not in known:
            raise AnalyticsConfigError(
                f"{prefix}{key}", f"unknown setting; known are {', '.join(sorted(known))}"
            )


def _str_list(setting: str, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise AnalyticsConfigError(setting, "must be a list of strings")
    if not all(isinstance(v, str) for v in value):
        raise AnalyticsConfigError(setting, "must be a list of strings")
    return list(value)


def _check_int(setting: str, value: Any, low: int, high: int) -> None:
    if type(value) is not int or not low <= value <= high:
        raise AnalyticsConfigError(setting, f"must be an integer in {low}..{high}, not {value!r}")
