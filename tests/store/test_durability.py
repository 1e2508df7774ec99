"""SIGKILL ``kruimel serve`` twice under load: no acknowledged page view or consent decision is
lost or stored twice (``bench/durability.py`` runs the long version, SIGTERM too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.durakit import run


@pytest.mark.slow
def test_killed_server_loses_and_duplicates_nothing_acknowledged(tmp_path: Path) -> None:
    # flush_seconds longer than a cycle: each SIGKILL lands on acknowledged rows that are only
    # in the journal, so they reach the store through the replay at the next start or not at all
    outcome = run(
        tmp_path,
        cycles=2,
        seed=11,
        min_seconds=1.0,
        max_seconds=2.0,
        threads=2,
        flush_seconds=30,
        sigterm_share=0,
        final_seconds=0.5,
    )
    tally = outcome.tally
    assert outcome.kills == ["SIGKILL", "SIGKILL"]
    assert len(tally.events_acked) > 100 and len(tally.decisions_acked) > 5
    assert (outcome.events_lost, outcome.events_duplicated, outcome.events_foreign) == (0, 0, 0)
    assert (outcome.decisions_lost, outcome.decisions_duplicated) == (0, 0)
    assert outcome.decisions_unacked_stored <= tally.decisions_unanswered
    assert outcome.rollup_matches, (outcome.rollup_pageviews, len(outcome.events_stored))
    assert outcome.journal_left == []
    replays = (tmp_path / "server.log").read_text().count("replaying")
    assert replays >= 2, "the kills left no journal to replay: the test proved nothing"
