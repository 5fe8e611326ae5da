"""The data quality report (``tagwise quality``): how good the ingested data is.

Per source, from the warehouse as the last ingest left it:

* **read / loaded / rejected**: loaded rows are the rows of ``src.<source>`` (for the
  customer master, its *records* in the identity store: ``src.<master>`` is their golden
  record), rejected rows those of ``meta.quarantine``; ``read = loaded + rejected``;
* **completeness** of every declared column: the share of loaded rows holding a value
  (not null, and for text not empty), all columns counted in one scan of the table;
* **validity** of every declared column: the share of read rows whose value neither got
  the row rejected nor was loaded as null because it did not parse (a quarantined row is
  charged to the column of its first problem; a row rejected as a whole, such as a
  malformed line, is charged to no column);
* **duplicate rate**: rows rejected for repeating a primary key, over rows read;
* rejected rows by reason, as ``tagwise ingest`` counts them, and the **warnings**: values
  of optional columns that did not parse and were loaded as null (``on_invalid: null``,
  the default of an optional column), per column (``nulled``) and by reason; their rows
  are loaded, so they do not count as rejected.

For the customer master, the identity section
(:func:`tagwise.identity.store.identity_quality`) describes the last resolution: records
and customers, how many customers hold several records and the distribution of records
per customer, identifiers collected per type and how many link records, the capped
identifiers (values are masked: the report is shared widely), the probabilistic pairs
merged and waiting for review, and the last resolution's report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from tagwise.identity.layout import rows_table
from tagwise.identity.store import TOP_CAPPED, identity_quality, mask_identifier
from tagwise.ingest.pipeline import REASON_KIND, WARNING_FILTER
from tagwise.spec.sources import SourceSpec, SourcesSpec
from tagwise.store.sql import ident, table

if TYPE_CHECKING:
    from tagwise.settings import Settings
    from tagwise.store.warehouse import Warehouse

__all__ = ["TOP_CAPPED", "mask_identifier", "quality_report"]

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
        report["identity"] = asdict(identity_quality(wh, master, settings))
    return report


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _rejections(wh: Warehouse) -> dict[str, list[tuple[str | None, str, int, int]]]:
    """Per source: (file column, reason kind, rows, duplicate-key rows), one quarantine scan."""
    found: dict[str, list[tuple[str | None, str, int, int]]] = {}
    if not wh.has_table("meta", "quarantine"):
        return found
    rows = wh.rows(
        f'SELECT source, "column", {REASON_KIND} AS kind, count(*), '  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        "count(*) FILTER (WHERE reason LIKE 'duplicate key%'), "
        f"{WARNING_FILTER} AS warning FROM meta.quarantine "
        "GROUP BY ALL ORDER BY 1, 4 DESC, 3"
    )
    for source, column, kind, count, duplicates, warning in rows:
        found.setdefault(str(source), []).append(
            (
                None if column is None else str(column),
                str(kind),
                int(count),
                -1 if warning else int(duplicates),
            )
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
        row = wh.execute(f"SELECT {', '.join(['count(*)', *counts])} FROM {relation}").fetchone()  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        assert row is not None  # noqa: S101 (an aggregate always returns a row)
        loaded = int(row[0])
        filled = {c: int(n) for c, n in zip(present, row[1:], strict=True)}
    # a duplicate count of -1 marks a warning: a value kept as null, its row loaded
    warnings = [(c, k, n) for c, k, n, d in rejections if d < 0]
    rejections = [r for r in rejections if r[3] >= 0]
    rejected = sum(n for _, _, n, _ in rejections)
    duplicates = sum(d for _, _, _, d in rejections)
    read = loaded + rejected
    by_column: dict[str, int] = {}
    for column, _, count, _ in rejections:
        if column is not None:
            by_column[column] = by_column.get(column, 0) + count
    nulled: dict[str, int] = {}
    warning_reasons: dict[str, int] = {}
    for column, kind, count in warnings:
        if column is not None:
            nulled[column] = nulled.get(column, 0) + count
        warning_reasons[kind] = warning_reasons.get(kind, 0) + count
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
                "validity": _share(read - charged - nulled.get(file_column, 0), read),
                "nulled": nulled.get(file_column, 0),
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
        "warnings": sum(warning_reasons.values()),
        "warning_reasons": dict(
            sorted(warning_reasons.items(), key=lambda item: (-item[1], item[0]))
        ),
    }


# --------------------------------------------------------------------------- identity
