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
    def name_columns(self) -> tuple[str, ...]:
        """The master's columns of its first ``match_on`` name field (empty: none)."""
        from tagwise.spec.sources import MatchKind  # noqa: PLC0415 (types only above)

        found = next((f for f in self.master.match_fields if f.kind is MatchKind.NAME), None)
        return found.columns if found is not None else ()

    @property
    def name_column(self) -> str | None:
        """The name as a SQL expression over the master's row ``r`` when names decide
        who shares an identifier (``None``: no ``match_on`` name, or
        ``identity.name_distance`` is 0)."""
        return self.name_sql() if self.settings.name_distance else None

    def name_sql(self) -> str | None:
        """The name of a master row ``r`` without spaces, lower case, its two parts (given
        name, surname) in a fixed order so that swapped parts agree; None: no name field."""
        from tagwise.store.sql import ident  # noqa: PLC0415

        parts = [
            f"nullif(lower(replace(CAST(r.{ident(c)} AS VARCHAR), ' ', '')), '')"
            for c in self.name_columns
        ]
        if not parts:
            return None
        if len(parts) == 2:
            a, b = parts
            return (
                f"CASE WHEN {a} IS NULL THEN {b} WHEN {b} IS NULL THEN {a} "
                f"WHEN {a} <= {b} THEN {a} || {b} ELSE {b} || {a} END"
            )
        return parts[0] if len(parts) == 1 else f"concat_ws('', {', '.join(parts)})"
