"""A visitor's consent decision as the app sees it (``scope["consent"]``)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .config import ConsentConfig

__all__ = ["ConsentState", "new_consent_id"]


def new_consent_id() -> str:
    """A random, pseudonymous consent id (128 bits)."""
    return secrets.token_urlsafe(16)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ConsentState:
    """What the visitor decided, or that they have not decided yet.

    :param id: the consent id; random and new for an undecided visitor.
    :param categories: every configured category mapped to whether it is allowed;
        undecided visitors have every optional category off (default deny).
    :param gpc: the request carried ``Sec-GPC: 1`` and the site honours it.
    :param required: categories that are always allowed.
    """

    id: str
    decided: bool
    categories: Mapping[str, bool]
    policy_version: str
    decided_at: datetime | None = None
    expires_at: datetime | None = None
    gpc: bool = False
    required: frozenset[str] = field(default=frozenset(), repr=False)

    @classmethod
    def undecided(
        cls, config: ConsentConfig, *, gpc: bool = False, id: str | None = None
    ) -> ConsentState:
        """No choice yet: only the required categories are on.

        With ``gpc`` (and ``config.honor_gpc``) marketing stays off and is never offered
        pre-ticked; with no choice made every other optional category is off as well.
        """
        required = frozenset(config.required_categories)
        return cls(
            id=id or new_consent_id(),
            decided=False,
            categories={c.name: c.required for c in config.categories},
            policy_version=config.policy_version,
            gpc=gpc and config.honor_gpc,
            required=required,
        )

    @classmethod
    def decide(
        cls,
        config: ConsentConfig,
        allowed: Mapping[str, bool],
        *,
        id: str | None = None,
        gpc: bool = False,
        now: datetime | None = None,
    ) -> ConsentState:
        """A decision made at ``now``: ``allowed`` names the optional categories switched on
        (unknown names are ignored; required categories are always on)."""
        now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        return cls(
            id=id or new_consent_id(),
            decided=True,
            categories={c.name: c.required or bool(allowed.get(c.name)) for c in config.categories},
            policy_version=config.policy_version,
            decided_at=now,
            expires_at=now + timedelta(days=config.lifetime_days),
            gpc=gpc and config.honor_gpc,
            required=frozenset(config.required_categories),
        )

    def allows(self, category: str) -> bool:
        """Whether ``category`` may be used now; required categories always may."""
        return category in self.required or bool(self.categories.get(category, False))

    @property
    def allowed(self) -> tuple[str, ...]:
        """Names of the allowed categories, in configuration order."""
        return tuple(name for name in self.categories if self.allows(name))

    def to_json(self) -> dict[str, Any]:
        """The body of ``GET /_consent``; times in ISO 8601 UTC (``...Z``)."""
        return {
            "id": self.id,
            "decided": self.decided,
            "categories": {name: self.allows(name) for name in self.categories},
            "policy_version": self.policy_version,
            "decided_at": _iso(self.decided_at),
            "expires_at": _iso(self.expires_at),
            "gpc": self.gpc,
        }
