"""The one helper for writing a ``Set-Cookie`` value.

Every cookie Kruimel sets is first-party, for the whole site (``Path=/``) and ``SameSite=Lax``:
sent along when a visitor follows a link to the site, never with another site's requests.
``Secure`` follows the request's scheme, so the cookies work on a plain-HTTP development
server too.
"""

from __future__ import annotations

__all__ = ["set_cookie"]


def set_cookie(
    name: str, value: str, *, max_age: int, secure: bool, http_only: bool, path: str = "/"
) -> bytes:
    """The ``Set-Cookie`` header value for cookie ``name``; ``max_age=0`` expires it.

    :param http_only: hide it from scripts (only the server reads it).
    """
    attributes = f"{name}={value}; Max-Age={max_age}; Path={path}; SameSite=Lax"
    if secure:
        attributes += "; Secure"
    if http_only:
        attributes += "; HttpOnly"
    return attributes.encode("latin-1")
