from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kruimel.base.store import StoreError
from kruimel.base.store.journal import Journal, Segment, encode_row


def test_journal_row_is_a_json_compact_each_row_line() -> None:
    row = [
        "example.nl",
        datetime(2026, 11, 20, 12, 30, 5, tzinfo=UTC),
        date(2026, 11, 20),
        2**64 - 1,
        1.5,
        {"plan": "pro", "$d": "2026-01-01"},
        ("a", "b"),
        "café ☕\n",
        None,
        True,
    ]
    line = encode_row(row)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == [
        "example.nl",
        "2026-11-20T12:30:05+00:00",
        "2026-11-20",
        2**64 - 1,
        1.5,
        {"plan": "pro", "$d": "2026-01-01"},
        ["a", "b"],
        "café ☕\n",
        None,
        True,
    ]


@pytest.mark.parametrize("value", [object(), b"raw", float("nan"), "\ud800"])
def test_journal_row_rejects_values_without_a_json_form(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        encode_row([value])


def test_journal_segment_rotation_and_removal(tmp_path: Path) -> None:
    journal = Journal(tmp_path, "t")
    journal.open()
    journal.write([encode_row([1]), encode_row([2])])
    first = journal.seal()
    assert first is not None
    journal.write([encode_row([3])])
    second = journal.seal()
    assert second is not None and first[0] < second[0]
    assert journal.seal() is None
    segments = journal.recover()
    assert [s.id for s in segments] == [first[0], second[0]]
    assert [journal.load(s, 1) for s in segments] == [(b"[1]\n[2]\n", 2), (b"[3]\n", 1)]
    journal.remove(segments[0])
    assert [s.id for s in journal.recover()] == [second[0]]
    journal.close()


def test_journal_torn_last_line_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "t-00000000000000000001-abcd.jsonl"
    path.write_bytes(encode_row(["a", 1]) + encode_row(["b", 2]) + b'["c", 3')
    journal = Journal(tmp_path, "t")
    journal.open()
    (segment,) = journal.recover()
    with caplog.at_level(logging.WARNING):
        data = journal.load(segment, 2)
    assert data == (b'["a",1]\n["b",2]\n', 2)
    assert "torn last line 3" in caplog.text
    journal.close()


def test_journal_corrupt_middle_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "t-00000000000000000001-abcd.jsonl"
    path.write_bytes(
        encode_row(["a"])
        + b"\xff\xfe garbage\n"
        + encode_row(["a", "b"])
        + b"{}\n"
        + encode_row(["b"])
    )
    journal = Journal(tmp_path, "t")
    assert journal.load(Segment("x", None, 0, 0, path), 1) == (b'["a"]\n["b"]\n', 2)


def test_journal_empty_leftover_segment_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "t-00000000000000000001-abcd.jsonl").write_bytes(b"")
    journal = Journal(tmp_path, "t")
    assert journal.recover() == []
    assert not list(tmp_path.glob("*.jsonl"))


def test_journal_is_locked_to_one_writer(tmp_path: Path) -> None:
    first = Journal(tmp_path, "t")
    first.open()
    with pytest.raises(StoreError, match="in use by another writer"):
        Journal(tmp_path, "t").open()
    other = Journal(tmp_path, "other")  # another name in the same directory is fine
    other.open()
    other.close()
    first.close()
    again = Journal(tmp_path, "t")
    again.open()
    again.close()


def test_journal_failed_append_leaves_no_partial_line(tmp_path: Path) -> None:
    journal = Journal(tmp_path, "t")
    journal.open()
    journal.write([encode_row([1])])
    assert journal._active is not None
    real = journal._active

    class Full:
        """The active file, with a disk that fills up in the middle of the next write."""

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def write(self, data: bytes) -> int:
            real.write(bytes(data[:3]))
            raise OSError(28, "No space left on device")

    journal._active = Full()  # type: ignore[assignment]
    with pytest.raises(StoreError, match="No space left"):
        journal.write([encode_row([2])])
    journal._active = real
    journal.write([encode_row([3])])
    sealed = journal.seal()
    assert sealed is not None
    assert sealed[1].read_bytes() == b"[1]\n[3]\n"
    journal.close()


def test_journal_files_are_private_to_the_process_user(tmp_path: Path) -> None:
    import stat

    journal = Journal(tmp_path / "j", "t")
    journal.open()
    journal.write([encode_row(["consent-id"])])
    journal.seal()
    assert stat.S_IMODE((tmp_path / "j").stat().st_mode) == 0o700
    segments = [p for p in (tmp_path / "j").iterdir() if not p.name.endswith(".lock")]
    assert segments and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in segments)
    journal.close()
