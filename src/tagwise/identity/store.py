"""The identity store: every read of the identity tables, as typed results.

Nothing outside :mod:`tagwise.identity` queries ``ident.*``, nor ``meta.customer_keys``
for who-is-who (the ingest assigns record numbers; the engines publish the keys): the
profile, the review queue, the quality report and the PostgreSQL engine's key
publication ask here. The field names are those of the CLI's JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from tagwise.errors import NotFound
from tagwise.identity.layout import RECORDS, is_dirty
from tagwise.store.sql import ident, lit_list, table

if TYPE_CHECKING:
    from tagwise.settings import Settings
    from tagwise.spec.sources import SourceSpec
    from tagwise.store.warehouse import Warehouse

__all__ = [
    "TOP_CAPPED",
    "CapReason",
    "CappedIdentifiers",
    "CappedValue",
    "ClusterSize",
    "IdentifierCounts",
    "IdentityEvent",
    "IdentityQuality",
    "MatchingCounts",
    "Member",
    "Resolution",
    "ReviewPair",
    "customer_count",
    "customer_keys_of",
    "customer_keys_table",
    "customer_universe",
    "customers_stamp",
    "identity_history",
    "identity_quality",
    "latest_resolution_id",
    "lineage",
    "mask_identifier",
    "mask_reason",
    "matching_model",
    "members",
    "moved_keys_query",
    "other_records",
    "record_of",
    "review_queue",
    "review_total",
]

TOP_CAPPED = 5
"""How many capped identifier values the quality report lists (largest first)."""

_CAP_KIND = r"regexp_replace(regexp_replace(reason, ' \([^)]*\)$', ''), '[0-9]+', 'N', 'g')"
"""A cap reason without its numbers: ``shared by N records``, ``records disagree on …``."""


# --------------------------------------------------------------------------- records


def record_of(wh: Warehouse, customer_id: str) -> tuple[int, int]:
    """(rid, cid) of a record key.

    Raises:
        NotFound: no record has that key.
    """
    row = wh.execute(
        "SELECT rid, cid FROM meta.customer_keys WHERE customer_id = ?", [customer_id]
    ).fetchone()
    if row is None:
        raise NotFound(
            f"customer `{customer_id}` does not exist",
            hint="customer ids are the customer master's keys, e.g. C00000001",
        )
    return int(row[0]), int(row[1])


def other_records(wh: Warehouse, rid: int, cid: int) -> list[int]:
    """The record numbers of customer ``cid`` other than ``rid``, oldest first."""
    rows = wh.rows(
        "SELECT rid FROM meta.customer_keys WHERE cid = ? AND rid <> ? ORDER BY rid", [cid, rid]
    )
    return [int(r[0]) for r in rows]


def customer_count(wh: Warehouse) -> int:
    """Customers that have a cid."""
    return int(wh.scalar("SELECT count(DISTINCT cid) FROM meta.customer_keys"))


def customer_universe(wh: Warehouse) -> pa.Table:
    """Every customer's cid once (``cid`` uint32, ascending), as Arrow."""
    return wh.arrow(
        "SELECT DISTINCT CAST(cid AS UINTEGER) AS cid FROM meta.customer_keys ORDER BY cid"
    )


def customers_stamp(wh: Warehouse) -> str:
    """A stamp that changes whenever the set of customers may have: records added (count,
    last record number) or a resolution that moved records between customers."""
    rows, last = wh.rows("SELECT count(*), coalesce(max(rid), 0) FROM meta.customer_keys")[0]
    return f"{int(rows)}:{int(last)}:{latest_resolution_id(wh)}"


def customer_keys_table(wh: Warehouse) -> pa.Table:
    """Every customer's cid (``uint32``) and customer id (its surviving record's key), in
    no particular order, as Arrow."""
    return wh.arrow(
        "SELECT CAST(cid AS UINTEGER) AS cid, customer_id FROM meta.customer_keys WHERE rid = cid"
    )


def customer_keys_of(wh: Warehouse, cids: pa.Array) -> pa.Array:
    """The customer id (the surviving record's key) of each cid, in the order given
    (ascending cids, as bitmaps give them); one join, no Python list."""
    with wh.registered("tw_wanted_cids", pa.table({"cid": cids, "pos": np.arange(len(cids))})):
        found = wh.arrow(
            "SELECT k.customer_id FROM tw_wanted_cids w "
            "LEFT JOIN meta.customer_keys k ON k.rid = w.cid AND k.cid = w.cid ORDER BY w.pos"
        )
    return found.column("customer_id").combine_chunks()


@dataclass(frozen=True, slots=True)
class Member:
    """One record of a customer."""

    customer_id: str
    """The record's key in the customer master."""
    rid: int
    file: str | None
    """The file the record was last read from (``None``: no longer in the master)."""
    line: int | None
    survivor: bool
    """Whether the customer carries this record's number (its oldest record)."""
    linked_by: str | None
    """What linked the record to the customer, from its latest identity event."""


def members(wh: Warehouse, master: SourceSpec, cid: int) -> list[Member]:
    """The records of a customer, oldest first, each with what links it to the others."""
    if not wh.has_table(*RECORDS) or master.customer_key is None:
        return []
    key = ident(master.customer_key)
    rows = wh.execute(
        f"SELECT k.customer_id, k.rid, r._file, r._line, (SELECT e.reason FROM ident.events e "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"WHERE e.rid = k.rid AND e.new_cid = k.cid ORDER BY e.resolution_id DESC LIMIT 1) "
        f"FROM meta.customer_keys k LEFT JOIN {table(*RECORDS)} r ON r.{key} = k.customer_id "
        "WHERE k.cid = ? ORDER BY k.rid",
        [cid],
    ).fetchall()
    return [
        Member(
            customer_id=r[0],
            rid=int(r[1]),
            file=r[2],
            line=r[3],
            survivor=int(r[1]) == cid,
            linked_by=r[4],
        )
        for r in rows
    ]


def lineage(wh: Warehouse, cid: int) -> dict[str, str]:
    """Golden-record attribute → the record key its value came from."""
    rows = wh.rows(
        "SELECT l.attribute, k.customer_id FROM ident.lineage l "
        "JOIN meta.customer_keys k ON k.rid = l.rid WHERE l.cid = ? ORDER BY l.attribute",
        [cid],
    )
    return {str(a): str(k) for a, k in rows}


@dataclass(frozen=True, slots=True)
class IdentityEvent:
    """A record that changed customer in a resolution."""

    resolution_id: int
    at: datetime
    record: str
    """The record's key."""
    kind: str
    """``merge``, ``split`` or ``move``."""
    old_cid: int
    new_cid: int
    reason: str | None


def identity_history(wh: Warehouse, cid: int) -> list[IdentityEvent]:
    """Merges, splits and moves that involved this customer's records or its cid."""
    rows = wh.rows(
        "SELECT e.resolution_id, e.happened_at, e.customer_id, e.kind, e.old_cid, e.new_cid, "
        "e.reason FROM ident.events e WHERE e.new_cid = ? OR e.old_cid = ? "
        "ORDER BY e.resolution_id, e.rid",
        [cid, cid],
    )
    return [IdentityEvent(*row) for row in rows]


# --------------------------------------------------------------------------- review


@dataclass(frozen=True, slots=True)
class ReviewPair:
    """A pair of records waiting for a person, with the fields matching compared."""

    probability: float
    left: dict[str, Any]
    """``rid``, ``customer_id`` and the master's ``match_on`` fields of one record."""
    right: dict[str, Any]


def review_total(wh: Warehouse) -> int:
    """How many record pairs wait for a person in all."""
    if not wh.has_table("ident", "review"):
        return 0
    return int(wh.scalar("SELECT count(*) FROM ident.review"))


def review_queue(wh: Warehouse, master: SourceSpec | None, *, limit: int) -> list[ReviewPair]:
    """Record pairs waiting for a person, most likely first (a page of ``limit``)."""
    if master is None or master.customer_key is None or not wh.has_table(*RECORDS):
        return []
    shown = ", ".join(
        f"r.{ident(f.columns[0])} AS {ident(f.name)}"
        if len(f.columns) == 1
        else f"concat_ws(' ', {', '.join(f'r.{ident(c)}' for c in f.columns)}) AS {ident(f.name)}"
        for f in master.match_fields
    )
    record = (
        f"SELECT k.rid, k.customer_id{', ' + shown if shown else ''} "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"FROM meta.customer_keys k JOIN {table(*RECORDS)} r "
        f"ON r.{ident(master.customer_key)} = k.customer_id"
    )
    order = "ORDER BY q.probability DESC, q.rid_l, q.rid_r"
    rows = wh.rows(
        # the page of pairs first, then their records; a table alias is a struct (dict)
        f"WITH rec AS ({record}), q AS (SELECT * FROM ident.review q {order} "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"LIMIT {int(limit)}) SELECT q.probability, l, r FROM q "
        f"JOIN rec l ON l.rid = q.rid_l JOIN rec r ON r.rid = q.rid_r {order}"
    )
    return [ReviewPair(float(p), left, right) for p, left, right in rows]


# --------------------------------------------------------------------------- publication


def moved_keys_query(*, up_to_rid: int, after_resolution: int) -> str:
    """A warehouse query of ``(customer_id, cid)`` for the records up to ``up_to_rid``
    whose customer changed in a resolution after ``after_resolution``."""
    return (
        "SELECT customer_id, cid FROM meta.customer_keys "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"WHERE rid <= {int(up_to_rid)} AND rid IN (SELECT rid FROM ident.events "
        f"WHERE resolution_id > {int(after_resolution)})"
    )


def matching_model(wh: Warehouse) -> Resolution | None:
    """The last resolution whose report holds a trained matching model (``report`` is
    that model), or None when no resolution has trained one."""
    if not wh.has_table("ident", "resolutions"):
        return None
    for resolution_id, resolved_at, text in wh.rows(
        "SELECT resolution_id, resolved_at, report FROM ident.resolutions "
        "ORDER BY resolution_id DESC"
    ):
        try:
            model = json.loads(text).get("model")
        except (ValueError, AttributeError):
            continue
        if isinstance(model, dict):
            return Resolution(int(resolution_id), resolved_at, model)
    return None


def latest_resolution_id(wh: Warehouse) -> int:
    """The number of the last resolution (0: none yet)."""
    return int(wh.scalar("SELECT coalesce(max(resolution_id), 0) FROM ident.resolutions"))


# --------------------------------------------------------------------------- quality


@dataclass(frozen=True, slots=True)
class ClusterSize:
    """How many customers hold ``size`` records."""

    size: int
    customers: int


@dataclass(frozen=True, slots=True)
class IdentifierCounts:
    """One identity type's identifiers among the current records."""

    type: str
    strong: bool
    """Whether the type links records (``identity.strong``)."""
    rows: int
    records: int
    """Records holding at least one value."""
    values: int
    shared: int
    """Values held by several records."""
    capped: int
    linking: int
    """Shared values that link records (strong, not capped)."""


@dataclass(frozen=True, slots=True)
class CapReason:
    """Capped values of one type for one reason (its numbers left out)."""

    type: str
    reason: str
    values: int
    records: int
    """Summed over the values."""


@dataclass(frozen=True, slots=True)
class CappedValue:
    """A capped value, masked."""

    type: str
    value: str
    records: int
    reason: str


@dataclass(frozen=True, slots=True)
class CappedIdentifiers:
    """Identifier values that link nobody."""

    values: int
    by_reason: list[CapReason]
    top: list[CappedValue]
    """The values shared by the most records (at most :data:`TOP_CAPPED`)."""


@dataclass(frozen=True, slots=True)
class MatchingCounts:
    """Probabilistic pairs of the last resolution."""

    threshold: float
    matches: int
    """Pairs at or above the threshold."""
    review: int


@dataclass(frozen=True, slots=True)
class Resolution:
    """The last resolution and its report."""

    resolution_id: int
    resolved_at: datetime
    report: Any
    """The report as JSON (the text when it does not parse)."""


@dataclass(frozen=True, slots=True)
class IdentityQuality:
    """The identity section of the quality report."""

    master: str
    resolved: bool
    up_to_date: bool
    """No ingest changed records or identifiers since the last resolution."""
    records: int
    customers: int
    merged_customers: int
    merged_records: int
    cluster_sizes: list[ClusterSize]
    identifiers: list[IdentifierCounts]
    linking_identifiers: int
    capped: CappedIdentifiers
    matching: MatchingCounts
    last_resolution: Resolution | None


def identity_quality(wh: Warehouse, master: SourceSpec, settings: Settings) -> IdentityQuality:
    """Records and customers, cluster sizes, identifiers, caps, matches and the last report."""
    threshold = float(settings.identity.matching.upper)
    if not wh.has_table(*RECORDS) or not wh.has_table("ident", "resolutions"):
        return IdentityQuality(
            master=master.name,
            resolved=False,
            up_to_date=True,
            records=0,
            customers=0,
            merged_customers=0,
            merged_records=0,
            cluster_sizes=[],
            identifiers=[],
            linking_identifiers=0,
            capped=CappedIdentifiers(0, [], []),
            matching=MatchingCounts(threshold, 0, 0),
            last_resolution=None,
        )
    assert master.customer_key is not None  # noqa: S101 (the spec requires it)
    # customer keys outlive records that a later ingest no longer holds: only current ones
    current = (
        "SELECT k.rid, k.cid FROM meta.customer_keys k "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"SEMI JOIN {table(*RECORDS)} r ON r.{ident(master.customer_key)} = k.customer_id"
    )
    sizes = _cluster_sizes(wh, current)
    identifiers = _identifiers(wh, current, settings)
    return IdentityQuality(
        master=master.name,
        resolved=bool(wh.scalar("SELECT count(*) FROM ident.resolutions")),
        up_to_date=not is_dirty(wh),
        records=int(wh.scalar(f"SELECT count(*) FROM {table(*RECORDS)}")),  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        customers=sum(s.customers for s in sizes),
        merged_customers=sum(s.customers for s in sizes if s.size > 1),
        merged_records=sum(s.size * s.customers for s in sizes if s.size > 1),
        cluster_sizes=sizes,
        identifiers=identifiers,
        linking_identifiers=sum(t.linking for t in identifiers),
        capped=_capped(wh),
        matching=_matching(wh, threshold),
        last_resolution=_last_resolution(wh),
    )


def _cluster_sizes(wh: Warehouse, current: str) -> list[ClusterSize]:
    rows = wh.rows(
        f"SELECT size, count(*) FROM (SELECT cid, count(*) AS size FROM ({current}) "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        "GROUP BY cid) GROUP BY size ORDER BY size"
    )
    return [ClusterSize(int(size), int(n)) for size, n in rows]


def _matching(wh: Warehouse, threshold: float) -> MatchingCounts:
    matches = wh.scalar("SELECT count(*) FROM ident.matches WHERE probability >= ?", [threshold])
    review = wh.scalar("SELECT count(*) FROM ident.review")
    return MatchingCounts(threshold, int(matches), int(review))


def _identifiers(wh: Warehouse, current: str, settings: Settings) -> list[IdentifierCounts]:
    """Per identity type: rows collected, records holding one, distinct values, values
    shared by several records, of those the capped ones and the ones that link records."""
    strong = lit_list(settings.identity.strong) if settings.identity.strong else "[]::VARCHAR[]"
    rows = wh.rows(
        f"WITH cur AS (SELECT type, value, rid FROM ident.identifiers "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"WHERE rid IN (SELECT rid FROM ({current}))), "
        "v AS (SELECT type, value, count(DISTINCT rid) AS n FROM cur GROUP BY type, value), "
        "c AS (SELECT DISTINCT type, value FROM ident.capped), "
        "t AS (SELECT type, count(*) AS n_rows, count(DISTINCT rid) AS n_records FROM cur "
        "GROUP BY type) "
        "SELECT t.type, t.n_rows, t.n_records, count(*), count(*) FILTER (WHERE v.n > 1), "
        "count(*) FILTER (WHERE v.n > 1 AND c.value IS NOT NULL), "
        f"count(*) FILTER (WHERE v.n > 1 AND c.value IS NULL AND list_contains({strong}, t.type)) "
        "FROM t JOIN v ON v.type = t.type LEFT JOIN c ON c.type = v.type AND c.value = v.value "
        "GROUP BY t.type, t.n_rows, t.n_records ORDER BY t.type"
    )
    chosen = set(settings.identity.strong)
    return [
        IdentifierCounts(
            type=str(kind),
            strong=str(kind) in chosen,
            rows=int(n_rows),
            records=int(n_records),
            values=int(values),
            shared=int(shared),
            capped=int(capped),
            linking=int(linking),
        )
        for kind, n_rows, n_records, values, shared, capped, linking in rows
    ]


def _capped(wh: Warehouse) -> CappedIdentifiers:
    """Capped values per type and reason kind (``records``: summed over the values), and
    the values shared by the most records, masked."""
    by_reason = [
        CapReason(str(kind), str(reason), int(n), int(records))
        for kind, reason, n, records in wh.rows(
            f"SELECT type, {_CAP_KIND} AS kind, count(*), sum(records) FROM ident.capped "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            "GROUP BY ALL ORDER BY 3 DESC, 1, 2"
        )
    ]
    top = [
        CappedValue(
            str(kind),
            mask_identifier(str(kind), str(value)),
            int(records),
            mask_reason(str(reason)),
        )
        for kind, value, records, reason in wh.rows(
            "SELECT type, value, records, reason FROM ident.capped "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            f"ORDER BY records DESC, type, value LIMIT {TOP_CAPPED}"
        )
    ]
    return CappedIdentifiers(sum(r.values for r in by_reason), by_reason, top)


def _last_resolution(wh: Warehouse) -> Resolution | None:
    row = wh.execute(
        "SELECT resolution_id, resolved_at, report FROM ident.resolutions "
        "ORDER BY resolution_id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    try:
        details: Any = json.loads(row[2])
    except ValueError:
        details = row[2]  # kept as text rather than failing the whole report
    return Resolution(int(row[0]), row[1], details)


_NAMES_IN_REASON = re.compile(r"^(records disagree on name) \((?!\d+ names\))(.*)\)$")
"""A cap reason written before names were counted instead of listed: ``(a / b)``."""


def mask_reason(reason: str) -> str:
    """A cap reason without personal data: names that an older resolution wrote into
    ``records disagree on name (…)`` are masked like identifiers."""
    found = _NAMES_IN_REASON.match(reason)
    if found is None:
        return reason
    names = [mask_identifier("name", n.strip()) for n in found[2].split(" / ")]
    return f"{found[1]} ({' / '.join(names)})"


def mask_identifier(kind: str, value: str) -> str:
    """A personal identifier with its middle hidden.

    Phones keep the country code, the first digits and the last four
    (``+86138****8000``), emails the first two characters and the domain
    (``ab***@qq.com``), other values at most a quarter of their characters at each end.
    """
    if kind == "phone" or (value.startswith("+") and value[1:].isdigit()):
        if len(value) >= 11:
            return value[:-8] + "****" + value[-4:]
    elif kind == "email" or "@" in value:
        local, at, domain = value.rpartition("@")
        if at:
            return local[: min(2, max(len(local) - 1, 0))] + "***@" + domain
    keep = min(3, len(value) // 4)
    return value[:keep] + "***" + value[len(value) - keep :] if keep else "***"
