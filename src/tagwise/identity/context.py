"""What every step of one resolution shares: the warehouse, the specs and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tagwise.settings import IdentitySettings
    from tagwise.spec.sources import SourceSpec, SourcesSpec
    from tagwise.store.warehouse import Warehouse

__all__ = ["MATCHES", "Context"]

MATCHES = "stage.matches"
"""The probabilistic pairs of this resolution (scratch, copied to ``ident.matches``)."""


@dataclass(frozen=True, slots=True)
class Context:
    """One resolution's inputs."""

    wh: Warehouse
    sources: SourcesSpec
    master: SourceSpec
    key: str
    settings: IdentitySettings
    root: Path
    """The workspace folder (``[engine] spark_work`` is relative to it)."""

    @property
    def name_column(self) -> str | None:
        """The master's name column when names decide who shares an identifier (``None``:
        no ``match_on`` name, or ``identity.name_distance`` is 0)."""
        name = (self.master.match_on or {}).get("name")
        return name if self.settings.name_distance else None
