"""The golden record: one row per customer, each attribute chosen by its survivorship rule.

A customer of one record is that record; a customer of several takes each attribute from
the record its rule puts first (``ident.lineage`` names that record).
"""

from __future__ import annotations

from tagwise.identity.context import Context
from tagwise.identity.layout import RECORDS
from tagwise.spec.sources import GoldenSpec, Survivorship
from tagwise.store.sql import ident, lit, lit_list, table

__all__ = ["golden_record"]


def golden_record(ctx: Context) -> None:
    """``src.__golden__<master>``: one row per customer. A customer of one record is that
    record; the others take each attribute by its survivorship rule; ``tw_lineage`` names
    the record each attribute of those came from."""
    wh, master, key = ctx.wh, ctx.master, ctx.key
    golden = master.golden or GoldenSpec()
    records = table(*RECORDS)
    target = table("src", "__golden__" + master.name)
    columns = [c for c, _ in wh.columns(records) if c != "cid"]
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE tw_multi AS SELECT new_cid AS cid FROM tw_map "
        "GROUP BY new_cid HAVING count(*) > 1"
    )
    member = (
        f"SELECT m.new_cid AS cid, m.rid, r.* EXCLUDE (cid) FROM {records} r "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"JOIN tw_map m ON m.customer_id = r.{ident(key)}"
    )
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE tw_members AS {member} "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        "WHERE m.new_cid IN (SELECT cid FROM tw_multi)"
    )
    attributes = [c for c in columns if c not in (key, "_file", "_line")]
    picks = [f"arg_min({ident(c)}, rid) AS {ident(c)}" for c in columns if c not in attributes]
    lineage: list[str] = []
    for column in attributes:
        name = ident(column)
        rule = golden.rule(column)
        order = (
            f"(-{ident('#' + column)}, rid)"
            if rule is Survivorship.MOST_FREQUENT
            else _order(golden, rule)
        )
        picks.append(f"arg_min({name}, {order}) FILTER (WHERE {name} IS NOT NULL) AS {name}")
        lineage.append(
            f"arg_min(rid, {order}) FILTER (WHERE {name} IS NOT NULL) AS {ident('@' + column)}"
        )
    frequent = [c for c in attributes if golden.rule(c) is Survivorship.MOST_FREQUENT]
    source = "tw_members m"
    for column in frequent:
        name = ident(column)
        alias = ident("#" + column)
        source += (
            f" LEFT JOIN (SELECT cid, {name}, count(*) AS {alias} FROM tw_members "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            f"GROUP BY cid, {name}) USING (cid, {name})"
        )
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE tw_gold AS SELECT cid, {', '.join(picks + lineage)} "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"FROM (SELECT * FROM {source}) GROUP BY cid"
    )
    listed = ", ".join(ident(c) for c in columns)
    wh.execute(
        f"CREATE OR REPLACE TABLE {target} AS "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"SELECT m.new_cid AS cid, {', '.join('r.' + ident(c) for c in columns)} FROM {records} r "
        f"JOIN tw_map m ON m.customer_id = r.{ident(key)} "
        "WHERE m.new_cid NOT IN (SELECT cid FROM tw_multi) "
        f"UNION ALL SELECT cid, {listed} FROM tw_gold"
    )
    if attributes:
        unpivot = " UNION ALL ".join(
            f"SELECT cid, {lit(c)} AS attribute, {ident('@' + c)} AS rid FROM tw_gold "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            f"WHERE {ident('@' + c)} IS NOT NULL"
            for c in attributes
        )
        wh.execute(f"CREATE OR REPLACE TEMP TABLE tw_lineage AS {unpivot}")
    else:
        wh.execute("CREATE OR REPLACE TEMP TABLE tw_lineage AS SELECT * FROM ident.lineage LIMIT 0")


def _order(golden: GoldenSpec, rule: Survivorship) -> str:
    """The ``arg_min`` key that puts the surviving record of a rule first."""
    if rule is Survivorship.MOST_RECENT:
        assert golden.order_by is not None  # noqa: S101 (the spec checks it)
        moment = f"CAST({ident(golden.order_by)} AS TIMESTAMP)"
        return f"(CASE WHEN {moment} IS NULL THEN 1 ELSE 0 END, -epoch_us({moment}), rid)"
    if rule is Survivorship.SOURCE_PRIORITY:
        assert golden.priority is not None  # noqa: S101 (the spec checks it)
        order = lit_list(golden.priority.order)
        position = f"list_position({order}, CAST({ident(golden.priority.column)} AS VARCHAR))"
        return f"(coalesce({position}, {len(golden.priority.order) + 1}), rid)"
    return "rid"
