"""Server-side enforcement of the visitor's choice on the app's response headers.

The browser half (inert scripts) keeps third-party code from setting cookies; this half
keeps the site's own server from doing it: a CMS plug-in that sets Pardot's ``pi_opt_in``
cookie, a framework that sets ``_ga`` for "server-side tagging".

- A ``Set-Cookie`` for a cookie declared in a category the visitor has not allowed is
  dropped (logged at debug level: name and category, never the value).
- A ``Set-Cookie`` for a cookie nobody declared passes, and is reported once per name per
  process (a warning with the name only), so the cookie register can be completed.
- On pages, cookies of denied categories that the browser still sends are expired, on the
  host and on each domain they may have been set for, so a refusal or a withdrawal sticks
  even for cookies set before it.
"""

from __future__ import annotations

import logging

from kruimel.base.headers import RawHeaders, append_header

from .config import ConsentConfig
from .cookie import expire_cookie_headers
from .state import ConsentState

__all__ = ["MAX_REPORTED", "CookieGuard", "cookie_name"]

log = logging.getLogger("kruimel.consent")

# Bounds of the per-process memory: an app that puts ids into cookie names must not make
# these grow without end.
MAX_REPORTED = 1000
_MAX_CACHED = 4096


def cookie_name(set_cookie: bytes) -> str:
    """The cookie name of a ``Set-Cookie`` value (``b"a=1; Path=/"`` -> ``"a"``)."""
    return set_cookie.split(b";", 1)[0].split(b"=", 1)[0].strip().decode("latin-1")


class CookieGuard:
    """Applies a :class:`ConsentState` to ``Set-Cookie`` headers.

    One guard serves every request of a middleware: it only remembers, per process, which
    cookie names belong to which category and which undeclared names it has reported.

    :param config: the consent configuration whose cookie register is enforced.
    """

    def __init__(self, config: ConsentConfig) -> None:
        self.config = config
        self._category: dict[str, str | None] = {}
        self._reported: set[str] = set()

    def category(self, name: str) -> str | None:
        """The declared category of cookie ``name`` (cached), ``None`` when undeclared."""
        try:
            return self._category[name]
        except KeyError:
            found = self.config.cookie_category(name)
            if len(self._category) >= _MAX_CACHED:
                self._category.clear()
            self._category[name] = found
            return found

    def filter(self, headers: RawHeaders, state: ConsentState) -> None:
        """Drop, in place, each ``Set-Cookie`` of a category ``state`` does not allow."""
        kept: RawHeaders = []
        for pair in headers:
            key = pair[0]
            if key == b"set-cookie" or key.lower() == b"set-cookie":
                name = cookie_name(pair[1])
                category = self.category(name)
                if category is None:
                    self._report(name)
                elif not state.allows(category):
                    log.debug("dropped Set-Cookie %r: category %r not allowed", name, category)
                    continue
            kept.append(pair)
        if len(kept) != len(headers):
            headers[:] = kept

    def expire(
        self,
        headers: RawHeaders,
        state: ConsentState,
        present: list[str],
        *,
        host: str,
        secure: bool,
    ) -> None:
        """Append ``Set-Cookie`` headers expiring the cookies in ``present`` (the names the
        request carried) that belong to a category ``state`` does not allow."""
        denied: list[str] = []
        for name in present:
            category = self.category(name)
            if category is not None and not state.allows(category) and category not in denied:
                denied.append(category)
        if not denied:
            return
        for value in expire_cookie_headers(
            self.config, denied, present=present, host=host, secure=secure, only_present=True
        ):
            append_header(headers, b"set-cookie", value)

    def _report(self, name: str) -> None:
        if name in self._reported or len(self._reported) >= MAX_REPORTED:
            return
        self._reported.add(name)
        log.warning(
            "the app set cookie %r, which no service declares: add it to the cookie register "
            "(a service's cookies in the consent configuration)",
            name,
        )
