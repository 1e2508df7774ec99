"""The one bounded memo: a dictionary of at most ``size`` entries that forgets the least
recently used.

Both halves remember pure functions of request values (a consent cookie's reading, a
rewritten page, a parsed user agent). Each memo must stay bounded whatever visitors send, and
dropping the entry used longest ago keeps the hot ones (a popular page, a frequent user
agent), where clearing the whole memo when full would drop them too. Used from the event
loop only; not thread-safe.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

__all__ = ["BoundedMemo"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedMemo(Generic[K, V]):
    """At most ``size`` entries; :meth:`put` past that drops the least recently used.

    :param size: how many entries to keep (at least 1).
    """

    __slots__ = ("_data", "size")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a memo keeps at least 1 entry, not {size}")
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The remembered value (now the most recently used), or None."""
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> V:
        """Remember ``value`` under ``key``, forgetting the oldest entry when full; return it."""
        data = self._data
        data[key] = value
        data.move_to_end(key)
        if len(data) > self.size:
            data.popitem(last=False)
        return value

    def items(self) -> Iterator[tuple[K, V]]:
        """The entries, least recently used first (for tests and monitoring)."""
        return iter(list(self._data.items()))

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._data))

    def __contains__(self, key: object) -> bool:
        return key in self._data
