"""The identity graph: records, identifiers, caps, links and connected components.

Records are linked by identifiers of strong types that several records share (unless the
value is *capped*: shared by more records than its type's cap, or by records that
disagree on a conflict column), by probabilistic matches at or above the merge threshold,
and by people's merge decisions; a separate decision cuts a record out of the links it
shares with the other record. A customer is a connected component, found by label
propagation in the warehouse (each round two GROUP BYs; no Python loop over rows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tagwise.errors import EngineError
from tagwise.identity.context import MATCHES, Context
from tagwise.identity.layout import RECORDS, rows_table
from tagwise.spec.sources import ColumnType, SourceSpec
from tagwise.store.sql import ident, lit, lit_list, table

if TYPE_CHECKING:
    from tagwise.store.warehouse import Warehouse

__all__ = ["components", "groups", "identifiers", "links", "records"]

_MAX_ROUNDS = 200


def records(ctx: Context) -> None:
    """``tw_rec``: every record with its rid, current cid and the conflict columns."""
    conflict = "".join(f", r.{ident(c)}" for c in ctx.settings.conflict_columns)
    if ctx.name_column is not None:
        conflict += f", {ctx.name_column} AS tw_name"
    ctx.wh.execute(
        f"CREATE OR REPLACE TEMP TABLE tw_rec AS SELECT k.rid, k.cid AS old_cid, "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"k.customer_id{conflict} FROM {table(*RECORDS)} r "
        f"JOIN meta.customer_keys k ON k.customer_id = r.{ident(ctx.key)}"
    )


def identifiers(ctx: Context) -> None:
    """``ident.identifiers``: (rid, type, value, source) from every source's identity columns."""
    wh = ctx.wh
    wh.execute("CREATE OR REPLACE TEMP TABLE tw_ids AS SELECT * FROM ident.identifiers LIMIT 0")
    for spec in ctx.sources.sources.values():
        if not spec.identity or spec.customer_key is None:
            continue
        schema, name = rows_table(spec)
        if not wh.has_table(schema, name):
            continue
        key = ident(spec.customer_key)
        values = " UNION ALL ".join(
            f"SELECT {key} AS key, {lit(kind)} AS type, {_standard(spec, column)} AS v "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            f"FROM {table(schema, name)}"
            for column, kind in spec.identity.items()
        )
        # every identity column of the source, joined to the keys once
        wh.execute(
            f"INSERT INTO tw_ids SELECT DISTINCT k.rid, s.type, s.v, {lit(spec.name)} "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            f"FROM ({values}) s JOIN meta.customer_keys k ON k.customer_id = s.key "
            "WHERE s.v IS NOT NULL AND s.v <> ''"
        )


def _standard(spec: SourceSpec, column: str) -> str:
    """An identifier's comparable text: ingestion already standardized phones (E.164) and
    emails (lower case); other text is trimmed, with inner spaces removed."""
    name = ident(column)
    if spec.columns[column].type in {ColumnType.PHONE, ColumnType.EMAIL}:
        return f"CAST({name} AS VARCHAR)"
    return f"replace(trim(CAST({name} AS VARCHAR)), ' ', '')"


_PEOPLE_SPAN = 5
"""A value shared by more than this many times its cap's records is capped by its record
count alone (a placeholder); below that, the records are counted as people."""


def groups(ctx: Context) -> None:
    """``tw_groups``: identifier values of strong types shared by several records, with the
    verdict: usable, or capped (too many people / conflicting records).

    Caps count people, not records: a record that looks like an earlier record of the same
    value (names within a typo, no conflict column disagreeing) is the same person, so five
    duplicate records of one person with one id number are one person. The family rules
    (conflict columns, names that differ) protect shared identifiers (a family phone); they
    do not apply to the personal types of ``identity.personal`` (id number, member id,
    unionid), whose duplicates are one person's by definition.
    """
    wh, s = ctx.wh, ctx.settings
    conflicts = ", ".join(
        f"count(DISTINCT r.{ident(c)}) AS {ident('n_' + c)}" for c in s.conflict_columns
    )
    kinds = sorted({k for spec in ctx.sources.sources.values() for k in spec.identity.values()})
    caps = " ".join(f"WHEN {lit(k)} THEN {s.cap(k)}" for k in kinds) or "WHEN NULL THEN 0"
    strong = lit_list(s.strong)
    personal = lit_list(s.personal) if s.personal else "[]::VARCHAR[]"
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE tw_groups AS SELECT *, n AS people, "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"list_contains({personal}, type) AS personal, CAST(NULL AS VARCHAR) AS capped "
        f"FROM (SELECT i.type, i.value, count(DISTINCT i.rid) AS n, "
        f"CASE i.type {caps} ELSE {s.default_max_records} END AS cap"
        f"{', ' + conflicts if conflicts else ''} "
        f"FROM tw_ids i JOIN tw_rec r ON r.rid = i.rid WHERE list_contains({strong}, i.type) "
        f"GROUP BY i.type, i.value HAVING count(DISTINCT i.rid) > 1)"
    )
    _count_people(ctx)
    reasons = [
        "WHEN people > cap AND people = n THEN 'shared by ' || n || ' records (cap ' || cap || ')'",
        "WHEN people > cap THEN 'shared by ' || people || ' people in ' || n || ' records (cap '"
        " || cap || ')'",
        *(
            f"WHEN NOT personal AND {ident('n_' + c)} > 1 THEN 'records disagree on {c} (' || "
            f"{ident('n_' + c)} || ' values)'"
            for c in s.conflict_columns
        ),
    ]
    wh.execute(f"UPDATE tw_groups SET capped = CASE {' '.join(reasons)} END")  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
    if ctx.name_column is not None:  # _records added tw_name
        # two names further apart than a typo: different people (a family phone whose
        # members' birthdays are missing); groups under the cap are small, so pairs are few.
        # The reason counts the names and never shows them (they are personal data).
        distance = int(s.name_distance)
        wh.execute(
            "UPDATE tw_groups SET capped = 'records disagree on name (' || c.names || ' names)' "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            "FROM (SELECT a.type, a.value, "
            "len(list_distinct(flatten([list(ra.tw_name), list(rb.tw_name)]))) AS names "
            "FROM tw_groups g JOIN tw_ids a ON a.type = g.type AND a.value = g.value "
            "JOIN tw_ids b ON b.type = a.type AND b.value = a.value AND b.rid > a.rid "
            "JOIN tw_rec ra ON ra.rid = a.rid JOIN tw_rec rb ON rb.rid = b.rid "
            "WHERE g.capped IS NULL AND NOT g.personal "
            f"AND damerau_levenshtein(ra.tw_name, rb.tw_name) >= {distance} "
            "GROUP BY a.type, a.value) c "
            "WHERE tw_groups.type = c.type AND tw_groups.value = c.value"
        )


def _count_people(ctx: Context) -> None:
    """``tw_groups.people``: the records of a value over its cap (and within
    :data:`_PEOPLE_SPAN` times it) less those that look like an earlier record of the value.

    A record is a duplicate of an earlier one when both have a name within a typo
    (Damerau–Levenshtein below ``identity.name_distance``, at least one edit allowed) and
    no conflict column holds two different non-null values. Without a name column every
    record counts as a person.
    """
    name = ctx.name_sql()
    if name is None:
        return
    wh, s = ctx.wh, ctx.settings
    if ctx.name_column is None:  # name_distance 0: tw_rec has no tw_name; add it here
        wh.execute(
            f"CREATE OR REPLACE TEMP TABLE tw_rec AS SELECT t.*, {name} AS tw_name "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            f"FROM tw_rec t JOIN {table(*RECORDS)} r ON r.{ident(ctx.key)} = t.customer_id"
        )
    distance = max(int(s.name_distance), 2)
    agree = "".join(
        f" AND (ra.{ident(c)} IS NULL OR rb.{ident(c)} IS NULL OR ra.{ident(c)} = rb.{ident(c)})"
        for c in s.conflict_columns
    )
    wh.execute(
        "UPDATE tw_groups SET people = tw_groups.n - d.duplicates FROM ("  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        "SELECT g.type, g.value, count(DISTINCT b.rid) AS duplicates FROM tw_groups g "
        "JOIN tw_ids a ON a.type = g.type AND a.value = g.value "
        "JOIN tw_ids b ON b.type = a.type AND b.value = a.value AND b.rid > a.rid "
        "JOIN tw_rec ra ON ra.rid = a.rid JOIN tw_rec rb ON rb.rid = b.rid "
        f"WHERE g.n > g.cap AND g.n <= g.cap * {_PEOPLE_SPAN} "
        "AND damerau_levenshtein(ra.tw_name, rb.tw_name) < "
        f"{distance}{agree} GROUP BY g.type, g.value) d "
        "WHERE tw_groups.type = d.type AND tw_groups.value = d.value"
    )


def links(ctx: Context, upper: float | None) -> None:
    """``tw_links(grp, rid, why)``: the groups whose records are one customer."""
    wh = ctx.wh
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE tw_links AS "
        "SELECT hash(g.type, g.value) AS grp, i.rid, g.type || ' ' || g.value AS why "
        "FROM tw_groups g JOIN tw_ids i ON i.type = g.type AND i.value = g.value "
        "WHERE g.capped IS NULL"
    )
    # a separate decision (a kept apart from b, not merged again later) removes a from every
    # group it shares with b
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE tw_cut AS SELECT DISTINCT a.grp, a.rid FROM tw_links a "
        "JOIN tw_links b ON b.grp = a.grp JOIN ident.decisions d ON d.kind = 'separate' "
        "AND d.rid_a = a.rid AND d.rid_b = b.rid WHERE NOT EXISTS (SELECT 1 FROM "
        "ident.decisions m WHERE m.kind = 'merge' AND m.decision_id > d.decision_id AND "
        "((m.rid_a = d.rid_a AND m.rid_b = d.rid_b) OR (m.rid_a = d.rid_b AND m.rid_b = d.rid_a)))"
    )
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE tw_links AS SELECT * FROM tw_links "
        "ANTI JOIN tw_cut USING (grp, rid)"
    )
    separated = (
        "NOT EXISTS (SELECT 1 FROM ident.decisions d WHERE d.kind = 'separate' AND "
        "((d.rid_a = m.rid_l AND d.rid_b = m.rid_r) OR (d.rid_a = m.rid_r AND d.rid_b = m.rid_l)))"
    )
    if upper is not None:
        wh.execute(
            "INSERT INTO tw_links SELECT hash('match', m.rid_l, m.rid_r), u.rid, "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            f"'match ' || printf('%.4f', m.probability) FROM {MATCHES} m, "
            "LATERAL (SELECT unnest([m.rid_l, m.rid_r]) AS rid) u "
            f"WHERE m.probability >= {float(upper)!r} AND {separated}"
        )
    later_separate = (
        "NOT EXISTS (SELECT 1 FROM ident.decisions s WHERE s.kind = 'separate' "
        "AND s.decision_id > d.decision_id AND ((s.rid_a = d.rid_a AND s.rid_b = d.rid_b) "
        "OR (s.rid_a = d.rid_b AND s.rid_b = d.rid_a)))"
    )
    wh.execute(
        "INSERT INTO tw_links SELECT hash('decision', d.decision_id), u.rid, "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        "'merge decision #' || d.decision_id || coalesce(' by ' || d.actor, '') "
        "FROM ident.decisions d, LATERAL (SELECT unnest([d.rid_a, d.rid_b]) AS rid) u "
        f"WHERE d.kind = 'merge' AND {later_separate}"
    )
    # only records that are still in the master take part
    wh.execute("DELETE FROM tw_links WHERE rid NOT IN (SELECT rid FROM tw_rec)")


def components(wh: Warehouse) -> int:
    """Label propagation over the record–group graph: every record's label becomes the
    smallest rid of its connected component. Returns the number of rounds."""
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE tw_label AS SELECT DISTINCT rid, rid AS label FROM tw_links"
    )
    rounds = 0
    while True:
        rounds += 1
        if rounds > _MAX_ROUNDS:
            raise EngineError(f"identity resolution did not converge in {_MAX_ROUNDS} rounds")
        wh.execute(
            "CREATE OR REPLACE TEMP TABLE tw_next AS "
            "WITH g AS (SELECT l.grp, min(b.label) AS label FROM tw_links l "
            "JOIN tw_label b ON b.rid = l.rid GROUP BY l.grp) "
            "SELECT b.rid, least(b.label, min(g.label)) AS label FROM tw_label b "
            "JOIN tw_links l ON l.rid = b.rid JOIN g ON g.grp = l.grp GROUP BY b.rid, b.label"
        )
        changed = int(
            wh.scalar(
                "SELECT count(*) FROM tw_next n JOIN tw_label b ON b.rid = n.rid "
                "WHERE n.label <> b.label"
            )
        )
        wh.execute("DROP TABLE tw_label")
        wh.execute("ALTER TABLE tw_next RENAME TO tw_label")
        if not changed:
            break
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE tw_map AS SELECT r.rid, r.customer_id, r.old_cid, "
        "coalesce(l.label, r.rid) AS new_cid FROM tw_rec r LEFT JOIN tw_label l ON l.rid = r.rid"
    )
    return rounds
