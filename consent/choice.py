"""What a consent decision switches on, and the action the proof log records for it.

Decisions under ``Sec-GPC: 1`` (when ``honor_gpc``): "Accept all" grants every optional
category except ``marketing`` and is recorded with action ``gpc`` (the record shows that the
signal was honoured and marketing stayed off); "Reject all" is recorded as ``reject_all``; a
custom choice is recorded as ``custom`` exactly as ticked, so an explicit tick for marketing
wins over the signal.

"Reject all" by a visitor who had allowed something is a withdrawal and is recorded as
``withdraw``, like ``DELETE /_consent``.
"""

from __future__ import annotations

from .config import ConsentConfig
from .errors import ConsentRequestError
from .state import ConsentState

__all__ = ["choice"]


def choice(
    config: ConsentConfig, state: ConsentState, accept: object, categories: dict[str, bool]
) -> tuple[dict[str, bool], str]:
    """The categories a decision switches on and the action to record.

    :param state: the visitor's state before the decision (its ``gpc`` and what it allowed).
    :param accept: ``"all"``, ``"none"``, ``"custom"`` or None (then ``categories`` count).
    :raises ConsentRequestError: 400 for an unknown category or ``accept``, or a required
        category switched off.
    """
    optional = config.optional_categories
    if accept == "all":
        allowed = dict.fromkeys(optional, True)
        if state.gpc and "marketing" in allowed:
            allowed["marketing"] = False
            return allowed, "gpc"
        return allowed, "accept_all"
    if accept == "none":
        # "Reject all" after something was allowed takes consent back: the proof log must
        # say so, whichever control (banner, form, DELETE) the visitor used.
        had_consent = state.decided and any(state.allows(c) for c in optional)
        return {}, "withdraw" if had_consent else "reject_all"
    if accept in ("custom", None):
        for name, on in categories.items():
            if name not in optional and name not in config.required_categories:
                known = ", ".join(c.name for c in config.categories)
                raise ConsentRequestError(400, f"unknown category {name!r}; use {known}")
            if not on and name in config.required_categories:
                raise ConsentRequestError(400, f"category {name!r} cannot be switched off")
        return categories, "custom"
    raise ConsentRequestError(400, "accept must be 'all', 'none' or 'custom'")
