"""The data quality report (``tagwise quality``): how good the ingested data is.

Per source, from the warehouse as the last ingest left it:

* **read / loaded / rejected**: loaded rows are the rows of ``src.<source>`` (for the
  customer master, the *records* in ``ident.records``: ``src.<master>`` is their golden
  record), rejected rows those of ``meta.quarantine``; ``read = loaded + rejected``;
* **completeness** of every declared column: the share of loaded rows holding a value
  (not null, and for text not empty), all columns counted in one scan of the table;
* **validity** of every declared column: the share of read rows not rejected because of
  that column (a quarantined row is charged to the column of its first problem; a row
  rejected as a whole, such as a malformed line, is charged to no column);
* **duplicate rate**: rows rejected for repeating a primary key, over rows read;
* rejected rows by reason, as ``tagwise ingest`` counts them.

For the customer master, the identity section reads the ``ident.*`` tables of the last
resolution: records and customers, how many customers hold several records and the
distribution of records per customer, identifiers collected per type and how many link
records, the capped identifiers (values are masked: the report is shared widely), the
probabilistic pairs merged and waiting for review, and the last resolution's report.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tagwise.identity.resolve import RECORDS, is_dirty, rows_table
from tagwise.ingest.pipeline import REASON_KIND
from tagwise.spec.sources import SourceSpec, SourcesSpec
from tagwise.store.sql import ident, lit_list, table

if TYPE_CHECKING:
    from tagwise.settings import Settings
    from tagwise.store.warehouse import Warehouse

__all__ = ["TOP_CAPPED", "mask_identifier", "quality_report"]

TOP_CAPPED = 5
"""How many capped identifier values the report lists (largest first)."""

_CAP_KIND = r"regexp_replace(regexp_replace(reason, ' \([^)]*\)$', ''), '[0-9]+', 'N', 'g')"
"""A cap reason without its numbers: ``shared by N records``, ``records disagree on …``."""
_TEXT_TYPES = ("VARCHAR", "TEXT", "STRING")


def quality_report(
    wh: Warehouse,
    sources: SourcesSpec,
    settings: Settings,
    names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The quality of the ingested sources (all by default) and of identity resolution.

    The identity section is included when the customer master is among the sources
    reported; it is ``None`` otherwise. A workspace that never ingested gets zero counts
    and ``None`` shares.

    Raises:
        NotFound: a named source is not declared (with a did-you-mean hint).
    """
    specs = sources.ordered(list(names) if names else None)
    rejections = _rejections(wh)
    report: dict[str, Any] = {
        "sources": [_source(wh, spec, rejections.get(spec.name, [])) for spec in specs],
        "identity": None,
    }
    master = sources.customers
    if master is not None and any(s.name == master.name for s in specs):
        report["identity"] = _identity(wh, master, settings)
    return report


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


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _rejections(wh: Warehouse) -> dict[str, list[tuple[str | None, str, int, int]]]:
    """Per source: (file column, reason kind, rows, duplicate-key rows), one quarantine scan."""
    found: dict[str, list[tuple[str | None, str, int, int]]] = {}
    if not wh.has_table("meta", "quarantine"):
        return found
    rows = wh.rows(
        f'SELECT source, "column", {REASON_KIND} AS kind, count(*), '
        "count(*) FILTER (WHERE reason LIKE 'duplicate key%') FROM meta.quarantine "
        "GROUP BY ALL ORDER BY 1, 4 DESC, 3"
    )
    for source, column, kind, count, duplicates in rows:
        found.setdefault(str(source), []).append(
            (None if column is None else str(column), str(kind), int(count), int(duplicates))
        )
    return found


def _source(
    wh: Warehouse, spec: SourceSpec, rejections: list[tuple[str | None, str, int, int]]
) -> dict[str, Any]:
    schema, name = rows_table(spec)
    ingested = wh.has_table(schema, name)
    filled: dict[str, int] = {}
    loaded = 0
    if ingested:
        relation = table(schema, name)
        types = dict(wh.columns(relation))
        present = [c for c in spec.columns if c in types]
        counts = [
            f"count(nullif(trim({ident(c)}), ''))"
            if types[c].upper() in _TEXT_TYPES
            else f"count({ident(c)})"
            for c in present
        ]
        row = wh.execute(f"SELECT {', '.join(['count(*)', *counts])} FROM {relation}").fetchone()
        assert row is not None  # noqa: S101 (an aggregate always returns a row)
        loaded = int(row[0])
        filled = {c: int(n) for c, n in zip(present, row[1:], strict=True)}
    rejected = sum(n for _, _, n, _ in rejections)
    duplicates = sum(d for _, _, _, d in rejections)
    read = loaded + rejected
    by_column: dict[str, int] = {}
    for column, _, count, _ in rejections:
        if column is not None:
            by_column[column] = by_column.get(column, 0) + count
    reasons: dict[str, int] = {}
    for _, kind, count, _ in rejections:
        reasons[kind] = reasons.get(kind, 0) + count
    columns = []
    for column, declared in spec.columns.items():
        file_column = spec.file_column(column)
        charged = by_column.get(file_column, 0)
        # None: the table predates the column (declared after the last ingest)
        has = filled.get(column) if ingested else 0
        columns.append(
            {
                "column": column,
                "file_column": file_column,
                "type": declared.type.value,
                "filled": has,
                "completeness": None if has is None else _share(has, loaded),
                "rejected": charged,
                "validity": _share(read - charged, read),
            }
        )
    return {
        "name": spec.name,
        "role": spec.role,
        "table": f"{schema}.{name}",
        "ingested": ingested,
        "read": read,
        "loaded": loaded,
        "rejected": rejected,
        "rejected_rate": _share(rejected, read),
        "duplicates": duplicates,
        "duplicate_rate": _share(duplicates, read),
        "columns": columns,
        "reasons": dict(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
    }


# --------------------------------------------------------------------------- identity


def _identity(wh: Warehouse, master: SourceSpec, settings: Settings) -> dict[str, Any]:
    threshold = float(settings.identity.matching.upper)
    report: dict[str, Any] = {
        "master": master.name,
        "resolved": False,
        "up_to_date": True,
        "records": 0,
        "customers": 0,
        "merged_customers": 0,
        "merged_records": 0,
        "cluster_sizes": [],
        "identifiers": [],
        "linking_identifiers": 0,
        "capped": {"values": 0, "by_reason": [], "top": []},
        "matching": {"threshold": threshold, "matches": 0, "review": 0},
        "last_resolution": None,
    }
    if not wh.has_table(*RECORDS) or not wh.has_table("ident", "resolutions"):
        return report
    assert master.customer_key is not None  # noqa: S101 (the spec requires it)
    report["resolved"] = bool(wh.scalar("SELECT count(*) FROM ident.resolutions"))
    report["up_to_date"] = not is_dirty(wh)
    report["records"] = int(wh.scalar(f"SELECT count(*) FROM {table(*RECORDS)}"))
    # customer keys outlive records that a later ingest no longer holds: only current ones
    members = (
        "SELECT k.rid, k.cid FROM meta.customer_keys k "
        f"SEMI JOIN {table(*RECORDS)} r ON r.{ident(master.customer_key)} = k.customer_id"
    )
    sizes = [
        (int(size), int(n))
        for size, n in wh.rows(
            f"SELECT size, count(*) FROM (SELECT cid, count(*) AS size FROM ({members}) "
            "GROUP BY cid) GROUP BY size ORDER BY size"
        )
    ]
    report["cluster_sizes"] = [{"size": size, "customers": n} for size, n in sizes]
    report["customers"] = sum(n for _, n in sizes)
    report["merged_customers"] = sum(n for size, n in sizes if size > 1)
    report["merged_records"] = sum(size * n for size, n in sizes if size > 1)
    report["identifiers"] = _identifiers(wh, members, settings)
    report["linking_identifiers"] = sum(t["linking"] for t in report["identifiers"])
    report["capped"] = _capped(wh)
    report["matching"] = {
        "threshold": threshold,
        "matches": int(
            wh.scalar("SELECT count(*) FROM ident.matches WHERE probability >= ?", [threshold])
        ),
        "review": int(wh.scalar("SELECT count(*) FROM ident.review")),
    }
    report["last_resolution"] = _last_resolution(wh)
    return report


def _identifiers(wh: Warehouse, members: str, settings: Settings) -> list[dict[str, Any]]:
    """Per identity type: rows collected, records holding one, distinct values, values
    shared by several records, of those the capped ones and the ones that link records."""
    strong = lit_list(settings.identity.strong) if settings.identity.strong else "[]::VARCHAR[]"
    rows = wh.rows(
        f"WITH cur AS (SELECT type, value, rid FROM ident.identifiers "
        f"WHERE rid IN (SELECT rid FROM ({members}))), "
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
        {
            "type": str(kind),
            "strong": str(kind) in chosen,
            "rows": int(n_rows),
            "records": int(n_records),
            "values": int(values),
            "shared": int(shared),
            "capped": int(capped),
            "linking": int(linking),
        }
        for kind, n_rows, n_records, values, shared, capped, linking in rows
    ]


def _capped(wh: Warehouse) -> dict[str, Any]:
    """Capped values per type and reason kind (``records``: summed over the values), and
    the values shared by the most records, masked."""
    by_reason = [
        {"type": str(kind), "reason": str(reason), "values": int(n), "records": int(records)}
        for kind, reason, n, records in wh.rows(
            f"SELECT type, {_CAP_KIND} AS kind, count(*), sum(records) FROM ident.capped "
            "GROUP BY ALL ORDER BY 3 DESC, 1, 2"
        )
    ]
    top = [
        {
            "type": str(kind),
            "value": mask_identifier(str(kind), str(value)),
            "records": int(records),
            "reason": str(reason),
        }
        for kind, value, records, reason in wh.rows(
            "SELECT type, value, records, reason FROM ident.capped "
            f"ORDER BY records DESC, type, value LIMIT {TOP_CAPPED}"
        )
    ]
    return {
        "values": sum(r["values"] for r in by_reason),
        "by_reason": by_reason,
        "top": top,
    }


def _last_resolution(wh: Warehouse) -> dict[str, Any] | None:
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
    return {"resolution_id": int(row[0]), "resolved_at": row[1], "report": details}
