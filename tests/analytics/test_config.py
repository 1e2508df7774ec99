from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analytics import AnalyticsConfig, AnalyticsConfigError, SiteConfig


def test_config_from_mapping_defaults() -> None:
    config = AnalyticsConfig.from_mapping({"sites": [{"domain": "Example.NL"}]})
    site = config.sites[0]
    assert site.domain == "example.nl"
    assert site.origins == ("https://example.nl", "https://www.example.nl")
    assert site.ip_mask_bytes == 2 and site.visitor_hash == "full_ip" and site.honor_dnt
    assert config.flush_rows == 5000 and config.flush_seconds == 2.0
    assert config.retention_months == 25
    assert config.site("www.example.nl") is site
    assert config.site("example.nl") is site
    assert config.site("other.nl") is None


def test_config_from_mapping_full() -> None:
    config = AnalyticsConfig.from_mapping(
        {
            "sites": [
                {
                    "domain": "example.nl",
                    "timezone": "UTC",
                    "origins": ["https://shop.example.nl"],
                    "ip_mask_bytes": 3,
                    "visitor_hash": "masked_ip",
                    "honor_dnt": False,
                    "hash_routing": True,
                    "allow_localhost": True,
                }
            ],
            "api_token": "t",
            "trusted_proxies": ["10.0.0.0/8", "::1"],
            "flush_rows": 100,
            "flush_seconds": 0.5,
            "journal_dir": "/tmp/j",
            "max_journal_bytes": 2**20,
            "retention_months": 13,
        }
    )
    site = config.sites[0]
    assert site.origins == ("https://shop.example.nl",)
    assert site.allows_origin("https://shop.example.nl")
    assert not site.allows_origin("https://example.nl")
    assert site.allows_origin("http://localhost:5173") and site.allows_origin("http://127.0.0.1")
    assert config.journal_dir == Path("/tmp/j") and config.trusted_proxies == ("10.0.0.0/8", "::1")


def test_config_localhost_origins_only_when_configured() -> None:
    site = SiteConfig("example.nl")
    assert not site.allows_origin("http://localhost:8000")
    assert site.allows_origin("HTTPS://WWW.EXAMPLE.NL")


def test_config_api_token_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRUIMEL_API_TOKEN", "from-env")
    assert AnalyticsConfig(sites=(SiteConfig("a.nl"),)).api_token == "from-env"
    assert AnalyticsConfig(sites=(SiteConfig("a.nl"),), api_token="given").api_token == "given"
    monkeypatch.delenv("KRUIMEL_API_TOKEN")
    assert AnalyticsConfig(sites=(SiteConfig("a.nl"),)).api_token is None


BAD: list[tuple[dict[str, Any], str]] = [
    ({}, "sites"),
    ({"sites": []}, "sites"),
    ({"sites": "example.nl"}, "sites"),
    ({"sites": [{}]}, r"sites\[0\]"),
    ({"sites": [{"domain": "example.nl"}, {"domain": "example.nl"}]}, "sites"),
    ({"sites": [{"domain": "not a domain"}]}, "sites.domain"),
    ({"sites": [{"domain": "a.nl", "timezone": "Mars/Olympus"}]}, r"sites\[a.nl\].timezone"),
    ({"sites": [{"domain": "a.nl", "ip_mask_bytes": 0}]}, "ip_mask_bytes"),
    ({"sites": [{"domain": "a.nl", "ip_mask_bytes": 4}]}, "ip_mask_bytes"),
    ({"sites": [{"domain": "a.nl", "ip_mask_bytes": "2"}]}, "ip_mask_bytes"),
    ({"sites": [{"domain": "a.nl", "visitor_hash": "ip"}]}, "visitor_hash"),
    ({"sites": [{"domain": "a.nl", "origins": "https://a.nl"}]}, "origins"),
    ({"sites": [{"domain": "a.nl", "origins": ["a.nl/path"]}]}, "origins"),
    ({"sites": [{"domain": "a.nl", "honor_dnt": "yes"}]}, "honor_dnt"),
    ({"sites": [{"domain": "a.nl", "colour": "red"}]}, r"sites\[0\].colour"),
    ({"sites": [{"domain": "a.nl"}], "trusted_proxies": ["10.0.0.0/33"]}, "trusted_proxies"),
    ({"sites": [{"domain": "a.nl"}], "trusted_proxies": "10.0.0.1"}, "trusted_proxies"),
    ({"sites": [{"domain": "a.nl"}], "flush_rows": 0}, "flush_rows"),
    ({"sites": [{"domain": "a.nl"}], "flush_seconds": 0}, "flush_seconds"),
    ({"sites": [{"domain": "a.nl"}], "max_journal_bytes": 10}, "max_journal_bytes"),
    ({"sites": [{"domain": "a.nl"}], "retention_months": 26}, "retention_months"),
    ({"sites": [{"domain": "a.nl"}], "api_token": 5}, "api_token"),
    ({"sites": [{"domain": "a.nl"}], "unknown": 1}, "unknown"),
]


@pytest.mark.parametrize(("data", "setting"), BAD)
def test_config_invalid_names_the_setting(data: dict[str, Any], setting: str) -> None:
    with pytest.raises(
        AnalyticsConfigError, match=rf"^kruimel.toml \[analytics\]: (sites\[[^\]]+\]\.)?{setting}"
    ):
        AnalyticsConfig.from_mapping(data)


def test_config_error_uses_the_given_source() -> None:
    with pytest.raises(AnalyticsConfigError, match=r"^site.toml \[analytics\]: sites"):
        AnalyticsConfig.from_mapping({}, source="site.toml [analytics]")
