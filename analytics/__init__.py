"""Cookieless, first-party analytics: the collector, anonymisation, visitor keys, summary.

Mount :class:`Collector` in an ASGI app (``/_analytics``) or serve it on its own; it stores
into ClickHouse through :mod:`kruimel.base.store`. Nothing that identifies a person is stored:
IP addresses are used only in memory (masked Matomo-style where they are kept at all),
visitor keys are salted hashes whose daily salts are deleted after two days, and referrers
are reduced to their host. :func:`summarize` (and ``GET /api/summary``) report aggregates.
"""

from __future__ import annotations

from .anonymize import anonymize_ip, mask_ip
from .api_summary import make_summary_endpoint
from .clientip import TrustedProxies, client_ip
from .collector import Collector
from .config import AnalyticsConfig, SiteConfig
from .errors import AnalyticsConfigError, AnalyticsError, InvalidEvent
from .normalize import DIRECT, normalize_url, referrer_source
from .period import Period, PeriodError
from .report import format_summary_table
from .summary import summarize
from .useragent import UserAgentInfo, UserAgentParser
from .visitor import DailySalts, visitor_key

__all__ = [
    "DIRECT",
    "AnalyticsConfig",
    "AnalyticsConfigError",
    "AnalyticsError",
    "Collector",
    "DailySalts",
    "InvalidEvent",
    "Period",
    "PeriodError",
    "SiteConfig",
    "TrustedProxies",
    "UserAgentInfo",
    "UserAgentParser",
    "anonymize_ip",
    "client_ip",
    "format_summary_table",
    "make_summary_endpoint",
    "mask_ip",
    "normalize_url",
    "referrer_source",
    "summarize",
    "visitor_key",
]
