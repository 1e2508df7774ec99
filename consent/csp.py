"""Reading a page's ``Content-Security-Policy``: which nonce the inserted scripts carry, and
whether an inline script may run at all."""

from __future__ import annotations

import re

__all__ = ["NONCE", "csp_script_policy"]

# A nonce source; its value holds only characters HTML escaping leaves as they are.
NONCE = re.compile(rb"'nonce-([A-Za-z0-9+/_=-]+)'")


def csp_script_policy(policies: list[bytes]) -> tuple[str | None, bool]:
    """``(nonce, inline_allowed)`` for ``Content-Security-Policy`` header values.

    The nonce comes from the directive that governs script elements (``script-src-elem``,
    else ``script-src``, else ``default-src``). Without a nonce, an inline script is allowed
    only when no policy governs scripts or each one that does says ``'unsafe-inline'``.
    """
    nonce: str | None = None
    inline = True
    for policy in policies:
        directives: dict[bytes, bytes] = {}
        for directive in policy.split(b";"):
            parts = directive.split(None, 1)
            if parts:
                directives.setdefault(parts[0].lower(), parts[1] if len(parts) > 1 else b"")
        for name in (b"script-src-elem", b"script-src", b"default-src"):
            if name in directives:
                sources = directives[name]
                found = NONCE.search(sources)
                if found is not None:
                    nonce = nonce or found.group(1).decode("ascii")
                elif b"'unsafe-inline'" not in sources.lower():
                    inline = False
                break
    return nonce, inline or nonce is not None
