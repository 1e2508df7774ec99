"""bench/banner_load.py end to end, one load per banner and rate, so the benchmark cannot rot:
its servers start, every peer installed from npm shows its banner in Chromium, and every
measurement is taken. No figure is judged here (no timing asserts); the benchmark reports them.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from browserkit import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BENCH = ROOT / "bench" / "banner_load.py"
BANNERS = ("kruimel", "kruimel-ssr", "vanilla-cookieconsent", "klaro", "tarteaucitron")


def test_banner_benchmark_runs_end_to_end(chromium: str, tmp_path: Path) -> None:
    del chromium  # the fixture fails the run, with the install command, without Chromium
    out = tmp_path / "medians.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--loads", "1", "--settle", "100", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    medians = json.loads(out.read_text(encoding="utf-8"))
    assert sorted(medians) == ["1", "4"]
    for rate in ("1", "4"):
        base = medians[rate]["baseline"]
        assert math.isnan(base["visible"]) and base["fcp"] > 0 and base["bytes"] > 0
        for name in BANNERS:
            row = medians[rate][name]
            assert row["visible"] > 0, (rate, name)  # the banner appeared (NaN compares False)
            assert row["bytes"] > base["bytes"] and row["fcp"] > 0, (rate, name)
            assert row["script"] > 0 and row["cls"] >= 0 and row["tbt"] >= 0, (rate, name)
    assert "vs kruimel" in done.stdout and "CPU throttling 4x" in done.stdout
