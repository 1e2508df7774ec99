"""What the log says while the store does not answer: not a traceback per request.

One warning when the store stops answering, one when it answers again, and in between a
count of the requests refused because of it, at most every ``interval`` seconds (written
when the next failure or refusal comes, so a quiet server writes nothing). Every
:class:`~kruimel.base.store.Store` has one (``store.outage``): the store reports its own failed
and successful calls, and the collector and the consent endpoints report each request they
answer 503 for lack of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["Outage"]

log = logging.getLogger("kruimel.base.store")


class Outage:
    """Tracks one store's outage and writes its few log lines.

    :param what: names the store in the log (a redacted URL: never a password).
    :param interval: seconds between two counts of refused requests.
    :param clock: monotonic seconds; injectable for tests.
    """

    def __init__(
        self,
        what: str,
        *,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self.since: float | None = None
        self.refused_total = 0
        self._refused_recent = 0
        self._reported_at = 0.0

    @property
    def active(self) -> bool:
        """Whether the store is failing now (a failure came after the last success)."""
        return self.since is not None

    def failed(self, error: BaseException) -> None:
        """A call to the store failed: the outage starts now, or goes on."""
        with self._lock:
            self._fail(error)

    def refused(self, error: BaseException) -> None:
        """A request was answered 503 because the store (or its journal bound) failed it."""
        with self._lock:
            self.refused_total += 1
            self._refused_recent += 1
            self._fail(error)

    def recovered(self) -> None:
        """A call to the store succeeded: an outage, if any, is over."""
        with self._lock:
            if self.since is None:
                return
            lasted = self._clock() - self.since
            log.warning(
                "%s answers again after %.0f s; %d request(s) were refused meanwhile",
                self.what,
                lasted,
                self.refused_total,
            )
            self.since = None
            self.refused_total = self._refused_recent = 0

    def _fail(self, error: BaseException) -> None:
        now = self._clock()
        if self.since is None:
            self.since = self._reported_at = now
            log.warning(
                "%s does not answer (%s); requests that need it get 503 until it does "
                "(a count follows every %.0f s)",
                self.what,
                _one_line(error),
                self.interval,
            )
            return
        if now - self._reported_at >= self.interval:
            log.warning(
                "%s still does not answer after %.0f s; %d request(s) refused in the last %.0f s",
                self.what,
                now - self.since,
                self._refused_recent,
                now - self._reported_at,
            )
            self._reported_at = now
            self._refused_recent = 0


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__
