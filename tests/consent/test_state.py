"""ConsentState: default deny, required categories, decisions, the GET /_consent body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from consent.config import ConsentConfig
from consent.state import ConsentState, new_consent_id


def test_state_undecided_allows_only_required(config: ConsentConfig) -> None:
    state = ConsentState.undecided(config)
    assert not state.decided and state.decided_at is None and state.expires_at is None
    assert state.allowed == ("necessary",)
    assert not any(state.allows(c) for c in config.optional_categories)
    assert not state.allows("no-such-category")


def test_state_undecided_ids_are_random(config: ConsentConfig) -> None:
    ids = {ConsentState.undecided(config).id for _ in range(50)}
    assert len(ids) == 50
    assert len(new_consent_id()) >= 22


def test_state_required_always_allowed_even_if_denied(config: ConsentConfig) -> None:
    state = ConsentState.decide(config, {"necessary": False, "analytics": True})
    assert state.allows("necessary") and state.categories["necessary"] is True
    assert state.allowed == ("necessary", "analytics")


def test_state_decide_times_and_unknown_names(config: ConsentConfig) -> None:
    at = datetime(2026, 3, 1, 13, 30, 15, 999, tzinfo=timezone(timedelta(hours=1)))
    state = ConsentState.decide(config, {"marketing": True, "ads": True}, id="abc", now=at)
    assert state.id == "abc" and state.decided
    assert state.decided_at == datetime(2026, 3, 1, 12, 30, 15, tzinfo=UTC)
    assert state.expires_at == state.decided_at + timedelta(days=182)
    assert "ads" not in state.categories


def test_state_to_json_is_the_public_body(config: ConsentConfig) -> None:
    at = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    body = ConsentState.decide(config, {"analytics": True}, id="i1", gpc=True, now=at).to_json()
    assert body == {
        "id": "i1",
        "decided": True,
        "categories": {
            "necessary": True,
            "preferences": False,
            "analytics": True,
            "marketing": False,
        },
        "policy_version": "2026-11",
        "decided_at": "2026-11-21T09:00:00Z",
        "expires_at": "2027-05-22T09:00:00Z",
        "gpc": True,
    }
    undecided = ConsentState.undecided(config, gpc=True).to_json()
    assert undecided["decided_at"] is None and undecided["gpc"] is True
