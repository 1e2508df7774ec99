from __future__ import annotations

from pathlib import Path

import pytest

from kruimel.settings import SettingsError, load_settings, settings_from_mapping

ROOT = Path(__file__).resolve().parents[2]


def test_settings_example_file_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRUIMEL_SECRET_KEY", "a-long-enough-secret-key")
    settings = load_settings(ROOT / "examples" / "kruimel.toml")
    assert settings.store_url == f"chdb://{ROOT / 'examples' / 'kruimel-data' / 'store'}"
    assert settings.consent is not None and settings.consent.controller == "Voorbeeld B.V."
    assert {s.name for s in settings.consent.services} >= {"pardot", "youtube", "ga4"}
    assert settings.analytics is not None
    assert [s.domain for s in settings.analytics.sites] == ["example.nl"]


def test_settings_relative_chdb_path_is_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "k.toml").write_text('[store]\nurl = "chdb://data/store"\n')
    assert load_settings(tmp_path / "k.toml").store_url == f"chdb://{tmp_path / 'data' / 'store'}"


def test_settings_server_url_is_kept() -> None:
    url = "https://ch.internal:8443/kruimel"  # a password would go in KRUIMEL_STORE_URL
    settings = settings_from_mapping({"store": {"url": url, "cluster": "web"}}, environ={})
    assert (settings.store_url, settings.cluster) == (url, "web")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[stor]\nurl = 'x'\n", "unknown table(s) stor"),
        ("[store]\nulr = 'chdb://x'\n", "[store]: unknown setting(s) ulr"),
        ("[store]\nurl = 3\n", "[store] url: must be a non-empty string"),
        ("[store\n", "not a readable TOML file"),
        ("[consent]\ncontroller = 'X'\n", "[consent]"),
        ("[analytics]\nsites = []\n", "[analytics]"),
        # Wrong types and values caught by validation, never a traceback.
        (
            "[consent]\ncontroller = 'X'\nprivacy_url = '/p'\npolicy_version = '1'\n"
            "cors_origins = ['https://x:99999']\n",
            "port is not a number",
        ),
        ("[[analytics.sites]]\ndomain = 'x.nl'\ntimezone = 5\n", "timezone"),
        ("[analytics]\njournal_dir = 5\n[[analytics.sites]]\ndomain = 'x.nl'\n", "journal_dir"),
        (
            "[analytics]\nflush_seconds = true\n[[analytics.sites]]\ndomain = 'x.nl'\n",
            "flush_seconds",
        ),
    ],
)
def test_settings_errors_name_the_setting(
    tmp_path: Path, text: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KRUIMEL_SECRET_KEY", "a-long-enough-secret-key")
    path = tmp_path / "kruimel.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as e:
        load_settings(path)
    assert message in str(e.value)


def test_settings_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no such file.*examples/kruimel.toml"):
        load_settings(tmp_path / "nope.toml")
