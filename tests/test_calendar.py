"""The suite stays green as the calendar moves.

ClickHouse drops a row whose TTL has already passed when it writes the part, so a test that
writes a fixed calendar date into a table with a TTL goes red once the real date passes it (the
salts table's 48 hours did exactly that). Every clock that reaches the store is anchored to today
through ``tests/clock.py``; this test reruns the suites that depend on it with that anchor moved
far ahead, as if they ran 400 and 800 days from now.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clock import OFFSET_ENV

ROOT = Path(__file__).resolve().parent.parent
# A module is date-sensitive when it takes its "now" from tests/clock.py, directly or through
# the analytics ``clock`` fixture.
_USES_CLOCK = re.compile(r"tests\.clock|\bclock\b")


def date_sensitive_modules() -> list[str]:
    """Test modules (outside the browser suite) whose behaviour depends on the test calendar."""
    found = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if "browser" in path.parts or path.name == Path(__file__).name:
            continue
        if _USES_CLOCK.search(path.read_text(encoding="utf-8")):
            found.append(str(path.relative_to(ROOT)))
    return found


# Pure functions may take a fixed calendar date (a DST switch, a leap day, a known epoch second):
# nothing they compute is written to a table with a TTL.
PURE_MODULES = {
    "tests/analytics/test_period.py": "period arithmetic: DST switches and month ends",
    "tests/analytics/test_ingest.py": "build_row against a known epoch second, never stored",
    "tests/analytics/test_report.py": "text formatting of a summary dict",
    "tests/consent/test_state.py": "cookie state serialisation with a fixed zone offset",
    "tests/store/test_journal.py": "journal line encoding, never stored",
}
_LITERAL_DATE = re.compile(r"\b(?:date|datetime)\(\s*\d{4}\s*,")


def test_no_test_that_can_reach_the_store_writes_a_literal_calendar_date() -> None:
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        name = str(path.relative_to(ROOT))
        if name in PURE_MODULES:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _LITERAL_DATE.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == [], "anchor these to tests/clock.py:\n" + "\n".join(offenders)


def test_the_date_sensitive_modules_are_found() -> None:
    modules = date_sensitive_modules()
    # The suites that once pinned a calendar date and went red when it passed.
    for expected in (
        "tests/analytics/test_visitor.py",
        "tests/analytics/test_collector.py",
        "tests/analytics/test_summary.py",
        "tests/consent/test_records.py",
    ):
        assert expected in modules


@pytest.mark.slow
@pytest.mark.parametrize("days", [400, 800])
def test_date_sensitive_suites_pass_far_in_the_future(days: int) -> None:
    env = {**os.environ, OFFSET_ENV: str(days)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         *date_sensitive_modules()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    tail = "\n".join(result.stdout.splitlines()[-25:])
    assert result.returncode == 0, f"{days} days ahead:\n{tail}\n{result.stderr[-2000:]}"
    assert re.search(r"\d+ passed", tail), tail
