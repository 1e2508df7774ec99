"""The visitor's objection to the cookieless analytics, shared by both halves.

First-party analytics that identifies no one may run without consent (Telecommunicatiewet
11.7a lid 3, CNIL's audience-measurement exemption), but the visitor can still object. The
objection is a cookie whose value is the same for everyone (``kruimel_optout=1``): it
stores no identifier, so honouring it creates none. The consent endpoints set and clear
it; the tracker stops sending and the collector drops any event that carries it.
"""

from __future__ import annotations

import re

from kruimel.base.cookies import set_cookie
from kruimel.base.shared import OPTOUT_COOKIE, OPTOUT_DAYS

__all__ = ["OPTOUT_COOKIE", "OPTOUT_MAX_AGE", "has_optout", "optout_cookie_header"]

# Thirteen months, the longest any cookie of ours lives, and longer than a consent (182 days
# by default) on purpose: an objection (AVG art. 21; docs/REGULATION.md item 15) is not a
# consent that must be asked again. When a choice lapses the banner asks again; when an
# objection lapsed nothing would ask, and the visitor would be counted again without knowing.
# The figure lives in kruimel/base/shared.json.
OPTOUT_MAX_AGE = OPTOUT_DAYS * 86400
_PRESENT = re.compile(rb"(?:^|;)\s*" + OPTOUT_COOKIE.encode() + rb"=1\s*(?:;|$)")


def has_optout(cookie_header: bytes) -> bool:
    """Whether a raw ``Cookie`` request header carries the objection."""
    return bool(cookie_header) and _PRESENT.search(cookie_header) is not None


def optout_cookie_header(opted_out: bool, *, secure: bool) -> bytes:
    """The ``Set-Cookie`` value that records (or clears) the objection.

    Not HttpOnly on purpose: the tracker reads it on the page, since it sends the collector
    no cookies (the collector's own check only covers trackers from before that).
    """
    if opted_out:
        return set_cookie(
            OPTOUT_COOKIE, "1", max_age=OPTOUT_MAX_AGE, secure=secure, http_only=False
        )
    return set_cookie(OPTOUT_COOKIE, "", max_age=0, secure=secure, http_only=False)
