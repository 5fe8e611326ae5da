"""The registry of warehouse layouts: each store's tables and their version, in one place.

A *part* of the warehouse (the core schemas, the tag store, identity resolution) declares
its layout as an ordered list of revisions, like the catalog's Alembic revisions: revision
``n`` brings the part from version ``n - 1`` to ``n``. :func:`upgrade` reads every part's
stamp from ``meta.layout`` in one query and applies the missing revisions of each part in
order, each in its own transaction together with the new stamp, so a process that stops
mid-upgrade leaves a part at its previous version and the next open goes on from there.
A warehouse whose stamps are all current costs one query to open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tagwise.errors import ConfigError
from tagwise.store.warehouse import Warehouse

__all__ = ["Part", "Revision", "upgrade", "versions"]

_STAMPS = "CREATE TABLE IF NOT EXISTS meta.layout (part VARCHAR PRIMARY KEY, version INTEGER)"


@dataclass(frozen=True, slots=True)
class Revision:
    """One step of a part's layout: brings it from ``version - 1`` to ``version``."""

    version: int
    apply: Callable[[Warehouse], None]
    """Creates or changes the part's tables (runs inside the revision's transaction)."""
    note: str = ""
    """What the revision changed (for reviewers and ``tagwise doctor``-style listings)."""


@dataclass(frozen=True, slots=True)
class Part:
    """A store's tables in the warehouse and the revisions that built them."""

    name: str
    revisions: Sequence[Revision]
    detect: Callable[[Warehouse], int | None] | None = None
    """For a warehouse written before stamps existed: the version its tables have, or
    None when the part's tables are absent."""
    finish: Callable[[Warehouse], None] | None = None
    """Runs after any revision of the part (e.g. re-creating views over its tables)."""

    @property
    def version(self) -> int:
        """The newest revision's version."""
        return self.revisions[-1].version if self.revisions else 0


def versions(wh: Warehouse) -> dict[str, int]:
    """Every part's stamped version."""
    wh.execute(_STAMPS)
    return {str(p): int(v) for p, v in wh.rows("SELECT part, version FROM meta.layout")}


def upgrade(wh: Warehouse, parts: Sequence[Part]) -> list[tuple[str, int]]:
    """Bring every part to its newest revision.

    Returns:
        (part, version) of each revision applied, in order (empty when all were current).

    Raises:
        ConfigError: a part is newer than this Tagwise knows (written by a later release).
    """
    found = versions(wh)
    applied: list[tuple[str, int]] = []
    for part in parts:
        have = found.get(part.name)
        if have is None and part.detect is not None:
            have = part.detect(wh)
        have = have or 0
        if have > part.version:
            raise ConfigError(
                f"the warehouse's `{part.name}` layout is version {have}, newer than this "
                f"Tagwise knows ({part.version})",
                hint="upgrade Tagwise (pip install -U tagwise) to open this workspace",
            )
        for revision in part.revisions:
            if revision.version <= have:
                continue
            with wh.transaction():
                revision.apply(wh)
                if part.finish is not None:
                    part.finish(wh)
                wh.execute(
                    "INSERT OR REPLACE INTO meta.layout VALUES (?, ?)",
                    [part.name, revision.version],
                )
            applied.append((part.name, revision.version))
    return applied
