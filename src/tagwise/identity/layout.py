"""The identity tables (schema ``ident``) and the upgrade of a warehouse that predates them.

``ident.records`` holds every row of the customer master (merged or not);
``ident.identifiers`` / ``capped`` / ``matches`` / ``review`` / ``lineage`` are the last
resolution's results, ``ident.decisions`` people's decisions, ``ident.events`` and
``ident.resolutions`` the history, ``ident.state`` whether an ingest changed records
since the last resolution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tagwise.store.layout import Part, Revision, upgrade
from tagwise.store.sql import table

if TYPE_CHECKING:
    from tagwise.spec.sources import SourceSpec
    from tagwise.store.warehouse import Warehouse

__all__ = [
    "RECORDS",
    "ensure_identity",
    "is_dirty",
    "layout",
    "mark_dirty",
    "rows_table",
    "touches_identity",
]

RECORDS = ("ident", "records")
"""Where ingestion keeps the customer master's rows (every record, merged or not)."""


_TABLES = """
CREATE SCHEMA IF NOT EXISTS ident;
CREATE TABLE IF NOT EXISTS ident.identifiers (
    rid INTEGER NOT NULL, type VARCHAR NOT NULL, value VARCHAR NOT NULL, source VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS ident.capped (
    type VARCHAR NOT NULL, value VARCHAR NOT NULL, records INTEGER NOT NULL,
    reason VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS ident.matches (
    rid_l INTEGER NOT NULL, rid_r INTEGER NOT NULL, probability DOUBLE NOT NULL, weight DOUBLE
);
CREATE TABLE IF NOT EXISTS ident.review (
    rid_l INTEGER NOT NULL, rid_r INTEGER NOT NULL, probability DOUBLE NOT NULL,
    found_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS ident.decisions (
    decision_id INTEGER PRIMARY KEY, kind VARCHAR NOT NULL, rid_a INTEGER NOT NULL,
    rid_b INTEGER NOT NULL, reason VARCHAR, actor VARCHAR, decided_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS ident.events (
    resolution_id INTEGER NOT NULL, happened_at TIMESTAMP NOT NULL, rid INTEGER NOT NULL,
    customer_id VARCHAR NOT NULL, old_cid INTEGER NOT NULL, new_cid INTEGER NOT NULL,
    kind VARCHAR NOT NULL, reason VARCHAR
);
CREATE TABLE IF NOT EXISTS ident.resolutions (
    resolution_id INTEGER PRIMARY KEY, resolved_at TIMESTAMP NOT NULL, report VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS ident.lineage (
    cid INTEGER NOT NULL, attribute VARCHAR NOT NULL, rid INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ident.state (dirty BOOLEAN NOT NULL);
"""


def layout(master: Callable[[], SourceSpec | None]) -> Part:
    """The identity tables' part of the warehouse layout (:mod:`tagwise.store.layout`).

    ``master`` gives the customer master's spec; it is asked only when a revision runs
    (every command opens the warehouse, and reading sources.yaml costs time).
    """

    def create(wh: Warehouse) -> None:
        """Create the identity tables; upgrade a warehouse from before identity resolution.

        Before, ``meta.customer_keys`` gave each record its own unique cid and
        ``src.<master>`` held the records: the cid becomes the record's ``rid`` (and stays
        its customer until the next resolution), and the records are copied to
        ``ident.records``.
        """
        spec = master()
        wh.execute(_TABLES)
        columns = {c for c, _ in wh.columns("meta.customer_keys")}
        if "rid" not in columns:
            wh.execute(
                "CREATE TABLE meta.tw_keys AS SELECT customer_id, cid, first_seen, cid AS rid "
                "FROM meta.customer_keys"
            )
            wh.execute("DROP TABLE meta.customer_keys")
            wh.execute(
                "CREATE TABLE meta.customer_keys (customer_id VARCHAR PRIMARY KEY, "
                "cid INTEGER NOT NULL, first_seen TIMESTAMP NOT NULL, "
                "rid INTEGER NOT NULL UNIQUE)"
            )
            wh.execute("INSERT INTO meta.customer_keys SELECT * FROM meta.tw_keys")
            wh.execute("DROP TABLE meta.tw_keys")
        if spec is not None and wh.has_table("src", spec.name) and not wh.has_table(*RECORDS):
            wh.execute(f"CREATE TABLE {table(*RECORDS)} AS SELECT * FROM {table('src', spec.name)}")  # noqa: S608 (names quoted by table())
            mark_dirty(wh)

    return Part(
        name="identity",
        revisions=(Revision(1, create, "records, identifiers, matches, decisions, history"),),
    )


def ensure_identity(wh: Warehouse, master: Callable[[], SourceSpec | None]) -> None:
    """Bring the identity tables to the newest layout (outside a workspace's open)."""
    upgrade(wh, [layout(master)])


def mark_dirty(wh: Warehouse, *, dirty: bool = True) -> None:
    """Note that records or identifiers changed since the last resolution (call inside the
    ingest's transaction); ``dirty=False``: a resolution has caught up with them."""
    wh.execute("DELETE FROM ident.state")
    wh.execute("INSERT INTO ident.state VALUES (?)", [dirty])


def rows_table(spec: SourceSpec) -> tuple[str, str]:
    """Where a source's rows are: the customer master's are records (``src.<master>`` is
    their golden record), the other sources' are ``src.<source>``."""
    return RECORDS if spec.role == "customers" else ("src", spec.name)


def is_dirty(wh: Warehouse) -> bool:
    """Whether an ingest changed records or identifiers after the last resolution."""
    return bool(wh.scalar("SELECT coalesce(bool_or(dirty), FALSE) FROM ident.state"))


def touches_identity(spec: SourceSpec) -> bool:
    """Whether ingesting this source can change who is who."""
    return spec.role == "customers" or bool(spec.identity)
