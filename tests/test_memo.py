"""kruimel.base.memo.BoundedMemo: bounded, and it forgets the entry used longest ago."""

from __future__ import annotations

import pytest

from kruimel.base.memo import BoundedMemo


def test_memo_never_holds_more_than_its_size() -> None:
    memo: BoundedMemo[int, str] = BoundedMemo(3)
    for n in range(10):
        assert memo.put(n, str(n)) == str(n)
    assert len(memo) == 3
    assert list(memo) == [7, 8, 9]


def test_memo_keeps_what_was_used_recently() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(2)
    memo.put("hot", 1)
    memo.put("cold", 2)
    assert memo.get("hot") == 1  # now the most recently used
    memo.put("new", 3)
    assert "hot" in memo and "cold" not in memo
    assert memo.get("cold") is None


def test_memo_needs_room_for_one_entry() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BoundedMemo(0)
