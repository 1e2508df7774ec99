"""Fixtures for the consent tests: a site configuration, a real consent log on chDB, and an
HTTP client talking to :class:`ConsentEndpoints` over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from consent.config import ConsentConfig
from consent.endpoints import ConsentEndpoints
from consent.presets import preset
from consent.records import ConsentLog
from kruimel.base.store import Store

SECRET = "test-secret-key-0123456789abcdef"
SITE = "https://www.example.nl"
STATIC_SITE = "https://static.example.org"


def _make_config(**overrides: Any) -> ConsentConfig:
    """The test site's consent configuration, with ``overrides``."""
    options: dict[str, Any] = {
        "controller": "Voorbeeld B.V.",
        "privacy_url": "/privacy",
        "policy_version": "2026-11",
        "services": (
            preset("pardot", account_id="123456"),
            preset("ga4", measurement_id="G-TEST1"),
            preset("youtube"),
            preset("matomo", site_id="1"),
        ),
        "secret_keys": (SECRET,),
        "cors_origins": (STATIC_SITE,),
    }
    options.update(overrides)
    return ConsentConfig(**options)


@pytest.fixture
def make_config() -> Callable[..., ConsentConfig]:
    """Build the test site's configuration with keyword overrides."""
    return _make_config


@pytest.fixture
def config() -> ConsentConfig:
    return _make_config()


@pytest.fixture
async def consent_log(store: Store) -> ConsentLog:
    log = ConsentLog(store, site="www.example.nl")
    await log.start()
    return log


@pytest.fixture
async def client(
    config: ConsentConfig, consent_log: ConsentLog
) -> AsyncIterator[httpx.AsyncClient]:
    app = ConsentEndpoints(config, consent_log)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=SITE) as c:
        yield c


@pytest.fixture
def log_rows(store: Store) -> Callable[[], int]:
    """How many proof-of-consent records the store holds."""
    return lambda: int(store.query("SELECT count() FROM consent_log")[0][0])
