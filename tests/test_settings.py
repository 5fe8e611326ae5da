"""Settings precedence: defaults < tagwise.toml < TAGWISE_* environment < arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagwise.errors import ConfigError
from tagwise.settings import Settings


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = Settings.load(tmp_path)
    assert settings.catalog.url.startswith("sqlite:///")
    assert settings.ingest.country_code == "86"


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tagwise.toml").write_text(
        'name = "toml"\n[warehouse]\nthreads = 2\nmemory_limit = "1GB"\n', encoding="utf-8"
    )
    assert Settings.load(tmp_path).warehouse.threads == 2
    monkeypatch.setenv("TAGWISE_WAREHOUSE__THREADS", "3")
    settings = Settings.load(tmp_path)
    assert (settings.name, settings.warehouse.threads, settings.warehouse.memory_limit) == (
        "toml",
        3,
        "1GB",
    )
    assert Settings.load(tmp_path, name="arg").name == "arg"


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ("[warehouse]\nthreads = 0\n", "warehouse.threads", None),
        ('[catalog]\nurl = "mysql://x"\n', "catalog.url", None),
        ('[ingest]\ncountry_code = "+86"\n', "ingest.country_code", None),
        ("[warehouse\n", "not valid TOML", 1),
        ("[warehose]\n", "warehose", None),
    ],
)
def test_invalid_settings_are_one_clear_error(tmp_path: Path, text, fragment, line) -> None:
    (tmp_path / "tagwise.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Settings.load(tmp_path)
    assert fragment in info.value.message
    assert info.value.location.path == tmp_path / "tagwise.toml"
    assert info.value.location.line == line
