"""Exceptions raised by :mod:`consent`. One base class; each carries what to change."""

from __future__ import annotations

__all__ = ["ConsentConfigError", "ConsentError", "ConsentRequestError"]


class ConsentError(Exception):
    """Base class for every error :mod:`consent` raises."""


class ConsentConfigError(ConsentError, ValueError):
    """A consent setting is wrong. The message names the setting and what to change.

    :param setting: the setting's name as the site owner writes it, e.g. ``lifetime_days``
        or ``services[2].category``.
    :param source: where the setting came from, e.g. ``kruimel.toml [consent]``.
    """

    def __init__(self, setting: str, message: str, *, source: str = "ConsentConfig") -> None:
        super().__init__(f"{source}: {setting}: {message}")
        self.setting = setting
        self.detail = message
        self.source = source


class ConsentRequestError(ConsentError):
    """A request to the consent endpoints is unacceptable; becomes a 4xx JSON error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
