"""End-to-end ingestion: quarantine of each bad kind, standardization, keys, idempotency."""

from __future__ import annotations

import gzip
import json
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.factories import CUSTOMER_CASES, broken_workspace, customers_csv

import tagwise


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _quarantine(ws: tagwise.Workspace, source: str) -> set[tuple]:
    rows = ws.warehouse.rows(
        'SELECT line, "column", reason FROM meta.quarantine WHERE source = ?', [source]
    )
    return {tuple(r) for r in rows}


def _snapshot(ws: tagwise.Workspace) -> dict[str, list[tuple]]:
    wh = ws.warehouse
    tables = [
        r[0] for r in wh.rows("SELECT table_name FROM duckdb_tables() WHERE schema_name='src'")
    ]
    snap = {t: sorted(map(tuple, wh.rows(f'SELECT * FROM src."{t}"')), key=repr) for t in tables}
    snap["keys"] = sorted(wh.rows("SELECT customer_id, cid FROM meta.customer_keys"))
    snap["quarantine"] = sorted(
        wh.rows(
            'SELECT source, file, line, "column", raw_value, reason, problems, record '
            "FROM meta.quarantine"
        ),
        key=repr,
    )
    return snap


@pytest.fixture
def broken(tmp_path: Path):
    case = broken_workspace(tmp_path / "ws")
    yield case
    case.ws.close()


def test_each_bad_kind_is_quarantined_with_its_line_column_and_reason(broken) -> None:
    report = broken.ws.ingest(["customers"])
    expected = {
        (broken.line_of(c), c.rejected[0], c.rejected[1]) for c in broken.cases if c.rejected
    }
    assert _quarantine(broken.ws, "customers") == expected
    (customers,) = report.sources
    data_lines = [c for c in broken.cases if c.line]
    assert customers.read == len(data_lines)
    assert customers.rejected == len(expected)
    assert customers.loaded + customers.rejected == customers.read


def test_every_good_row_loads_standardized(broken) -> None:
    broken.ws.ingest(["customers"])
    rows = broken.ws.warehouse.rows(
        "SELECT customer_id, name, gender, birthday, phone, email, level, points, vip, "
        "registered_at FROM src.customers ORDER BY customer_id"
    )
    expected = sorted(c.loaded for c in broken.cases if c.loaded)
    assert [tuple(_plain(v) for v in r) for r in rows] == expected


def test_lineage_points_at_the_physical_line(broken) -> None:
    broken.ws.ingest(["customers"])
    lines = dict(broken.ws.warehouse.rows("SELECT customer_id, _line FROM src.customers"))
    for case in broken.cases:
        if case.loaded:
            assert lines[case.loaded[0]] == broken.line_of(case)


def test_quarantine_keeps_the_raw_record(broken) -> None:
    broken.ws.ingest(["customers"])
    (record,) = broken.ws.warehouse.rows(
        "SELECT raw_value, record FROM meta.quarantine WHERE reason = 'not an integer'"
    )
    assert record[0] == "很多"
    assert json.loads(record[1])["姓名"] == "杨洋"


def test_orders_check_customers_keys_and_ranges(broken) -> None:
    report = broken.ws.ingest()
    assert [s.name for s in report.sources] == ["customers", "orders"]
    assert _quarantine(broken.ws, "orders") == {
        (4, "customer_id", "unknown customer"),
        (5, "amount", "below the minimum 0"),
        (6, "order_id", "duplicate key (first at data/orders.csv:2)"),
        (7, "amount", "not a number"),
        (8, "paid_at", "missing required value"),
        (9, "customer_id", "unknown customer"),
    }
    rows = broken.ws.warehouse.rows(
        "SELECT o.order_id, o.amount, o.cid = k.cid FROM src.orders o "
        "JOIN meta.customer_keys k ON k.customer_id = o.customer_id ORDER BY 1"
    )
    assert rows == [("O1", 100.5, True), ("O2", 1200.0, True), ("O8", 88.0, True)]


def test_reingesting_the_same_files_changes_nothing(broken) -> None:
    first = broken.ws.ingest().model_dump()
    before = _snapshot(broken.ws)
    second = broken.ws.ingest().model_dump()
    assert _snapshot(broken.ws) == before
    loaded = {s["name"]: s["loaded"] for s in first["sources"]}
    assert first["sources"][0]["new_customers"] == loaded["customers"] > 0
    assert [s["loaded"] for s in second["sources"]] == [s["loaded"] for s in first["sources"]]
    assert all(s["new_customers"] == 0 for s in second["sources"])


def test_cids_are_dense_stable_and_never_reused(broken) -> None:
    broken.ws.ingest(["customers"])
    keys = dict(broken.ws.warehouse.rows("SELECT customer_id, cid FROM meta.customer_keys"))
    assert sorted(keys.values()) == list(range(1, len(keys) + 1))
    # drop C001, add two customers: old cids stay, C001 keeps its cid, new ones come after
    cases = [c for c in CUSTOMER_CASES if not c.line.startswith(b"C001,")]
    extra = [
        type(cases[0])("N001,新客,男,,13700000001,,普通会员,1,是,2025-01-01".encode(), ()),
        type(cases[0])("N002,新客二,女,,13700000002,,普通会员,1,是,2025-01-02".encode(), ()),
    ]
    (broken.root / "data" / "customers.csv").write_bytes(customers_csv(cases + extra))
    report = broken.ws.ingest(["customers"])
    after = dict(broken.ws.warehouse.rows("SELECT customer_id, cid FROM meta.customer_keys"))
    assert report.sources[0].new_customers == 2
    assert {k: after[k] for k in keys} == keys
    assert sorted(after[k] for k in ("N001", "N002")) == [len(keys) + 1, len(keys) + 2]
    loaded = {r[0] for r in broken.ws.warehouse.rows("SELECT customer_id FROM src.customers")}
    assert "C001" not in loaded


def test_a_source_that_cannot_be_read_keeps_its_previous_data(broken) -> None:
    broken.ws.ingest()
    before = _snapshot(broken.ws)
    (broken.root / "data" / "orders.csv").unlink()
    report = broken.ws.ingest()
    assert [e.source for e in report.errors] == ["orders"]
    assert report.errors[0].code == "source"
    assert "orders.csv" in report.errors[0].message
    assert _snapshot(broken.ws)["orders"] == before["orders"]


def test_missing_declared_column_names_the_column_and_what_the_file_has(broken) -> None:
    text = (broken.root / "data" / "orders.csv").read_text().replace("amount", "amnt", 1)
    (broken.root / "data" / "orders.csv").write_text(text)
    report = broken.ws.ingest()
    (err,) = report.errors
    assert err.source == "orders"
    assert "`amount` is missing" in err.message
    assert "did you mean `amnt`" in (err.hint or "")


def test_gb18030_csv_with_an_undecodable_line(tmp_path: Path) -> None:
    ws = tagwise.init(tmp_path / "ws")
    (ws.root / "sources.yaml").write_text(
        "sources:\n  tickets:\n    path: t.csv\n    encoding: gb18030\n    primary_key: [id]\n"
        "    columns:\n      id: {type: integer}\n      kind: {type: string, values: [投诉, 咨询]}\n"
        "      text: {type: string}\n",
        encoding="utf-8",
    )
    lines = ["id,kind,text", "1,投诉,物流太慢，包装破损", '2,咨询,"发票,怎么开"']
    body = (
        "\n".join(lines).encode("gb18030")
        + b"\n3,\xff\xff,bad\n"
        + "4,咨询,好的\n".encode("gb18030")
    )
    (ws.data_dir / "t.csv").write_bytes(body)
    (report,) = ws.ingest().sources
    assert (report.read, report.loaded, report.rejected) == (4, 3, 1)
    assert _quarantine(ws, "tickets") == {(4, None, "bad encoding: not valid gb18030")}
    rows = ws.warehouse.rows("SELECT id, kind, text FROM src.tickets ORDER BY id")
    assert rows == [
        (1, "投诉", "物流太慢，包装破损"),
        (2, "咨询", "发票,怎么开"),
        (4, "咨询", "好的"),
    ]
    ws.close()


def test_json_lines_with_bad_json_and_bad_values(tmp_path: Path) -> None:
    ws = tagwise.init(tmp_path / "ws")
    (ws.root / "sources.yaml").write_text(
        "sources:\n  surveys:\n    path: s.jsonl\n    primary_key: [id]\n    columns:\n"
        "      id: {type: string}\n      nps: {type: integer, min: 0, max: 10}\n"
        "      tags: {type: string}\n      when: {type: date, from: 提交日期}\n",
        encoding="utf-8",
    )
    lines = [
        '{"id": "S1", "nps": 9, "tags": ["运动", "旅行"], "提交日期": "2025/6/1"}',
        '{"id": "S2", "nps": "很高"}',
        "{not json",
        "",
        '["S3"]',
        '{"id": "S4", "nps": 11}',
        '{"id": "S5", "nps": "7", "extra": 1}',
    ]
    (ws.data_dir / "s.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (report,) = ws.ingest().sources
    # "很高" is no integer and 11 is above the maximum: each row stays with nps null and a
    # warning (on_invalid: null, the default of an optional column)
    assert (report.read, report.loaded, report.rejected) == (6, 4, 2)
    assert report.warnings == {
        "nps: kept as null: not an integer": 1,
        "nps: kept as null: above the maximum 10": 1,
    }
    assert _quarantine(ws, "surveys") == {
        (2, "nps", "kept as null: not an integer"),
        (3, None, "bad json: not valid JSON"),
        (5, None, "not a JSON object"),
        (6, "nps", "kept as null: above the maximum 10"),
    }
    rows = ws.warehouse.rows('SELECT id, nps, tags, "when" FROM src.surveys ORDER BY id')
    assert rows == [
        ("S1", 9, '["运动","旅行"]', date(2025, 6, 1)),
        ("S2", None, None, None),
        ("S4", None, None, None),
        ("S5", 7, None, None),
    ]
    ws.close()


def test_parquet_keeps_native_types_and_still_validates(tmp_path: Path) -> None:
    ws = tagwise.init(tmp_path / "ws")
    (ws.root / "sources.yaml").write_text(
        "sources:\n  events:\n    path: 'e/*.parquet'\n    primary_key: [event_id]\n"
        "    columns:\n      event_id: {type: integer}\n      at: {type: timestamp, required: true}\n"
        "      value: {type: number, min: 0}\n"
        "      kind: {type: string, values: [a, b], on_invalid: reject}\n"
        "      day: {type: date}\n",
        encoding="utf-8",
    )
    (ws.data_dir / "e").mkdir()
    t0 = datetime(2025, 1, 1, 8, 0)
    part1 = pa.table(
        {
            "event_id": pa.array([1, 2, 3], pa.int64()),
            "at": pa.array([t0, None, t0], pa.timestamp("us")),
            "value": [1.5, 2.0, -1.0],
            "kind": ["a", "b", "a"],
            "day": ["2025-01-01", "2025/1/2", "x"],
        }
    )
    part2 = pa.table(
        {
            "event_id": pa.array([3, 4], pa.int64()),
            "at": pa.array([t0, t0], pa.timestamp("us")),
            "value": [0.0, float("inf")],
            "kind": ["c", "b"],
            "day": [None, "20250105"],
        }
    )
    pq.write_table(part1, ws.data_dir / "e" / "p1.parquet")
    pq.write_table(part2, ws.data_dir / "e" / "p2.parquet")
    (report,) = ws.ingest().sources
    # an infinite value is no number and -1 is below the minimum: kept as null with a
    # warning (the row is loaded), as is the bad day; `kind` rejects (on_invalid: reject)
    assert (report.read, report.loaded, report.rejected) == (5, 3, 2)
    rows = ws.warehouse.rows(
        'SELECT file, line, "column", reason FROM meta.quarantine ORDER BY file, line, "column"'
    )
    assert rows == [
        ("data/e/p1.parquet", 2, "at", "missing required value"),
        ("data/e/p1.parquet", 3, "day", "kept as null: not a valid date"),
        ("data/e/p1.parquet", 3, "value", "kept as null: below the minimum 0"),
        ("data/e/p2.parquet", 1, "kind", "not an allowed value"),
        ("data/e/p2.parquet", 2, "value", "kept as null: not a number"),
    ]
    loaded = ws.warehouse.rows(
        'SELECT event_id, "at", value, kind, "day" FROM src.events ORDER BY event_id'
    )
    assert loaded == [
        (1, t0, 1.5, "a", date(2025, 1, 1)),
        (3, t0, None, "a", None),
        (4, t0, None, "b", date(2025, 1, 5)),
    ]
    ws.close()


def test_sql_table_source_streams_through_sqlalchemy(tmp_path: Path) -> None:
    db = tmp_path / "crm.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE members (id TEXT, phone TEXT, joined TEXT, level INTEGER)")
        conn.executemany(
            "INSERT INTO members VALUES (?, ?, ?, ?)",
            [
                ("M1", "139 0000 0001", "2024/1/5", 1),
                ("M2", "bad", "2024-01-06", 2),
                ("M3", None, "2024年1月7日", None),
            ],
        )
    ws = tagwise.init(tmp_path / "ws")
    (ws.root / "sources.yaml").write_text(
        f"sources:\n  members:\n    url: 'sqlite:///{db}'\n    table: members\n"
        "    primary_key: [id]\n    columns:\n      id: {type: string}\n"
        "      phone: {type: phone}\n      joined: {type: date}\n      level: {type: integer}\n",
        encoding="utf-8",
    )
    (report,) = ws.ingest().sources
    assert (report.read, report.loaded, report.rejected) == (3, 3, 0)
    assert ws.warehouse.rows("SELECT id, phone, joined, level FROM src.members ORDER BY id") == [
        ("M1", "+8613900000001", date(2024, 1, 5), 1),
        ("M2", None, date(2024, 1, 6), 2),
        ("M3", None, date(2024, 1, 7), None),
    ]
    assert _quarantine(ws, "members") == {(2, "phone", "kept as null: not a valid phone number")}
    ws.close()


def test_gzipped_csv_with_a_blank_line(tmp_path: Path) -> None:
    ws = tagwise.init(tmp_path / "ws")
    (ws.root / "sources.yaml").write_text(
        "sources:\n  visits:\n    path: v.csv.gz\n    columns:\n      day: {type: date}\n"
        "      n: {type: integer}\n",
        encoding="utf-8",
    )
    body = "day,n\n2025/1/1,1\n\n2025-01-02,x\n20250103,3\n"
    (ws.data_dir / "v.csv.gz").write_bytes(gzip.compress(body.encode()))
    (report,) = ws.ingest().sources
    assert (report.read, report.loaded, report.rejected) == (3, 3, 0)
    assert _quarantine(ws, "visits") == {(4, "n", "kept as null: not an integer")}
    assert ws.warehouse.rows("SELECT day, n, _line FROM src.visits ORDER BY _line") == [
        (date(2025, 1, 1), 1, 2),
        (date(2025, 1, 2), None, 4),
        (date(2025, 1, 3), 3, 5),
    ]
    ws.close()


def test_unknown_format_is_a_source_error(tmp_path: Path) -> None:
    ws = tagwise.init(tmp_path / "ws")
    (ws.root / "sources.yaml").write_text(
        "sources:\n  sheet:\n    path: book.xlsx\n    columns:\n      a: {}\n", encoding="utf-8"
    )
    (ws.data_dir / "book.xlsx").write_bytes(b"PK\x03\x04")
    report = ws.ingest()
    (err,) = report.errors
    assert err.source == "sheet"
    assert err.code == "source"
    assert "cannot tell the format" in err.message
    assert "format:" in (err.hint or "")
    ws.close()


def test_a_header_only_customer_master_is_refused_and_keeps_every_customer(broken, cli) -> None:
    broken.ws.ingest()
    before = _snapshot(broken.ws)
    customers = before["customers"]
    assert customers  # there is something to lose
    broken.ws.close()
    header = customers_csv([])  # the header (with its BOM) and no row
    (broken.root / "data" / "customers.csv").write_bytes(header)
    result = cli("-w", broken.root, "ingest")
    assert result.code == 1
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert result.err.startswith("error[source]: source `customers`: the customer master has no")
    assert "`data/customers.csv` holds only a header" in result.err
    with tagwise.open(broken.root) as ws:
        after = _snapshot(ws)
        statuses = [(r.source, r.status) for r in ws.catalog.ingest_runs(limit=3)]
    assert after["customers"] == customers and after["keys"] == before["keys"]
    assert after["orders"] == before["orders"]  # still ingested against the kept customers
    assert statuses[:2] == [("orders", "ok"), ("customers", "failed")]


def test_a_quoted_field_keeps_its_line_breaks(tmp_path: Path) -> None:
    ws = tagwise.init(tmp_path / "ws")
    (ws.root / "sources.yaml").write_text(
        "sources:\n  customers:\n    role: customers\n    path: customers.csv\n"
        "    customer_key: customer_id\n    primary_key: [customer_id]\n    columns:\n"
        "      customer_id: {type: string, required: true}\n"
        "      address: {type: string}\n      note: {type: string}\n",
        encoding="utf-8",
    )
    written = {
        "C1": ("上海市\n浦东新区  世纪大道 1 号", "one line"),
        "C2": ("first line\r\nsecond line ", "  padded  "),
        "C3": ("\n 只有一行 \n", "a\n\nb"),
    }
    lines = ["customer_id,address,note"]
    lines += [f'{key},"{address}","{note}"' for key, (address, note) in written.items()]
    (ws.data_dir / "customers.csv").write_bytes(("\n".join(lines) + "\n").encode())
    report = ws.ingest()
    assert not report.errors and report.sources[0].loaded == 3
    loaded = {
        r[0]: (r[1], r[2])
        for r in ws.warehouse.rows("SELECT customer_id, address, note FROM ident.records")
    }
    ws.close()
    # the rule (README, Ingestion): line breaks stay (CRLF becomes LF); each line is trimmed
    # and its runs of spaces collapse, as a one-line value's are
    assert loaded == {
        "C1": ("上海市\n浦东新区 世纪大道 1 号", "one line"),
        "C2": ("first line\nsecond line", "padded"),
        "C3": ("只有一行", "a\n\nb"),
    }
