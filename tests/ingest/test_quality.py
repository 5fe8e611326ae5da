"""`tagwise quality` on the demo, every number checked against an independent computation:
the raw files and the generator's truth (`data/_truth/`) with pandas, and the loaded
tables read back with pandas (not with the report's SQL)."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import tagwise
from tagwise.cli.app import run
from tagwise.identity.store import mask_identifier
from tagwise.settings import Settings
from tagwise.spec.sources import SourcesSpec, load_sources

CUSTOMERS = 1500
REASONS = {
    "missing_required": ("missing required value",),
    "bad_date": ("not a valid date",),
    "bad_phone": ("not a valid phone number",),
    "duplicate_key": ("duplicate key",),
    "malformed_line": ("malformed line",),
    "bad_encoding": ("bad encoding",),
    "unknown_customer": ("unknown customer",),
    "out_of_range": ("below the minimum", "above the maximum"),
    "bad_json": ("bad json",),
    "bad_number": ("not an integer", "not a number"),
}
"""Truth kinds (`_truth/invalid.csv`) → how the quarantine's reason starts."""
BLANK = " \t\u3000\u00a0\ufeff"


def invoke(*args: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


class Demo:
    """The demo workspace, its quality report, and what an independent reader finds."""

    def __init__(self, root: Path, report: dict, human: str) -> None:
        self.root = root
        self.report = report
        self.human = human
        self.spec: SourcesSpec = load_sources(root / "sources.yaml")
        self.settings = Settings.load(root)
        self.invalid = pd.read_csv(
            root / "data" / "_truth" / "invalid.csv", dtype=str, keep_default_na=False
        )
        self.persons = pd.read_csv(root / "data" / "_truth" / "persons.csv", dtype=str)
        con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"), read_only=True)
        try:
            self.tables = {
                name: con.execute(
                    "SELECT * FROM ident.records"
                    if spec.role == "customers"
                    else f'SELECT * FROM src."{name}"'
                ).df()
                for name, spec in self.spec.sources.items()
            }
            self.keys = con.execute("SELECT customer_id, rid, cid FROM meta.customer_keys").df()
            self.identifiers = con.execute("SELECT * FROM ident.identifiers").df()
            self.capped = con.execute("SELECT * FROM ident.capped").df()
            self.matches = con.execute("SELECT * FROM ident.matches").df()
            self.review = con.execute("SELECT * FROM ident.review").df()
            self.resolution = json.loads(
                con.execute(
                    "SELECT report FROM ident.resolutions ORDER BY resolution_id DESC"
                ).fetchone()[0]
            )
        finally:
            con.close()

    def source(self, name: str) -> dict:
        return next(s for s in self.report["sources"] if s["name"] == name)

    def file_of(self, name: str) -> Path:
        return self.root / "data" / self.spec.sources[name].paths[0]

    def rows_in_file(self, name: str) -> int:
        path = self.file_of(name)
        if path.suffix == ".parquet":
            return len(pd.read_parquet(path))
        with path.open("rb") as fh:
            lines = sum(1 for line in fh if line.strip())
        return lines - 1 if path.suffix == ".csv" else lines

    def truth_rows(self, name: str) -> pd.DataFrame:
        return self.invalid[self.invalid.file == self.spec.sources[name].paths[0]]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    root = tmp_path_factory.mktemp("quality") / "shop"
    code, _, err = invoke("demo", root, "--customers", CUSTOMERS, "--duplicates", "0.05", "--json")
    assert code == 0, err
    code, out, err = invoke("-w", root, "quality", "--json")
    assert code == 0, err
    code, human, err = invoke("-w", root, "quality")
    assert code == 0, err
    return Demo(root, json.loads(out), human)


def filled(series: pd.Series) -> pd.Series:
    """Holding a value: not null and, for text, not blank."""
    return series.notna() & series.map(lambda v: not isinstance(v, str) or v.strip(BLANK) != "")


# --------------------------------------------------------------------------- per source


def test_reports_every_declared_source_master_first(demo) -> None:
    names = [s["name"] for s in demo.report["sources"]]
    master = demo.spec.customers.name
    assert names[0] == master
    assert sorted(names) == sorted(demo.spec.sources)


def test_rows_read_loaded_and_rejected_match_the_files_and_the_truth(demo) -> None:
    for name in demo.spec.sources:
        source = demo.source(name)
        read = demo.rows_in_file(name)
        rejected = len(demo.truth_rows(name))
        assert source["read"] == read, name
        assert source["rejected"] == rejected, name
        assert source["loaded"] == read - rejected == len(demo.tables[name]), name
        assert source["ingested"] is True
        assert source["last_ingest"]["status"] == "ok"
    # the demo has rejections in several sources, so the checks above compare real numbers
    assert sum(demo.source(n)["rejected"] > 0 for n in demo.spec.sources) >= 2


def test_completeness_of_every_column_equals_pandas_on_the_loaded_rows(demo) -> None:
    checked = 0
    for name, spec in demo.spec.sources.items():
        frame = demo.tables[name]
        columns = {c["column"]: c for c in demo.source(name)["columns"]}
        assert list(columns) == list(spec.columns)
        for column in spec.columns:
            expected = int(filled(frame[column]).sum())
            assert columns[column]["filled"] == expected, (name, column)
            assert columns[column]["completeness"] == pytest.approx(
                expected / len(frame), abs=1e-6
            ), (name, column)
            checked += expected < len(frame)
    assert checked >= 5  # partially filled columns exist (email, address, openid, …)


def test_completeness_of_the_master_equals_the_raw_file(demo) -> None:
    """The customer master's raw text: a value is present when the cell is not blank;
    rejected lines (by the truth's line numbers) are left out."""
    spec = demo.spec.customers
    raw = pd.read_csv(
        demo.file_of(spec.name), dtype=str, keep_default_na=False, encoding_errors="replace"
    )
    assert len(raw) == demo.source(spec.name)["read"]  # one line per row: line = index + 2
    raw["_line"] = range(2, len(raw) + 2)
    bad = set(demo.truth_rows(spec.name).line.astype(int))
    loaded = raw[~raw["_line"].isin(bad)]
    columns = {c["column"]: c for c in demo.source(spec.name)["columns"]}
    for column in spec.columns:
        expected = int(filled(loaded[spec.file_column(column)].fillna("")).sum())
        assert columns[column]["filled"] == expected, column
    email = columns["email"]
    assert 0 < email["completeness"] < 1
    assert email["completeness"] == pytest.approx(
        (loaded["邮箱"].str.strip(BLANK) != "").mean(), abs=1e-6
    )


def test_validity_charges_each_rejection_to_its_column(demo) -> None:
    charged = 0
    for name, spec in demo.spec.sources.items():
        source = demo.source(name)
        truth = demo.truth_rows(name)
        per_file_column = Counter(truth.column[truth.column != ""])
        for column in source["columns"]:
            expected = per_file_column.get(spec.file_column(column["column"]), 0)
            assert column["rejected"] == expected, (name, column["column"])
            assert column["validity"] == pytest.approx(
                (source["read"] - expected) / source["read"], abs=1e-6
            )
            charged += expected
        # rows rejected as a whole (malformed line, bad encoding, bad JSON) charge no column
        whole = int((truth.column == "").sum())
        assert sum(c["rejected"] for c in source["columns"]) == source["rejected"] - whole
    assert charged > 0


def test_duplicate_rate_is_duplicate_key_rows_over_rows_read(demo) -> None:
    seen = 0
    for name in demo.spec.sources:
        source = demo.source(name)
        truth = demo.truth_rows(name)
        duplicates = int((truth.kind == "duplicate_key").sum())
        assert source["duplicates"] == duplicates, name
        read = demo.rows_in_file(name)
        assert source["duplicate_rate"] == pytest.approx(duplicates / read, abs=1e-6)
        seen += duplicates
    assert seen > 0


def test_reasons_are_the_truths_kinds_per_column(demo) -> None:
    for name, spec in demo.spec.sources.items():
        source = demo.source(name)
        file_columns = sorted((spec.file_column(c) for c in spec.columns), key=len, reverse=True)
        found: Counter = Counter()
        for key, count in source["reasons"].items():
            column = next((c for c in file_columns if key.startswith(c + ": ")), "")
            rest = key[len(column) + 2 :] if column else key
            kinds = [k for k, starts in REASONS.items() if rest.startswith(starts)]
            assert len(kinds) == 1, (name, key)
            found[(column, kinds[0])] += count
        expected = Counter(
            zip(demo.truth_rows(name).column, demo.truth_rows(name).kind, strict=True)
        )
        assert found == expected, name
        assert sum(source["reasons"].values()) == source["rejected"]


# --------------------------------------------------------------------------- identity


def members(demo: Demo) -> pd.DataFrame:
    """Customer keys of the records the master holds now."""
    key = demo.spec.customers.customer_key
    records = demo.tables[demo.spec.customers.name]
    return demo.keys[demo.keys.customer_id.isin(records[key])]


def test_cluster_sizes_equal_pandas_over_the_customer_keys(demo) -> None:
    identity = demo.report["identity"]
    keys = members(demo)
    sizes = keys.groupby("cid").size().value_counts().sort_index()
    assert identity["cluster_sizes"] == [
        {"size": int(s), "customers": int(n)} for s, n in sizes.items()
    ]
    assert identity["records"] == len(demo.tables[demo.spec.customers.name]) == len(keys)
    assert identity["customers"] == keys.cid.nunique()
    assert sum(s["size"] * s["customers"] for s in identity["cluster_sizes"]) == identity["records"]
    assert sum(s["customers"] for s in identity["cluster_sizes"]) == identity["customers"]
    merged = [s for s in identity["cluster_sizes"] if s["size"] > 1]
    assert identity["merged_customers"] == sum(s["customers"] for s in merged) > 0
    assert identity["merged_records"] == sum(s["size"] * s["customers"] for s in merged)
    # the last resolution found the same
    for field in ("records", "customers", "merged_customers", "merged_records"):
        assert identity[field] == demo.resolution[field], field
    assert identity["resolved"] is True and identity["up_to_date"] is True


def test_clusters_against_the_generators_persons(demo) -> None:
    """The truth's persons, grouped like the report's customers. Resolution may
    legitimately differ from the truth (a fuzzy-only account not matched, a wrong
    probabilistic merge), so the distributions are compared by their sums and closeness,
    not equality."""
    identity = demo.report["identity"]
    loaded = demo.persons[demo.persons.customer_id.isin(members(demo).customer_id)]
    truth = loaded.groupby("person_id").size().value_counts()
    assert sum(int(s) * int(n) for s, n in truth.items()) == identity["records"]
    assert int(truth.sum()) == loaded.person_id.nunique()
    assert int(truth[truth.index > 1].sum()) > 0  # the demo has persons with several records
    # resolution gets close to the truth: within 5 % of the records
    assert abs(identity["customers"] - int(truth.sum())) <= 0.05 * identity["records"]
    reported = {s["size"]: s["customers"] for s in identity["cluster_sizes"]}
    assert abs(reported[1] - int(truth[1])) <= 0.05 * identity["records"]


def test_identifiers_per_type_equal_pandas(demo) -> None:
    identity = demo.report["identity"]
    rids = set(members(demo).rid)
    current = demo.identifiers[demo.identifiers.rid.isin(rids)]
    capped = set(zip(demo.capped.type, demo.capped.value, strict=True))
    strong = set(demo.settings.identity.strong)
    expected = []
    for kind, rows in sorted(current.groupby("type")):
        holders = rows.groupby("value").rid.nunique()
        shared = holders[holders > 1]
        n_capped = sum((kind, v) in capped for v in shared.index)
        expected.append(
            {
                "type": kind,
                "strong": kind in strong,
                "rows": len(rows),
                "records": rows.rid.nunique(),
                "values": rows.value.nunique(),
                "shared": len(shared),
                "capped": n_capped,
                "linking": len(shared) - n_capped if kind in strong else 0,
            }
        )
    assert identity["identifiers"] == expected
    assert identity["linking_identifiers"] == demo.resolution["linking_identifiers"] > 0


def cap_kind(reason: str) -> str:
    return re.sub(r"[0-9]+", "N", re.sub(r" \([^)]*\)$", "", reason))


def test_capped_identifiers_by_type_and_reason(demo) -> None:
    capped = demo.report["identity"]["capped"]
    frame = demo.capped.assign(kind=demo.capped.reason.map(cap_kind))
    grouped = frame.groupby(["type", "kind"]).agg(
        values=("value", "size"), records=("records", "sum")
    )
    assert {(r["type"], r["reason"]): (r["values"], r["records"]) for r in capped["by_reason"]} == {
        k: (int(v), int(n)) for k, (v, n) in grouped.iterrows()
    }
    assert capped["values"] == len(frame) > 0
    top = frame.sort_values(["records", "type", "value"], ascending=[False, True, True]).head(5)
    assert [(t["type"], t["records"], t["reason"]) for t in capped["top"]] == list(
        zip(top.type, top.records, top.reason, strict=True)
    )
    for shown, raw in zip(capped["top"], top.value, strict=True):
        assert shown["value"] != raw
        if shown["type"] == "phone":
            assert shown["value"] == raw[:-8] + "****" + raw[-4:]


def test_identifier_values_are_masked_in_both_outputs(demo) -> None:
    raw = set(demo.capped.value)
    shared = pd.read_csv(demo.root / "data" / "_truth" / "shared_identifiers.csv", dtype=str)
    raw |= set(shared.value)
    # a phone also in its national spelling
    raw |= {v[3:] for v in raw if v.startswith("+86")}
    out = json.dumps(demo.report, ensure_ascii=False)
    for value in raw:
        assert value not in out, value
        assert value not in demo.human, value
    assert re.search(r"\+86\d{3}\*{4}\d{4}", demo.human)


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        ("phone", "+8613800138000", "+86138****8000"),
        ("phone", "+12025550123", "+120****0123"),
        ("email", "abcdef@qq.com", "ab***@qq.com"),
        ("email", "ab@qq.com", "a***@qq.com"),
        ("email", "a@qq.com", "***@qq.com"),
        ("device_id", "D017647946008", "D01***008"),
        ("member_id", "M12345", "M***5"),
        ("wechat_unionid", "abc", "***"),
        ("member_id", "+8613800138000", "+86138****8000"),  # a phone by its look
    ],
)
def test_mask_identifier(kind, value, masked) -> None:
    assert mask_identifier(kind, value) == masked


def test_matching_counts(demo) -> None:
    matching = demo.report["identity"]["matching"]
    threshold = getattr(getattr(demo.settings.identity, "matching", None), "upper", None)
    assert matching["threshold"] == threshold
    if threshold is None:
        assert matching["matches"] == len(demo.matches)
    else:
        assert matching["matches"] == int((demo.matches.probability >= threshold).sum())
        assert matching["matches"] == demo.resolution["matches"]  # no decisions in the demo
    assert matching["review"] == len(demo.review)


def test_last_resolution_is_reported(demo) -> None:
    last = demo.report["identity"]["last_resolution"]
    assert last["report"] == demo.resolution
    assert last["resolution_id"] == demo.resolution["resolution_id"]


def test_human_output_shows_each_source_and_identity(demo) -> None:
    for source in demo.report["sources"]:
        assert (
            f"{source['name']}: {source['read']:,} read · {source['loaded']:,} loaded · "
            f"{source['rejected']:,} rejected" in demo.human
        )
    identity = demo.report["identity"]
    assert f"{identity['records']:,} records → {identity['customers']:,} customers" in demo.human
    email = next(c for c in demo.source("customers")["columns"] if c["column"] == "email")
    assert f"{email['completeness']:.2%}" in demo.human


# --------------------------------------------------------------------------- selection, errors


def test_selected_sources_only_and_identity_with_the_master(cli, demo) -> None:
    result = cli("-w", demo.root, "quality", "orders", "surveys", "--json")
    assert result.code == 0, result.err
    report = result.json()
    assert [s["name"] for s in report["sources"]] == ["orders", "surveys"]
    assert report["identity"] is None
    assert report["sources"][0] == demo.source("orders")
    with_master = cli("-w", demo.root, "quality", "orders", "customers", "--json").json()
    assert [s["name"] for s in with_master["sources"]] == ["customers", "orders"]
    assert with_master["identity"] == demo.report["identity"]


def test_an_unknown_source_is_a_one_line_error(cli, demo) -> None:
    result = cli("-w", demo.root, "quality", "ordrs")
    assert result.code != 0
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert "not-found" in result.err and "did you mean `orders`?" in result.err
    as_json = cli("-w", demo.root, "quality", "ordrs", "--json")
    assert as_json.code != 0 and as_json.json()["error"]["code"] == "not-found"


# --------------------------------------------------------------------------- small workspaces


def test_a_workspace_that_never_ingested_reports_zeros(cli, tmp_path: Path) -> None:
    tagwise.init(tmp_path / "shop", demo=True).close()
    result = cli("-w", tmp_path / "shop", "quality", "--json")
    assert result.code == 0, result.err
    report = result.json()
    assert len(report["sources"]) == len(load_sources(tmp_path / "shop" / "sources.yaml").sources)
    for source in report["sources"]:
        assert source["ingested"] is False
        assert (source["read"], source["loaded"], source["rejected"]) == (0, 0, 0)
        assert source["duplicate_rate"] is None and source["reasons"] == {}
        assert all(c["filled"] == 0 and c["completeness"] is None for c in source["columns"])
        assert all(c["validity"] is None for c in source["columns"])
    identity = report["identity"]
    assert identity["records"] == identity["customers"] == 0
    assert identity["cluster_sizes"] == [] and identity["last_resolution"] is None
    human = cli("-w", tmp_path / "shop", "quality")
    assert human.code == 0 and "not ingested" in human.out


def test_a_workspace_without_sources(cli, tmp_path: Path) -> None:
    tagwise.init(tmp_path / "bare").close()
    result = cli("-w", tmp_path / "bare", "quality", "--json")
    assert result.code == 0, result.err
    assert result.json() == {"sources": [], "identity": None}


SMALL_SOURCES = """\
sources:
  customers:
    role: customers
    path: customers.csv
    customer_key: customer_id
    primary_key: [customer_id]
    columns:
      customer_id: {type: string, required: true}
      name: {type: string}
      phone: {type: phone}
      email: {type: email}
    identity: {phone: phone, email: email}
"""


def test_records_no_longer_ingested_leave_the_clusters(cli, tmp_path: Path) -> None:
    """Customer keys outlive the records a later ingest drops; the report counts only the
    records the master holds now. A column declared after the ingest has no completeness."""
    ws = tagwise.init(tmp_path / "ws")
    (ws.root / "sources.yaml").write_text(SMALL_SOURCES, encoding="utf-8")
    rows = [
        "customer_id,name,phone,email",
        "A,张三,13800138001,",
        "B,张三,13800138001,zs@qq.com",
        "C,李四,,ls@qq.com",
        "D,王五,13900139001,",
    ]
    data = ws.root / "data" / "customers.csv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ws.ingest()
    ws.close()
    before = cli("-w", ws.root, "quality", "--json").json()["identity"]
    assert before["cluster_sizes"] == [{"size": 1, "customers": 2}, {"size": 2, "customers": 1}]
    assert (before["records"], before["customers"], before["merged_customers"]) == (4, 3, 1)
    phone = next(t for t in before["identifiers"] if t["type"] == "phone")
    assert (phone["values"], phone["shared"], phone["linking"]) == (2, 1, 1)

    data.write_text("\n".join([rows[0], *rows[2:]]) + "\n", encoding="utf-8")  # A is gone
    assert cli("-w", ws.root, "ingest", "--json").code == 0
    (ws.root / "sources.yaml").write_text(
        SMALL_SOURCES.replace(
            "      email: {type: email}\n",
            "      email: {type: email}\n      city: {type: string}\n",
        ),
        encoding="utf-8",
    )
    report = cli("-w", ws.root, "quality", "--json").json()
    identity = report["identity"]
    assert identity["cluster_sizes"] == [{"size": 1, "customers": 3}]
    assert (identity["records"], identity["customers"], identity["merged_customers"]) == (3, 3, 0)
    columns = {c["column"]: c for c in report["sources"][0]["columns"]}
    assert columns["city"]["filled"] is None and columns["city"]["completeness"] is None
    assert columns["email"]["filled"] == 2
    assert columns["email"]["completeness"] == pytest.approx(2 / 3, abs=1e-6)
