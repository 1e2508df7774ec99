"""Size budgets of the browser assets (gzip -9) and the constructs they must never use."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

ASSETS = Path(__file__).parent.parent / "static" / "banner"
SCRIPTS = ("banner.js", "tracker.js", "kruimel.js", "consent-mode.js")

# Budgets from issue 4: vanilla-cookieconsent loads 15.5 kB, Plausible's legacy script 729 B.
BANNER_BUDGET = 5000
TRACKER_BUDGET = 1000

FORBIDDEN = {
    "eval": re.compile(r"\beval\s*\("),
    "new Function": re.compile(r"\bnew\s+Function\b"),
    "innerHTML": re.compile(r"\b(inner|outer)HTML\b|insertAdjacentHTML"),
    "document.write": re.compile(r"document\.write"),
    ".style": re.compile(r"\.style\b|setAttribute\(\s*['\"]style"),
    "string timer": re.compile(r"set(Timeout|Interval)\(\s*['\"]"),
}


def _code(source: str) -> str:
    """The script without its comments (which may name what the code avoids)."""
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    return re.sub(r"(?m)^\s*//.*$", "", source)


def gzipped(name: str) -> int:
    return len(gzip.compress((ASSETS / name).read_bytes(), compresslevel=9, mtime=0))


def test_budget_banner_js_and_css_under_5000_bytes() -> None:
    total = gzipped("banner.js") + gzipped("banner.css")
    assert total < BANNER_BUDGET, f"banner.js + banner.css are {total} B gzip -9"


def test_budget_tracker_under_1000_bytes() -> None:
    size = gzipped("tracker.js")
    assert size < TRACKER_BUDGET, f"tracker.js is {size} B gzip -9"


@pytest.mark.parametrize("name", SCRIPTS)
@pytest.mark.parametrize("construct", sorted(FORBIDDEN))
def test_scripts_never_use_unsafe_constructs(name: str, construct: str) -> None:
    source = _code((ASSETS / name).read_text(encoding="utf-8"))
    assert not FORBIDDEN[construct].search(source), f"{name} uses {construct}"
