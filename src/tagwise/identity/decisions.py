"""People's decisions on records (merge, separate) and the history of who moved where."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tagwise.store.warehouse import Warehouse

__all__ = ["decide", "record_events"]


def decide(
    wh: Warehouse,
    kind: str,
    pairs: list[tuple[int, int]],
    *,
    reason: str,
    actor: str | None,
) -> list[int]:
    """Record people's decisions (``merge`` or ``separate``) on record pairs; returns ids.

    They take effect at the next resolution, which the caller runs.
    """
    if kind not in {"merge", "separate"}:
        raise ValueError(kind)
    start = int(wh.scalar("SELECT coalesce(max(decision_id), 0) FROM ident.decisions"))
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [(start + i + 1, kind, a, b, reason, actor, now) for i, (a, b) in enumerate(pairs)]
    if rows:
        wh.con.executemany("INSERT INTO ident.decisions VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return [r[0] for r in rows]


def record_events(wh: Warehouse, resolution_id: int) -> None:
    """One history row per record whose customer changed, with what linked or parted it."""
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE tw_why AS SELECT l.rid, "
        "string_agg(DISTINCT l.why, '; ' ORDER BY l.why) AS why FROM tw_links l "
        "JOIN tw_links o ON o.grp = l.grp AND o.rid <> l.rid "
        "WHERE l.rid IN (SELECT rid FROM tw_changed) GROUP BY l.rid"
    )
    kind = (
        "CASE WHEN c.new_cid = c.rid THEN 'split' WHEN c.old_cid = c.rid THEN 'merge' "
        "ELSE 'move' END"
    )
    parted = (
        "(SELECT 'separate decision #' || max(d.decision_id) FROM ident.decisions d "
        "WHERE d.kind = 'separate' AND c.rid IN (d.rid_a, d.rid_b))"
    )
    wh.execute(
        f"INSERT INTO ident.events SELECT {resolution_id}, now(), c.rid, c.customer_id, "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"c.old_cid, c.new_cid, {kind}, CASE WHEN c.new_cid = c.rid "
        f"THEN coalesce({parted}, 'no longer linked') ELSE coalesce(w.why, 'linked') END "
        "FROM tw_changed c LEFT JOIN tw_why w ON w.rid = c.rid"
    )
