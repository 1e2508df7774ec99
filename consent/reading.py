"""The per-cookie reading cache: a request's consent state, memoised per visitor.

Checking the cookie's signature is most of what a request costs the middleware, and a
visitor sends the same cookie with every request, so a valid decision is kept (keyed on every
header ``read_cookie`` reads) until it lapses. A request that carries no consent cookie, only
other cookies or none, gets one shared state without an id (the id is minted when the
visitor decides); a bad, lapsed or outdated cookie is read again every time.
"""

from __future__ import annotations

from dataclasses import replace
from time import time
from types import MappingProxyType
from typing import NamedTuple

from starlette.types import Scope

from kruimel.base.memo import BoundedMemo

from .config import ConsentConfig
from .cookie import TOKEN_HEADER, read_cookie
from .state import ConsentState

__all__ = ["MAX_COOKIE", "MEMO_VISITORS", "Reading", "ReadingCache", "ReadingKey"]

_TOKEN = TOKEN_HEADER.encode("latin-1")
# At most this many readings (and page plans) are remembered, each under a Cookie line of at
# most MAX_COOKIE bytes (so some 8 MiB a memo at worst).
MEMO_VISITORS = 4096
MAX_COOKIE = 2048

# What a reading is memoised on: the Cookie line, or (Cookie, Sec-GPC, X-Kruimel-Consent)
# when either of the last two came.
ReadingKey = bytes | tuple[bytes | None, bytes | None, bytes | None]


class Reading(NamedTuple):
    """A request's consent state as the middleware keeps it (``ReadingCache.read``).

    :param state: the visitor's choice, ``scope["consent"]``.
    :param until: the ``time.time()`` from which the cookie must be read again (the choice
        lapses); 0 for a bad, lapsed or outdated cookie, which is read every time.
    :param shown: what a page shows of the state: ``(decided, gpc, allowed categories)``.
    """

    state: ConsentState
    until: float
    shown: tuple[bool, bool, tuple[str, ...]]


def _reading(state: ConsentState, until: float) -> Reading:
    return Reading(state, until, (state.decided, state.gpc, state.allowed))


class ReadingCache:
    """``read_cookie`` for one site's configuration, memoised per visitor (bounded)."""

    def __init__(self, config: ConsentConfig) -> None:
        self.config = config
        self.memo: BoundedMemo[ReadingKey, Reading] = BoundedMemo(MEMO_VISITORS)
        # The states of every request without a consent cookie: shared, read-only, no id.
        blank = ConsentState.undecided(config)
        blank = replace(blank, id="", categories=MappingProxyType(dict(blank.categories)))
        self._blank = _reading(blank, float("inf"))
        self._blank_gpc = _reading(replace(blank, gpc=config.honor_gpc), float("inf"))
        # A consent cookie cannot be in a Cookie header that lacks its name.
        self._cookie_bytes = config.cookie_name.encode("latin-1")

    def read(self, scope: Scope) -> Reading:
        """The request's consent state (see the module's docstring)."""
        cookie = gpc = token = None
        # A plain loop: cheaper here than dict(headers), and Cookie lines may come split.
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookie = value if cookie is None else cookie + b"; " + value
            elif name == b"sec-gpc":  # repeated lines are joined, as read_cookie does
                gpc = value if gpc is None else gpc + b", " + value
            elif name == _TOKEN:
                token = value if token is None else token + b", " + value
        # Keyed on the Cookie line alone, as it nearly always comes; else on all three.
        key: ReadingKey
        if token is not None:
            key = (cookie, gpc, token)
        elif cookie is None:
            return self._blank_gpc if gpc is not None and self._gpc(gpc) else self._blank
        else:
            key = cookie if gpc is None else (cookie, gpc, None)
        hit = self.memo.get(key)
        if hit is not None and hit[1] > time():  # hit.until, by index: this runs per request
            return hit
        return self._read_new(scope, key, cookie, gpc, token)

    def _gpc(self, value: bytes) -> bool:
        """Whether a ``Sec-GPC`` value asks not to be tracked and the site honours it."""
        return value.strip() == b"1" and self.config.honor_gpc

    def _read_new(
        self,
        scope: Scope,
        key: ReadingKey,
        cookie: bytes | None,
        gpc: bytes | None,
        token: bytes | None,
    ) -> Reading:
        blank = self._blank_gpc if gpc is not None and self._gpc(gpc) else self._blank
        if token is None and cookie is not None and self._cookie_bytes not in cookie:
            hit = blank  # cookies, but not ours (an app's session, say): no choice yet
        else:
            reading = read_cookie(self.config, scope)
            state = reading.state
            lapses = state.expires_at
            if reading.status == "absent":  # a look-alike name, such as x{cookie_name}
                hit = blank
            elif reading.status != "valid" or lapses is None:
                return _reading(state, 0.0)  # read again next time
            else:
                # Shared by this visitor's later requests: make its categories read-only,
                # so app code that writes to them cannot change what the next one sees.
                state = replace(state, categories=MappingProxyType(dict(state.categories)))
                hit = _reading(state, lapses.timestamp())
        if cookie is not None and len(cookie) > MAX_COOKIE:
            return hit  # too long to keep (see MAX_COOKIE)
        return self.memo.put(key, hit)
