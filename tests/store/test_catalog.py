"""The catalog on SQLite and on the real PostgreSQL server: migrations and ingest runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from pyroaring import BitMap

from tagwise.audience.snapshot import decode, encode
from tagwise.errors import Conflict
from tagwise.store.catalog import _MIGRATIONS, Catalog, IngestRun, SegmentSnapshot, resolve_url
from tagwise.store.catalog import HEAD as CATALOG_HEAD
from tagwise.store.tables import METADATA

VERSIONS = Path(__file__).resolve().parents[2] / "src/tagwise/store/migrations/versions"
HEAD = max(p.name.split("_", 1)[0] for p in VERSIONS.glob("[0-9]*.py"))


@pytest.fixture(params=["sqlite", "postgres"])
def catalog_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return resolve_url("sqlite:///.tagwise/catalog.sqlite", tmp_path)
    return request.getfixturevalue("pg_url")


def test_migrates_to_head_and_matches_the_declared_tables(catalog_url: str) -> None:
    catalog = Catalog(catalog_url)
    assert catalog.revision() == ""
    assert catalog.migrate() == HEAD
    assert catalog.migrate() == HEAD  # idempotent
    inspector = sa.inspect(catalog.engine)
    for table in METADATA.sorted_tables:
        migrated = {c["name"] for c in inspector.get_columns(table.name)}
        assert migrated == {c.name for c in table.columns}, table.name
    catalog.close()


def test_ingest_runs_round_trip(catalog_url: str) -> None:
    catalog = Catalog(catalog_url)
    catalog.migrate()
    started = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    run_id = catalog.start_ingest("orders", started, actor="alice@cli")
    assert catalog.ingest_runs()[0].status == "running"
    catalog.finish_ingest(
        IngestRun(
            source="orders",
            status="ok",
            started_at=started,
            finished_at=None,
            files=["data/订单.csv"],
            read=10,
            loaded=8,
            rejected=2,
            reasons={"金额: not a number": 2},
            id=run_id,
        )
    )
    other = catalog.start_ingest("events", started, actor="importer@api")
    (run,) = catalog.ingest_runs(source="orders")
    assert (run.id, run.read, run.loaded, run.rejected) == (run_id, 10, 8, 2)
    assert run.files == ["data/订单.csv"]
    assert run.reasons == {"金额: not a number": 2}
    assert [r.id for r in catalog.ingest_runs()] == [other, run_id]
    assert [r.actor for r in catalog.ingest_runs()] == ["importer@api", "alice@cli"]
    catalog.close()


def test_runs_record_the_actor_they_are_given(catalog_url: str) -> None:
    catalog = Catalog(catalog_url)
    catalog.migrate()
    first = catalog.start_run(datetime(2026, 11, 1).date(), ["a"], actor="bob@python")
    second = catalog.start_run(datetime(2026, 11, 2).date(), [], actor="scheduler@api")
    assert {r.id: r.actor for r in catalog.runs()} == {
        first: "bob@python",
        second: "scheduler@api",
    }
    catalog.close()


def test_meta_values_are_replaced(catalog_url: str) -> None:
    catalog = Catalog(catalog_url)
    catalog.migrate()
    catalog.set_meta("name", "一号店")
    catalog.set_meta("name", "二号店")
    assert catalog.get_meta("name") == "二号店"
    assert catalog.get_meta("missing") is None
    catalog.close()


def test_relative_sqlite_paths_resolve_inside_the_workspace(tmp_path: Path) -> None:
    url = resolve_url("sqlite:///.tagwise/c.sqlite", tmp_path)
    assert url == f"sqlite:///{tmp_path}/.tagwise/c.sqlite"
    assert resolve_url("postgresql+psycopg://u@h/db", tmp_path) == "postgresql+psycopg://u@h/db"


def test_a_catalog_at_the_first_revision_upgrades_with_its_data(catalog_url: str) -> None:
    catalog = Catalog(catalog_url)
    assert catalog.migrate("0001") == "0001"
    started = datetime(2026, 11, 1, tzinfo=UTC)
    run_id = catalog.start_ingest("orders", started, actor="alice@cli")
    assert catalog.migrate() == HEAD
    assert [r.id for r in catalog.ingest_runs()] == [run_id]
    assert catalog.runs() == []
    catalog.close()


def test_head_is_alembics_newest_revision() -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == CATALOG_HEAD == HEAD


def test_segment_snapshots_round_trip_and_never_change(catalog_url: str) -> None:
    catalog = Catalog(catalog_url)
    catalog.migrate()
    members = BitMap([3, 7, 1_000_000])
    bitmap, ids = encode(members, pa.array(["C3", "会员7", "C1000000"]))
    taken = SegmentSnapshot(
        segment="高价值女性",
        label="双11活动",
        version=2,
        expr="gender_label = '女'",
        seq=41,
        taken_at=datetime(2026, 11, 11, 8, 0, tzinfo=UTC),
        actor="alice@cli",
        members=3,
        bitmap=bitmap,
        customer_ids=ids,
    )
    catalog.add_snapshot(taken)
    with pytest.raises(Conflict, match="already has a snapshot"):
        catalog.add_snapshot(taken)
    [listed] = catalog.snapshots("高价值女性")
    assert (listed.label, listed.members, listed.seq, listed.bitmap) == ("双11活动", 3, 41, b"")
    assert listed.taken_at == taken.taken_at
    found = catalog.snapshot("高价值女性", "双11活动")
    assert found is not None
    cids, customer_ids = decode(found.bitmap, found.customer_ids)
    assert list(cids) == [3, 7, 1_000_000]
    assert customer_ids.to_pylist() == ["C3", "会员7", "C1000000"]
    assert catalog.snapshot("高价值女性", "other") is None
    catalog.close()
