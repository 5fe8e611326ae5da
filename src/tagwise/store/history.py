"""Tag values in the warehouse: current values, their history and the change log.

Tables (schema ``tags``):

* ``current``  one row per customer, tag and value (a multi tag has one row per value):
               value, score, source, rule version, run, valid_from, locked, shadow.
* ``history``  every value a customer ever had, as an interval ``[valid_from, valid_to)``
               in business time (the as-of date of the run that set or cleared it); an open
               interval has ``valid_to`` null. "Tags on date D" is one range predicate.
* ``changes``  an append-only log: run, customer, tag, old → new, source, rule version.

:func:`swap_values` diffs a run's new values against ``current`` and applies the diff to
all three tables in one transaction, together with the run's row in ``meta.runs`` (so a
run the catalog never heard of can be reconciled). Locked values (manual decisions) are
never overwritten: the computed value is kept beside them as the *shadow*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from tagwise.store.sql import lit
from tagwise.store.warehouse import Warehouse

__all__ = ["RunTag", "SwapResult", "ensure_tables", "swap_values"]

_DDL = """
CREATE SCHEMA IF NOT EXISTS tags;
CREATE SCHEMA IF NOT EXISTS snap;
CREATE TABLE IF NOT EXISTS tags.current (
    cid INTEGER NOT NULL, tag VARCHAR NOT NULL, value VARCHAR, score DOUBLE,
    source VARCHAR NOT NULL, confidence DOUBLE, version INTEGER, run_id BIGINT,
    valid_from TIMESTAMP NOT NULL, expires_at TIMESTAMP, locked BOOLEAN NOT NULL DEFAULT FALSE,
    shadow_value VARCHAR, shadow_score DOUBLE
);
CREATE TABLE IF NOT EXISTS tags.history (
    cid INTEGER NOT NULL, tag VARCHAR NOT NULL, value VARCHAR, score DOUBLE,
    source VARCHAR NOT NULL, version INTEGER, run_id BIGINT,
    valid_from TIMESTAMP NOT NULL, valid_to TIMESTAMP
);
CREATE TABLE IF NOT EXISTS tags.changes (
    run_id BIGINT, cid INTEGER NOT NULL, tag VARCHAR NOT NULL,
    old_value VARCHAR, new_value VARCHAR, old_score DOUBLE, new_score DOUBLE,
    source VARCHAR NOT NULL, version INTEGER, as_of DATE NOT NULL, changed_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS meta.runs (
    run_id BIGINT PRIMARY KEY, as_of DATE NOT NULL, committed_at TIMESTAMP NOT NULL,
    tags VARCHAR[] NOT NULL, tag_values BIGINT NOT NULL, changes BIGINT NOT NULL
);
"""

_CHANGES = "tw_changes"
_SHADOWS = "tw_shadows"
_RUN_TAGS = "tw_run_tags"


@dataclass(frozen=True, slots=True)
class RunTag:
    """A tag computed by a run: its code, kind and the definition version used."""

    code: str
    kind: str
    version: int


@dataclass(slots=True)
class SwapResult:
    """What a swap changed."""

    tag_values: int = 0
    changes: int = 0
    per_tag: dict[str, tuple[int, int]] = field(default_factory=dict)
    """tag → (values now current, changes in this run)."""


def ensure_tables(wh: Warehouse) -> None:
    """Create the tag tables if they do not exist."""
    wh.execute(_DDL)


def swap_values(
    wh: Warehouse,
    *,
    new: str,
    tags: Sequence[RunTag],
    run_id: int,
    as_of: date,
    source: str = "rule",
    retire: Sequence[str] = (),
) -> SwapResult:
    """Make ``new`` (cid, tag, value, score) the current values of ``tags``, atomically.

    ``retire`` lists deprecated tags whose (unlocked) values end at ``as_of``.
    """
    ensure_tables(wh)
    _run_tags(wh, tags, retire)
    when = f"CAST({lit(as_of.isoformat())} AS DATE)"
    with wh.transaction():
        _diff(wh, new)
        _apply_history(wh, run_id=run_id, source=source, when=when)
        _shadows(wh, new)
        _replace_current(wh, run_id=run_id, source=source, when=when)
        result = _result(wh, tags)
        names = "[" + ", ".join(lit(t.code) for t in tags) + "]::VARCHAR[]"
        wh.execute(
            f"INSERT INTO meta.runs VALUES (?, {when}, now(), {names}, ?, ?)",
            [run_id, result.tag_values, result.changes],
        )
    return result


def _run_tags(wh: Warehouse, tags: Sequence[RunTag], retire: Sequence[str]) -> None:
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE {_RUN_TAGS} "
        "(tag VARCHAR, kind VARCHAR, version INTEGER, retire BOOLEAN)"
    )
    rows: list[tuple[str, str, int | None, bool]] = [
        (t.code, t.kind, t.version, False) for t in tags
    ]
    rows += [(code, "enum", None, True) for code in retire]
    if rows:
        wh.con.executemany(f"INSERT INTO {_RUN_TAGS} VALUES (?, ?, ?, ?)", rows)


def _diff(wh: Warehouse, new: str) -> None:
    """Changes between ``new`` and the unlocked current values of the run's tags.

    Single-valued kinds compare per (customer, tag); multi tags per (customer, tag, value).
    """
    old = f"(SELECT c.* FROM tags.current c JOIN {_RUN_TAGS} t ON t.tag = c.tag WHERE NOT c.locked)"
    fresh = (
        f"(SELECT n.* FROM {new} n JOIN {_RUN_TAGS} t ON t.tag = n.tag AND NOT t.retire "
        "ANTI JOIN (SELECT cid, tag FROM tags.current WHERE locked) l "
        "ON l.cid = n.cid AND l.tag = n.tag)"
    )
    select = (
        "SELECT coalesce(n.cid, o.cid) AS cid, coalesce(n.tag, o.tag) AS tag, "
        "o.value AS old_value, n.value AS new_value, o.score AS old_score, "
        "n.score AS new_score, o.cid IS NOT NULL AS had_old, n.cid IS NOT NULL AS has_new"
    )
    changed = (
        "WHERE o.cid IS NULL OR n.cid IS NULL OR n.value IS DISTINCT FROM o.value "
        "OR n.score IS DISTINCT FROM o.score"
    )
    single = f"(SELECT tag FROM {_RUN_TAGS} WHERE kind <> 'multi')"
    multi = f"(SELECT tag FROM {_RUN_TAGS} WHERE kind = 'multi')"
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE {_CHANGES} AS "
        f"{select}, FALSE AS multi FROM (SELECT * FROM {fresh} WHERE tag IN {single}) n "
        f"FULL OUTER JOIN (SELECT * FROM {old} WHERE tag IN {single}) o "
        f"ON n.cid = o.cid AND n.tag = o.tag {changed} "
        f"UNION ALL {select}, TRUE AS multi FROM (SELECT * FROM {fresh} WHERE tag IN {multi}) n "
        f"FULL OUTER JOIN (SELECT * FROM {old} WHERE tag IN {multi}) o "
        f"ON n.cid = o.cid AND n.tag = o.tag AND n.value = o.value {changed}"
    )


def _shadows(wh: Warehouse, new: str) -> None:
    """Computed values of locked (manual) customer-tags, kept beside them."""
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE {_SHADOWS} AS SELECT n.cid, n.tag, "
        "first(n.value ORDER BY n.value) AS new_value, first(n.score) AS new_score "
        f"FROM {new} n JOIN (SELECT cid, tag FROM tags.current WHERE locked) l "
        "ON l.cid = n.cid AND l.tag = n.tag GROUP BY n.cid, n.tag"
    )


def _apply_history(wh: Warehouse, *, run_id: int, source: str, when: str) -> None:
    wh.execute(
        f"UPDATE tags.history h SET valid_to = {when} FROM {_CHANGES} c "
        "WHERE h.valid_to IS NULL AND c.had_old AND h.cid = c.cid AND h.tag = c.tag "
        "AND (NOT c.multi OR h.value = c.old_value)"
    )
    wh.execute(
        f"INSERT INTO tags.history SELECT c.cid, c.tag, c.new_value, c.new_score, "
        f"{lit(source)}, t.version, {int(run_id)}, {when}, NULL FROM {_CHANGES} c "
        f"JOIN {_RUN_TAGS} t ON t.tag = c.tag WHERE c.has_new"
    )
    wh.execute(
        f"INSERT INTO tags.changes SELECT {int(run_id)}, c.cid, c.tag, c.old_value, "
        f"c.new_value, c.old_score, c.new_score, {lit(source)}, t.version, {when}, now() "
        f"FROM {_CHANGES} c JOIN {_RUN_TAGS} t ON t.tag = c.tag"
    )


def _replace_current(wh: Warehouse, *, run_id: int, source: str, when: str) -> None:
    """Apply only the diff to ``tags.current``: unchanged values are not rewritten (they keep
    the run and date that set them); a rerun with few changes touches few rows."""
    wh.execute(
        f"UPDATE tags.current c SET shadow_value = n.new_value, shadow_score = n.new_score "
        f"FROM {_SHADOWS} n WHERE c.locked AND c.cid = n.cid AND c.tag = n.tag"
    )
    wh.execute(
        f"DELETE FROM tags.current c USING {_CHANGES} ch WHERE NOT c.locked AND ch.had_old "
        "AND c.cid = ch.cid AND c.tag = ch.tag AND (NOT ch.multi OR c.value = ch.old_value)"
    )
    wh.execute(
        f"INSERT INTO tags.current SELECT ch.cid, ch.tag, ch.new_value, ch.new_score, "
        f"{lit(source)}, NULL, t.version, {int(run_id)}, {when}, NULL, FALSE, NULL, NULL "
        f"FROM {_CHANGES} ch JOIN {_RUN_TAGS} t ON t.tag = ch.tag WHERE ch.has_new"
    )
    # a new definition version that computes the same value: the value now rests on it
    wh.execute(
        f"UPDATE tags.current c SET version = t.version FROM {_RUN_TAGS} t "
        "WHERE c.tag = t.tag AND NOT t.retire AND NOT c.locked "
        "AND c.version IS DISTINCT FROM t.version"
    )


def _result(wh: Warehouse, tags: Sequence[RunTag]) -> SwapResult:
    values = dict(
        wh.rows(
            f"SELECT tag, count(*) FROM tags.current WHERE tag IN "
            f"(SELECT tag FROM {_RUN_TAGS}) GROUP BY tag"
        )
    )
    changes = dict(wh.rows(f"SELECT tag, count(*) FROM {_CHANGES} GROUP BY tag"))
    result = SwapResult()
    for t in tags:
        result.per_tag[t.code] = (int(values.get(t.code, 0)), int(changes.get(t.code, 0)))
    result.tag_values = sum(v for v, _ in result.per_tag.values())
    result.changes = int(wh.scalar(f"SELECT count(*) FROM {_CHANGES}"))
    return result
