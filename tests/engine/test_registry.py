"""The engine registry is the one list of engines, and opening one imports only it."""

from __future__ import annotations

import importlib
import subprocess
import sys
import typing

import pytest

from tagwise.engine.base import Engine
from tagwise.engine.registry import ENGINES, MATCHING_ENGINES, open_engine
from tagwise.errors import ConfigError
from tagwise.settings import EngineSettings, MatchingSettings, Settings
from tagwise.store.warehouse import Warehouse


def test_the_settings_accept_exactly_the_registered_engines() -> None:
    name = EngineSettings.model_fields["name"].annotation
    assert set(typing.get_args(name)) == set(ENGINES)
    matching = MatchingSettings.model_fields["engine"].annotation
    assert set(typing.get_args(matching)) == {"auto", "duckdb", "spark"}
    assert set(MATCHING_ENGINES) == {"duckdb", "spark"}  # splink runs on both, not postgres
    with pytest.raises(ValueError, match="duckdb"):
        Settings.model_validate({"engine": {"name": "oracle"}})


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_every_adapter_module_has_an_opener(name: str) -> None:
    module = importlib.import_module(ENGINES[name].module)
    assert callable(module.open_engine)
    returned = getattr(module, module.open_engine.__annotations__["return"])
    assert issubclass(returned, Engine) and returned.name == name


def test_duckdb_opens_on_the_warehouse(tmp_path) -> None:
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    try:
        engine = open_engine("duckdb", Settings(), wh, tmp_path)
        assert engine.name == "duckdb"
        assert engine.wh is wh  # type: ignore[attr-defined]
    finally:
        wh.close()


def test_an_unknown_engine_names_the_registered_ones(tmp_path) -> None:
    with pytest.raises(ConfigError) as caught:
        open_engine("oracle", Settings(), None, tmp_path)  # type: ignore[arg-type]
    assert caught.value.hint is not None
    assert all(name in caught.value.hint for name in ENGINES)


def test_import_tagwise_loads_no_optional_driver() -> None:
    code = (
        "import sys, tagwise, tagwise.settings, tagwise.engine.registry; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'psycopg', "
        "'tagwise') and (m.startswith(('pyspark', 'psycopg')) or m.endswith(('.spark', "
        "'.postgres')))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
