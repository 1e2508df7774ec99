"""The ClickHouse storage layer shared by :mod:`consent` and :mod:`analytics`."""

from __future__ import annotations

from .client import Store
from .errors import (
    Backpressure,
    StoreConfigError,
    StoreError,
    StoreLockedError,
    StoreUnavailableError,
)
from .outage import Outage
from .schema import Migration, ensure_ttl, render
from .writer import BatchWriter

__all__ = [
    "Backpressure",
    "BatchWriter",
    "Migration",
    "Outage",
    "Store",
    "StoreConfigError",
    "StoreError",
    "StoreLockedError",
    "StoreUnavailableError",
    "ensure_ttl",
    "render",
]
