"""Personal identifiers against the family rules, caps that count people, and reasons that
hold no names (#13), on hand-made records with a known truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tagwise
from tagwise.identity.store import mask_reason

SOURCES = """\
sources:
  customers:
    role: customers
    path: customers.csv
    customer_key: customer_id
    primary_key: [customer_id]
    columns:
      customer_id: {type: string, required: true}
      name: {type: string}
      birthday: {type: date}
      phone: {type: phone}
      id_number: {type: string}
      registered_at: {type: timestamp, required: true}
    identity: {phone: phone, id_number: id_number}
    match_on: {name: name, birthday: birthday}
"""
HEADER = "customer_id,name,birthday,phone,id_number,registered_at"
# (record, person, row after the key)
RECORDS = [
    # one person, five records with one id number: a name typo, a mistyped birthday
    ("A1", "PA", "陈思远,1990-01-01,,110101199001010011,2023-01-01 10:00:00"),
    ("A2", "PA", "陈思远,1990-01-01,,110101199001010011,2023-02-01 10:00:00"),
    ("A3", "PA", "陈思源,1990-01-01,,110101199001010011,2023-03-01 10:00:00"),
    ("A4", "PA", "陈思远,1990-10-01,,110101199001010011,2023-04-01 10:00:00"),
    ("A5", "PA", "陈思远,,,110101199001010011,2023-05-01 10:00:00"),
    # one person, five records on one phone (cap 4): one person, so the phone links
    ("B1", "PB", "林晓,1985-05-05,13911112222,,2023-01-01 10:00:00"),
    ("B2", "PB", "林晓,1985-05-05,13911112222,,2023-01-02 10:00:00"),
    ("B3", "PB", "林晓,1985-05-05,+86 139 1111 2222,,2023-01-03 10:00:00"),
    ("B4", "PB", "林小,1985-05-05,13911112222,,2023-01-04 10:00:00"),
    ("B5", "PB", "林晓,,13911112222,,2023-01-05 10:00:00"),
    # a family phone: two people, two birthdays (shared type: capped)
    ("F1", "PF1", "王强,1960-05-05,13700002222,,2023-01-05 10:00:00"),
    ("F2", "PF2", "王小明,2005-07-07,13700002222,,2023-01-06 10:00:00"),
    # a couple's phone without birthdays: the names tell them apart (reason holds no name)
    ("H1", "PH1", "马丽,,13755556666,,2023-01-01 09:00:00"),
    ("H2", "PH2", "杨建国,,13755556666,,2023-01-01 09:00:00"),
    # five strangers on one phone: five people, over the cap of 4
    *(
        (f"S{i}", f"PS{i}", f"{name},,13800000000,,2023-01-01 09:00:00")
        for i, name in enumerate(["赵一", "钱二", "孙三", "李四", "周五"], start=1)
    ),
]


@pytest.fixture
def ws(tmp_path: Path):
    workspace = tagwise.init(tmp_path / "ws")
    (workspace.root / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    data = workspace.root / "data"
    data.mkdir(exist_ok=True)
    lines = [HEADER, *(f"{key},{row}" for key, _, row in RECORDS)]
    (data / "customers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    workspace.ingest()
    yield workspace
    workspace.close()


def test_personal_ids_link_one_persons_duplicates_and_caps_count_people(ws) -> None:
    cid = dict(ws.warehouse.rows("SELECT customer_id, cid FROM meta.customer_keys"))
    truth = {key: person for key, person, _ in RECORDS}
    for a, person_a in truth.items():
        for b, person_b in truth.items():
            assert (cid[a] == cid[b]) is (person_a == person_b), (a, b)
    capped = dict(ws.warehouse.rows("SELECT value, reason FROM ident.capped"))
    assert "disagree on birthday" in capped["+8613700002222"]
    assert "shared by 5 records (cap 4)" in capped["+8613800000000"]
    assert "+8613911112222" not in capped  # five records, one person
    assert "110101199001010011" not in capped  # personal: the family rules do not apply


def test_cap_reasons_count_names_and_never_show_them(ws, cli) -> None:
    capped = dict(ws.warehouse.rows("SELECT value, reason FROM ident.capped"))
    assert capped["+8613755556666"] == "records disagree on name (2 names)"
    report = cli("-w", ws.root, "quality", "customers", "--json")
    assert report.code == 0, report.err
    printed = cli("-w", ws.root, "quality", "customers")
    assert printed.code == 0, printed.err
    text = json.dumps(report.json(), ensure_ascii=False) + printed.out
    assert "disagree on name" in text
    for _, _, row in RECORDS:
        assert row.split(",")[0] not in text  # no name of any record in the report
    # a reason written by an older resolution is masked when shown
    assert mask_reason("records disagree on name (kirrabrock / kirra)") == (
        "records disagree on name (ki***ck / k***a)"
    )
    assert mask_reason("records disagree on name (3 names)") == (
        "records disagree on name (3 names)"
    )
    assert mask_reason("shared by 6 records (cap 4)") == "shared by 6 records (cap 4)"


def test_people_are_counted_per_value_with_typos_and_conflicts(tmp_path: Path) -> None:
    """Five records on one phone: one person typed five ways (one per record) is one
    person; add a record with a conflicting birthday and it counts as a second person."""
    for extra, people in ((None, 1), ("B6,林晓,1999-09-09,13911112222,,2023-01-06 10:00:00", 2)):
        workspace = tagwise.init(tmp_path / f"ws{people}")
        (workspace.root / "sources.yaml").write_text(SOURCES, encoding="utf-8")
        data = workspace.root / "data"
        data.mkdir(exist_ok=True)
        rows = [f"{k},{r}" for k, p, r in RECORDS if p == "PB"] + ([extra] if extra else [])
        (data / "customers.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
        workspace.ingest()
        groups = workspace.warehouse.rows("SELECT value, reason FROM ident.capped")
        linked = workspace.warehouse.scalar("SELECT count(DISTINCT cid) FROM meta.customer_keys")
        workspace.close()
        if people == 1:
            assert groups == [] and linked == 1
        else:  # two people on a phone, one birthday each: a family phone
            assert len(groups) == 1 and "disagree on birthday" in groups[0][1]
