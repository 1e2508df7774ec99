"""Exceptions of the analytics collector. One base class, context on each."""

from __future__ import annotations

__all__ = ["AnalyticsError", "AnalyticsConfigError", "InvalidEvent"]


class AnalyticsError(Exception):
    """Base class for every analytics failure."""


class AnalyticsConfigError(AnalyticsError, ValueError):
    """A setting of ``[analytics]`` is wrong; the message names the setting and what to change."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting


class InvalidEvent(AnalyticsError):
    """An event was rejected; ``status`` is the HTTP status to answer (400, 403, 413, 415)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
