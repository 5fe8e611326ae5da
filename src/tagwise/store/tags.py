"""Tag values in the warehouse: current values, their history and the change log.

Storage (schema ``tags``) is narrow where it is big and wide where it is small:

* ``computed`` what the rules say now: ``(cid, tag_id, value, score, run_id)``, one row per
               customer, tag and value (a multi tag has one row per value); ``run_id`` is
               the run that set the value. These are the open intervals of history.
* ``defs``     one row per tag: ``tag_id`` (stable), code, kind, the definition version and
               the method (``rule``/``sql``) its computed values rest on.
* ``locks``    values decided by people (manual, import, review): they win over
               ``computed`` for that customer and tag until unlocked or expired; the
               computed value stays beside them as the *shadow*.
* ``past``     closed intervals ``[valid_from, valid_to)`` of computed values in business
               time, with the run that ended each (``closed_run``).

Views give the shape DESIGN.md describes, which every reader uses:

* ``current``  (cid, tag, value, score, source, confidence, version, run_id, valid_from,
               expires_at, locked, shadow_value, shadow_score): locks, else computed values;
               ``valid_from`` is the as-of date of the run that set the value.
* ``history``  computed values ever held, open (``valid_to`` null) and closed, so "tags on
               date D" is one range predicate.
* ``changes``  the change log, derived from the intervals: a value a run set and the value
               the same run ended for the same customer and tag (for a multi tag: the same
               value) pair up as one change old → new. :func:`changes_sql` is the same
               query with filters pushed into both sides (use it for reads).

A run writes each value once: a tag computed for the first time goes straight into
``computed`` (nothing to diff, nothing to close); a tag with values is diffed, and only its
changes move intervals to ``past`` and rows of ``computed``. Everything per tag (code,
version, method) lives once in ``defs`` instead of once per value, which keeps the big
table five columns wide: writing 28M values costs a third of a thirteen-column table.

:func:`swap_values` applies a run in one transaction, together with the run's row in
``meta.runs`` (so a run the catalog never heard of can be reconciled).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from tagwise.store.sql import lit
from tagwise.store.warehouse import Warehouse

__all__ = [
    "RunTag",
    "SwapResult",
    "changes_sql",
    "computed_tags",
    "ensure_tables",
    "swap_values",
    "tag_ids",
]

_TABLES = """
CREATE SCHEMA IF NOT EXISTS tags;
CREATE SCHEMA IF NOT EXISTS snap;
CREATE TABLE IF NOT EXISTS tags.defs (
    tag_id INTEGER PRIMARY KEY, tag VARCHAR NOT NULL UNIQUE, kind VARCHAR NOT NULL,
    version INTEGER, source VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS tags.computed (
    cid INTEGER NOT NULL, tag_id INTEGER NOT NULL, value VARCHAR, score DOUBLE,
    run_id BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS tags.locks (
    cid INTEGER NOT NULL, tag_id INTEGER NOT NULL, value VARCHAR, score DOUBLE,
    source VARCHAR NOT NULL, confidence DOUBLE, locked_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP, locked_by VARCHAR
);
CREATE TABLE IF NOT EXISTS tags.past (
    cid INTEGER NOT NULL, tag_id INTEGER NOT NULL, value VARCHAR, score DOUBLE,
    source VARCHAR NOT NULL, version INTEGER, run_id BIGINT,
    valid_from TIMESTAMP NOT NULL, valid_to TIMESTAMP NOT NULL, closed_run BIGINT
);
CREATE TABLE IF NOT EXISTS meta.runs (
    run_id BIGINT PRIMARY KEY, as_of DATE NOT NULL, committed_at TIMESTAMP NOT NULL,
    tags VARCHAR[] NOT NULL, tag_values BIGINT NOT NULL, changes BIGINT NOT NULL
);
"""

_ACTIVE_LOCKS = "(SELECT * FROM tags.locks WHERE expires_at IS NULL OR expires_at > now())"

_VIEWS = f"""
CREATE OR REPLACE VIEW tags.current AS
    SELECT c.cid, d.tag, c.value, c.score, d.source, CAST(NULL AS DOUBLE) AS confidence,
        d.version, c.run_id, CAST(r.as_of AS TIMESTAMP) AS valid_from,
        CAST(NULL AS TIMESTAMP) AS expires_at, FALSE AS locked,
        CAST(NULL AS VARCHAR) AS shadow_value, CAST(NULL AS DOUBLE) AS shadow_score
    FROM tags.computed c
    JOIN tags.defs d ON d.tag_id = c.tag_id
    LEFT JOIN meta.runs r ON r.run_id = c.run_id
    ANTI JOIN {_ACTIVE_LOCKS} l ON l.cid = c.cid AND l.tag_id = c.tag_id
    UNION ALL
    SELECT l.cid, d.tag, l.value, l.score, l.source, l.confidence, NULL, NULL, l.locked_at,
        l.expires_at, TRUE, s.value, s.score
    FROM {_ACTIVE_LOCKS} l
    JOIN tags.defs d ON d.tag_id = l.tag_id
    LEFT JOIN (SELECT c.cid, c.tag_id, min(c.value) AS value, max(c.score) AS score
               FROM tags.computed c
               SEMI JOIN tags.locks k ON k.cid = c.cid AND k.tag_id = c.tag_id
               GROUP BY c.cid, c.tag_id) s
        ON s.cid = l.cid AND s.tag_id = l.tag_id;
CREATE OR REPLACE VIEW tags.history AS
    SELECT c.cid, d.tag, c.value, c.score, d.source, d.version, c.run_id,
        CAST(r.as_of AS TIMESTAMP) AS valid_from, CAST(NULL AS TIMESTAMP) AS valid_to
    FROM tags.computed c
    JOIN tags.defs d ON d.tag_id = c.tag_id
    LEFT JOIN meta.runs r ON r.run_id = c.run_id
    UNION ALL
    SELECT p.cid, d.tag, p.value, p.score, p.source, p.version, p.run_id, p.valid_from,
        p.valid_to
    FROM tags.past p JOIN tags.defs d ON d.tag_id = p.tag_id;
"""

_CHANGES = "tw_changes"
_RUN_TAGS = "tw_run_tags"
_LAYOUT = 3
"""Version of the tag store's layout (1: Tagwise 0.1's wide tables, upgraded on open;
3: the shadow values of ``tags.current`` aggregate only locked pairs — before, every query
of the view grouped all computed values, which ran out of memory at 10M customers)."""


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
    """tag → (computed values now, changes in this run)."""


def ensure_tables(wh: Warehouse) -> None:
    """Create the tag tables and views if they do not exist (upgrading an older layout).

    The layout's version is stamped in ``meta.layout``; when it matches, this is one query.
    """
    wh.execute("CREATE TABLE IF NOT EXISTS meta.layout (part VARCHAR PRIMARY KEY, version INTEGER)")
    if wh.scalar("SELECT version FROM meta.layout WHERE part = 'tags'") == _LAYOUT:
        return
    if _old_layout(wh):
        _upgrade(wh)
    with wh.transaction():
        wh.execute(_TABLES)
        wh.execute(_VIEWS)
        wh.execute(f"CREATE OR REPLACE VIEW tags.changes AS {changes_sql()}")
        wh.execute("INSERT OR REPLACE INTO meta.layout VALUES ('tags', ?)", [_LAYOUT])


def tag_ids(wh: Warehouse, codes: Sequence[str], *, kinds: Mapping[str, str]) -> dict[str, int]:
    """The stable ``tag_id`` of each code, assigning the next free ids to new codes."""
    known = dict(wh.rows("SELECT tag, tag_id FROM tags.defs"))
    new = [c for c in dict.fromkeys(codes) if c not in known]
    if new:
        start = max(known.values(), default=0) + 1
        rows = [(start + i, c, kinds.get(c, "enum")) for i, c in enumerate(new)]
        wh.con.executemany("INSERT INTO tags.defs VALUES (?, ?, ?, NULL, 'rule')", rows)
        known.update({c: i for i, c, _ in rows})
    return {c: int(known[c]) for c in codes}


def computed_tags(wh: Warehouse) -> set[str]:
    """Codes of the tags that have computed values now."""
    rows = wh.rows(
        "SELECT d.tag FROM tags.defs d "
        "WHERE d.tag_id IN (SELECT DISTINCT tag_id FROM tags.computed)"
    )
    return {str(r[0]) for r in rows}


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
    """Make the rows of ``new`` the computed values of ``tags``, atomically.

    ``new`` is a table name or a parenthesized query with the columns
    ``(cid, tag_id, value, score)`` (ids from :func:`tag_ids`); it is read once per path
    (fresh tags, diffed tags), filtered by ``tag_id``. ``retire`` lists deprecated tags
    whose values end at ``as_of``.
    """
    ensure_tables(wh)
    ids = tag_ids(wh, [t.code for t in tags] + list(retire), kinds={t.code: t.kind for t in tags})
    present = {r[0] for r in wh.rows("SELECT DISTINCT tag_id FROM tags.computed")}
    fresh = [t for t in tags if ids[t.code] not in present]
    diffed = [t for t in tags if ids[t.code] in present]
    _run_tags(wh, tags, retire, ids)
    when = f"CAST({lit(as_of.isoformat())} AS DATE)"
    with wh.transaction():
        if fresh:
            wh.execute(
                f"INSERT INTO tags.computed SELECT cid, tag_id, value, score, {int(run_id)} "
                f"FROM {new} WHERE tag_id IN {_ids(fresh, ids)}"
            )
        changed = 0
        if diffed or retire:
            changed = _apply_diff(wh, new, diffed, ids, run_id=run_id, when=when)
        wh.execute(
            f"UPDATE tags.defs d SET kind = t.kind, version = t.version, source = {lit(source)} "
            f"FROM {_RUN_TAGS} t WHERE d.tag_id = t.tag_id AND NOT t.retire"
        )
        result = _result(wh, tags, ids, fresh={t.code for t in fresh}, changed=changed)
        wh.execute(
            f"INSERT INTO meta.runs VALUES (?, {when}, now(), ?, ?, ?)",
            [run_id, [t.code for t in tags], result.tag_values, result.changes],
        )
    wh.execute(f"DROP TABLE IF EXISTS {_CHANGES}")
    return result


def changes_sql(
    *, cid: int | None = None, tag: str | None = None, run_id: int | None = None
) -> str:
    """The change log as a query (the ``tags.changes`` view without filters).

    Columns: run_id, cid, tag, old_value, new_value, old_score, new_score, source,
    version, as_of, changed_at. A value a run set (an interval starting in the run) and a
    value the run ended for the same customer and tag pair up; for a multi tag only the
    same value pairs (its score changed). The filters are applied to both sides before
    the pairing, so a filtered read touches only matching rows.
    """

    def where(run_column: str) -> str:
        tests = [f"x.cid = {int(cid)}"] if cid is not None else []
        tests += [f"d.tag = {lit(tag)}"] if tag is not None else []
        tests += [f"x.{run_column} = {int(run_id)}"] if run_id is not None else []
        return " WHERE " + " AND ".join(tests) if tests else ""

    pick = "x.cid, d.tag, x.value, x.score, CASE WHEN d.kind = 'multi' THEN x.value END AS pair"
    opened = (
        f"SELECT x.run_id, {pick}, d.source, d.version, r.as_of AS at "
        "FROM tags.computed x JOIN tags.defs d ON d.tag_id = x.tag_id "
        f"LEFT JOIN meta.runs r ON r.run_id = x.run_id{where('run_id')} "
        f"UNION ALL SELECT x.run_id, {pick}, x.source, x.version, CAST(x.valid_from AS DATE) "
        f"FROM tags.past x JOIN tags.defs d ON d.tag_id = x.tag_id{where('run_id')}"
    )
    closed = (
        f"SELECT x.closed_run AS run_id, {pick}, x.source, x.version, "
        "CAST(x.valid_to AS DATE) AS at "
        f"FROM tags.past x JOIN tags.defs d ON d.tag_id = x.tag_id{where('closed_run')}"
    )
    return (
        f"WITH o AS ({opened}), c AS ({closed}) "
        "SELECT coalesce(o.run_id, c.run_id) AS run_id, coalesce(o.cid, c.cid) AS cid, "
        "coalesce(o.tag, c.tag) AS tag, c.value AS old_value, o.value AS new_value, "
        "c.score AS old_score, o.score AS new_score, coalesce(o.source, c.source) AS source, "
        "coalesce(o.version, c.version) AS version, coalesce(o.at, c.at) AS as_of, "
        "r.committed_at AS changed_at "
        "FROM o FULL OUTER JOIN c ON o.run_id = c.run_id AND o.cid = c.cid AND o.tag = c.tag "
        "AND o.pair IS NOT DISTINCT FROM c.pair "
        "LEFT JOIN meta.runs r ON r.run_id = coalesce(o.run_id, c.run_id)"
    )


def _run_tags(
    wh: Warehouse, tags: Sequence[RunTag], retire: Sequence[str], ids: Mapping[str, int]
) -> None:
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE {_RUN_TAGS} "
        "(tag_id INTEGER, kind VARCHAR, version INTEGER, retire BOOLEAN)"
    )
    rows: list[tuple[int, str, int | None, bool]] = [
        (ids[t.code], t.kind, t.version, False) for t in tags
    ]
    rows += [(ids[code], "enum", None, True) for code in retire]
    if rows:
        wh.con.executemany(f"INSERT INTO {_RUN_TAGS} VALUES (?, ?, ?, ?)", rows)


def _ids(tags: Sequence[RunTag], ids: Mapping[str, int]) -> str:
    """``(3, 7)``: literal lists let the warehouse prune a union's branches by tag."""
    return "(" + ", ".join(str(int(ids[t.code])) for t in tags) + ")" if tags else "(NULL)"


def _apply_diff(
    wh: Warehouse,
    new: str,
    tags: Sequence[RunTag],
    ids: Mapping[str, int],
    *,
    run_id: int,
    when: str,
) -> int:
    """Diff the tags that have values (and the retired ones), then end, delete and insert
    only what changed.

    Returns:
        The number of changes.
    """

    def diff(tag_id: int, multi: bool) -> str:
        on = " AND n.value = o.value" if multi else ""
        return (
            "SELECT coalesce(n.cid, o.cid), coalesce(n.tag_id, o.tag_id), o.value, n.value, "
            f"o.score, n.score, o.cid IS NOT NULL, n.cid IS NOT NULL, {lit(multi)} "
            f"FROM (SELECT * FROM {new} WHERE tag_id = {tag_id}) n "
            f"FULL OUTER JOIN (SELECT * FROM tags.computed WHERE tag_id = {tag_id}) o "
            f"ON n.cid = o.cid AND n.tag_id = o.tag_id{on} "
            "WHERE o.cid IS NULL OR n.cid IS NULL OR n.value IS DISTINCT FROM o.value "
            "OR n.score IS DISTINCT FROM o.score"
        )

    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE {_CHANGES} (cid INTEGER, tag_id INTEGER, "
        "old_value VARCHAR, new_value VARCHAR, old_score DOUBLE, new_score DOUBLE, "
        "had_old BOOLEAN, has_new BOOLEAN, multi BOOLEAN)"
    )
    # one join per tag: the hash table holds one tag's values (a million rows, not all
    # tags' tens of millions), so a diff stays fast and small in memory
    for t in tags:
        wh.execute(f"INSERT INTO {_CHANGES} {diff(ids[t.code], t.kind == 'multi')}")
    # retired tags: every value ends (matched by value, as for multi tags)
    wh.execute(
        f"INSERT INTO {_CHANGES} SELECT cid, tag_id, value, NULL, score, NULL, TRUE, FALSE, TRUE "
        f"FROM tags.computed WHERE tag_id IN (SELECT tag_id FROM {_RUN_TAGS} WHERE retire)"
    )
    match = (
        "c.cid = ch.cid AND c.tag_id = ch.tag_id "
        "AND (NOT ch.multi OR c.value IS NOT DISTINCT FROM ch.old_value) "
        "AND ch.had_old"
    )
    wh.execute(
        "INSERT INTO tags.past SELECT c.cid, c.tag_id, c.value, c.score, d.source, d.version, "
        f"c.run_id, CAST(r.as_of AS TIMESTAMP), {when}, {int(run_id)} FROM tags.computed c "
        f"JOIN {_CHANGES} ch ON {match} JOIN tags.defs d ON d.tag_id = c.tag_id "
        "LEFT JOIN meta.runs r ON r.run_id = c.run_id"
    )
    wh.execute(f"DELETE FROM tags.computed c USING {_CHANGES} ch WHERE {match}")
    wh.execute(
        f"INSERT INTO tags.computed SELECT cid, tag_id, new_value, new_score, {int(run_id)} "
        f"FROM {_CHANGES} WHERE has_new"
    )
    return int(wh.scalar(f"SELECT count(*) FROM {_CHANGES}"))


def _result(
    wh: Warehouse,
    tags: Sequence[RunTag],
    ids: Mapping[str, int],
    *,
    fresh: set[str],
    changed: int,
) -> SwapResult:
    values = dict(
        wh.rows(
            f"SELECT tag_id, count(*) FROM tags.computed WHERE tag_id IN {_ids(tags, ids)} "
            "GROUP BY tag_id"
        )
    )
    changes: dict[int, int] = {}
    if changed:
        changes = dict(wh.rows(f"SELECT tag_id, count(*) FROM {_CHANGES} GROUP BY tag_id"))
    result = SwapResult()
    for t in tags:
        n = int(values.get(ids[t.code], 0))
        result.per_tag[t.code] = (n, n if t.code in fresh else int(changes.get(ids[t.code], 0)))
    result.tag_values = sum(v for v, _ in result.per_tag.values())
    result.changes = changed + sum(result.per_tag[code][0] for code in fresh)
    return result


def _old_layout(wh: Warehouse) -> bool:
    """Whether the warehouse has the layout of Tagwise 0.1 (wide current, history and
    changes tables)."""
    return bool(
        wh.scalar(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'tags' "
            "AND table_name IN ('current', 'history', 'changes')"
        )
    )


def _upgrade(wh: Warehouse) -> None:
    """Move a 0.1 layout into this one: tags get ids (multi when a customer ever held
    several values), open intervals become computed values, locked current values locks,
    and closed intervals move to ``past`` with the run that ended each (from the old change
    log); the old tables are dropped. One transaction."""
    with wh.transaction():
        wh.execute(_TABLES)
        # a multi tag: some customer held several values at once (set by one run, or open)
        wh.execute(
            "INSERT INTO tags.defs SELECT (row_number() OVER (ORDER BY tag))::INTEGER, tag, "
            "CASE WHEN bool_or(n > 1) THEN 'multi' ELSE 'enum' END, max(version), "
            "coalesce(min(source) FILTER (WHERE source <> 'manual'), 'rule') FROM ("
            "SELECT tag, count(*) AS n, max(version) AS version, min(source) AS source "
            "FROM tags.history GROUP BY tag, cid, valid_from UNION ALL "
            "SELECT tag, count(*), max(version), min(source) FROM tags.history "
            "WHERE valid_to IS NULL GROUP BY tag, cid) GROUP BY tag"
        )
        wh.execute(
            "INSERT INTO tags.defs SELECT (SELECT coalesce(max(tag_id), 0) FROM tags.defs) "
            "+ (row_number() OVER (ORDER BY tag))::INTEGER, tag, 'enum', max(version), 'rule' "
            "FROM tags.current WHERE tag NOT IN (SELECT tag FROM tags.defs) GROUP BY tag"
        )
        # the open intervals are exactly the computed values (locked ones included)
        wh.execute(
            "INSERT INTO tags.computed SELECT h.cid, d.tag_id, h.value, h.score, h.run_id "
            "FROM tags.history h JOIN tags.defs d USING (tag) "
            "WHERE h.valid_to IS NULL AND h.run_id IS NOT NULL"
        )
        wh.execute(
            "INSERT INTO tags.locks SELECT c.cid, d.tag_id, c.value, c.score, c.source, "
            "c.confidence, c.valid_from, c.expires_at, NULL "
            "FROM tags.current c JOIN tags.defs d USING (tag) WHERE c.locked"
        )
        wh.execute(
            "INSERT INTO tags.past SELECT h.cid, d.tag_id, h.value, h.score, h.source, "
            "h.version, h.run_id, h.valid_from, h.valid_to, (SELECT min(ch.run_id) "
            "FROM tags.changes ch WHERE ch.cid = h.cid AND ch.tag = h.tag "
            "AND ch.as_of = CAST(h.valid_to AS DATE) "
            "AND ch.old_value IS NOT DISTINCT FROM h.value) "
            "FROM tags.history h JOIN tags.defs d USING (tag) WHERE h.valid_to IS NOT NULL"
        )
        for name in ("changes", "history", "current"):
            wh.execute(f"DROP TABLE IF EXISTS tags.{name}")
