"""Each package's public API is exactly what was meant (after httpx's test_exported_members)."""

from __future__ import annotations

import importlib

import pytest

EXPECTED = {
    "kruimel.base.store": {
        "Backpressure",
        "BatchWriter",
        "Migration",
        "Outage",
        "Store",
        "StoreConfigError",
        "StoreError",
        "StoreLockedError",
        "StoreUnavailableError",
        "ensure_ttl",
        "render",
    },
    "kruimel": {"__version__"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exports_match_the_intended_api(name: str) -> None:
    module = importlib.import_module(name)
    assert set(module.__all__) == EXPECTED[name]


@pytest.mark.parametrize("name", ["consent", "analytics", "kruimel", "kruimel.base.store"])
def test_exports_resolve_and_are_documented(name: str) -> None:
    module = importlib.import_module(name)
    assert len(module.__all__) == len(set(module.__all__)), "duplicates in __all__"
    for attr in module.__all__:
        value = getattr(module, attr)
        if callable(value) and not attr.startswith("__"):
            assert value.__doc__, f"{name}.{attr} has no docstring"


def test_config_reprs_hide_secrets() -> None:
    from analytics import AnalyticsConfig, SiteConfig
    from consent import ConsentConfig

    consent = ConsentConfig(
        controller="X", privacy_url="/p", policy_version="1", secret_keys=("SECRET-KEY-123456",)
    )
    analytics = AnalyticsConfig(sites=(SiteConfig(domain="x.nl"),), api_token="TOKEN-987654")
    assert "SECRET-KEY-123456" not in repr(consent)
    assert "TOKEN-987654" not in repr(analytics)
