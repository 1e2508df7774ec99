"""A malformed URL in the configuration fails at start with the setting named, never with a
bare ValueError from ``urlsplit`` (which refuses hosts such as ``http://[``) or, worse, at
every page's render."""

from __future__ import annotations

import pytest

from consent import ConsentConfig
from consent.banner import _safe_url
from consent.errors import ConsentConfigError
from kruimel.base.store import Store, StoreConfigError

KEY = "config-test-secret-0123456789abcdef"


def _config(**overrides: object) -> ConsentConfig:
    options: dict[str, object] = {
        "controller": "Voorbeeld B.V.",
        "policy_version": "1",
        "privacy_url": "/privacy",
        "secret_keys": (KEY,),
    }
    return ConsentConfig(**(options | overrides))  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["http://[", "https://[::1/privacy", "//["])
def test_a_malformed_privacy_url_names_the_setting(url: str) -> None:
    with pytest.raises(ConsentConfigError, match="privacy_url"):
        _config(privacy_url=url)


@pytest.mark.parametrize("origin", ["http://[", "https://[::1", "https://[zz]"])
def test_a_malformed_cors_origin_names_the_setting(origin: str) -> None:
    with pytest.raises(ConsentConfigError, match="cors_origins"):
        _config(cors_origins=(origin,))


@pytest.mark.parametrize("url", ["http://[", "https://user:secret@[::1/db"])
def test_a_malformed_store_url_is_a_store_config_error_without_the_password(url: str) -> None:
    with pytest.raises(StoreConfigError, match="malformed") as caught:
        Store.connect(url)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("url", ["//[", "http://[", "javascript:alert(1)"])
def test_the_banner_leaves_out_a_link_it_cannot_parse(url: str) -> None:
    assert _safe_url(url) is False
