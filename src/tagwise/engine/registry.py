"""The registry of compute engines: the one list of engine names.

Each entry names the module of its execution adapter (which defines
``open_engine(settings, wh, root) -> Engine``) and the package extra its driver needs.
Nothing here imports an adapter: :func:`open_engine` imports the chosen one when a run
needs it, so ``import tagwise`` needs neither pyspark nor psycopg, and the settings
(``[engine] name``, ``[identity.matching] engine``) take their choices from :data:`ENGINES`
without importing any engine.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from tagwise.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    from tagwise.engine.base import Engine
    from tagwise.settings import Settings
    from tagwise.store.warehouse import Warehouse

__all__ = ["ENGINES", "MATCHING_ENGINES", "EngineEntry", "open_engine"]


@dataclass(frozen=True, slots=True)
class EngineEntry:
    """One compute engine."""

    module: str
    """The adapter's module; it defines ``open_engine(settings, wh, root)``."""
    extra: str | None
    """The package extra that installs its driver (``pip install 'tagwise[<extra>]'``)."""
    runs_matching: bool
    """Whether identity resolution's record matching (splink) can run there."""


ENGINES: dict[str, EngineEntry] = {
    "duckdb": EngineEntry("tagwise.engine.duckdb", extra=None, runs_matching=True),
    "postgres": EngineEntry("tagwise.engine.postgres", extra="postgres", runs_matching=False),
    "spark": EngineEntry("tagwise.engine.spark", extra="spark", runs_matching=True),
}
"""The engines a workspace can run on (``[engine] name`` in tagwise.toml, ``--engine``)."""

MATCHING_ENGINES = tuple(name for name, entry in ENGINES.items() if entry.runs_matching)
"""The engines ``[identity.matching] engine`` can name (besides ``auto``)."""


class _Opener(Protocol):
    def __call__(self, settings: Settings, wh: Warehouse, root: Path) -> Engine: ...


def open_engine(name: str, settings: Settings, wh: Warehouse, root: Path) -> Engine:
    """The engine called ``name`` for a workspace.

    Raises:
        ConfigError: an unknown engine, or one whose driver or settings are missing.
    """
    entry = ENGINES.get(name)
    if entry is None:
        raise ConfigError(
            f"unknown engine `{name}`",
            hint=f"choose one of {', '.join(ENGINES)} "
            "(`[engine] name` in tagwise.toml or --engine)",
        )
    module = importlib.import_module(entry.module)
    opener = cast("_Opener", module.open_engine)
    return opener(settings, wh, root)
