"""End to end through the CLI on generated FEBRL-like persons (#13): fields derived from
several columns in sources.yaml, impossible birth dates kept as null with a warning, the
trained model shown by `tagwise identity model`, and the resolved customers against the
generator's truth."""

from __future__ import annotations

import csv
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tagwise
from tagwise.demo.persons import Kind, generate_persons

SOURCES = """\
sources:
  customers:
    role: customers
    path: persons.csv
    customer_key: rid
    primary_key: [rid]
    columns:
      rid: {type: string, required: true}
      given_name: {type: string}
      surname: {type: string}
      street_number: {type: string}
      address_1: {type: string}
      suburb: {type: string}
      postcode: {type: string}
      date_of_birth: {type: date}
    match_on:
      name: {columns: [given_name, surname], kind: name}
      birthday: {column: date_of_birth}
      city: {column: suburb, kind: city}
      address: {columns: [street_number, address_1], kind: address}
"""


@pytest.fixture(scope="module")
def persons_ws(tmp_path_factory: pytest.TempPathFactory):
    persons = generate_persons(3_000, seed=2)
    root = tmp_path_factory.mktemp("persons") / "ws"
    ws = tagwise.init(root)
    (root / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    ws.close()
    data = root / "data"
    data.mkdir(exist_ok=True)
    columns = ["rid", "given_name", "surname", "street_number", "address_1", "suburb"]
    columns += ["postcode", "date_of_birth"]
    table = persons.records.select(columns).to_pylist()
    with (data / "persons.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in table:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return root, persons


def test_ingest_keeps_impossible_dates_and_resolves_the_persons(persons_ws, cli) -> None:
    root, persons = persons_ws
    result = cli("-w", root, "ingest", "--json")
    assert result.code == 0, result.err
    report = result.json()
    source = report["sources"][0]
    assert source["loaded"] == 3_000 and source["rejected"] == 0
    (warned,) = source["warnings"].values()
    raw = persons.records.column("date_of_birth").to_pylist()
    with tagwise.open(root) as ws:
        nulled = {
            int(rid)
            for (rid,) in ws.warehouse.rows(
                "SELECT rid FROM ident.records WHERE date_of_birth IS NULL"
            )
        }
        kept = {
            (int(line), value)
            for line, value in ws.warehouse.rows(
                "SELECT line, raw_value FROM meta.quarantine WHERE reason LIKE 'kept as null%'"
            )
        }
    # the warnings are exactly the present dates that loaded as null, with their raw text
    assert {(rid + 2, raw[rid]) for rid in nulled if raw[rid] is not None} == kept
    assert warned == len(kept) > 20
    # every original record's date parses; only corrupted dates were kept as null
    assert all(persons.kinds[rid] & int(Kind.DATE) for rid, _ in ((r - 2, v) for r, v in kept))
    with tagwise.open(root) as ws:
        cid = dict(ws.warehouse.rows("SELECT customer_id, cid FROM meta.customer_keys"))
    person = {str(r): int(p) for r, p in enumerate(persons.person)}
    same = {(a, b) for a, b in combinations(sorted(cid), 2) if cid[a] == cid[b]}
    true = {(a, b) for a, b in combinations(sorted(person), 2) if person[a] == person[b]}
    hits = len(same & true)
    assert hits / len(same) >= 0.99
    assert hits / len(true) >= 0.95


def _is_date(text: str) -> bool:
    from datetime import datetime  # noqa: PLC0415

    try:
        datetime.strptime(text, "%Y%m%d")
    except ValueError:
        return False
    return len(text) == 8


def test_identity_model_shows_m_and_u_per_level(persons_ws, cli) -> None:
    root, _ = persons_ws
    shown = cli("-w", root, "identity", "model", "--json")
    assert shown.code == 0, shown.err
    model = shown.json()
    fields = {level["field"] for level in model["levels"]}
    assert fields == {"name", "birthday", "city", "address"}
    for field in fields:
        levels = [lv for lv in model["levels"] if lv["field"] == field]
        assert abs(sum(lv["m"] for lv in levels) - 1) < 1e-6
        assert abs(sum(lv["u"] for lv in levels) - 1) < 1e-6
    swapped = next(lv for lv in model["levels"] if lv["level"].startswith("given name"))
    assert swapped["field"] == "name" and swapped["weight"] > 5
    assert any(t.get("iterations") for t in model["training"])
    assert 0 < model["prior"] < 0.01
    text = cli("-w", root, "identity", "model")
    assert text.code == 0 and "comparison levels" in text.out and "given name" in text.out


def test_identity_model_without_a_trained_model_is_one_line(tmp_path: Path, cli) -> None:
    ws = tagwise.init(tmp_path / "empty")
    ws.close()
    result = cli("-w", tmp_path / "empty", "identity", "model")
    assert result.code != 0
    assert "no resolution has trained a matching model" in result.err
    assert len(result.err.strip().splitlines()) <= 2  # the line and its hint
    assert "Traceback" not in result.err


def test_matches_reports_the_queue_size(persons_ws, cli) -> None:
    root, _ = persons_ws
    page = cli("-w", root, "customer", "matches", "--json", "--limit", "2")
    assert page.code == 0, page.err
    queue = page.json()
    with tagwise.open(root) as ws:
        waiting = int(ws.warehouse.scalar("SELECT count(*) FROM ident.review"))
    assert queue["total"] == waiting and queue["limit"] == 2
    assert len(queue["pairs"]) == min(2, waiting)
    assert queue["truncated"] is (waiting > 2)
    if queue["pairs"]:
        assert set(queue["pairs"][0]["left"]["fields"]) == {"name", "birthday", "city", "address"}


@given(weights=st.lists(st.floats(-40, 40, allow_nan=False), min_size=1, max_size=12))
def test_the_weight_chart_puts_each_bar_on_its_side_and_orders_them(weights) -> None:
    """Against a match left of the axis, for it right; a larger |weight| never draws a
    shorter bar; the largest fills its half."""
    from tagwise.cli.commands.identity import _HALF, _bar  # noqa: PLC0415

    scale = max(abs(w) for w in weights)
    bars = [_bar(w, scale) for w in weights]
    for w, bar in zip(weights, bars, strict=True):
        if scale == 0:
            assert bar == ""
            continue
        left, axis, right = bar.partition("│")
        assert axis and len(left) == _HALF
        assert (left.strip() == "") if w >= 0 else (right == "")
    if scale:
        lengths = [b.count("█") for b in bars]
        by_size = sorted(zip((abs(w) for w in weights), lengths, strict=True))
        assert [n for _, n in by_size] == sorted(n for _, n in by_size)
        assert max(lengths) == _HALF
