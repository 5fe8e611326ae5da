"""Identity resolution on hand-made records of known persons across channels.

The fixture holds true persons with several records (web account with an email, store
account with a phone and member card, WeChat account with a unionid; phones and emails
spelled differently; a name typo; a device seen in orders), and the traps: a family phone
(three people, three birthdays), a placeholder phone on six strangers and a shop device on
four. Every assertion compares with the truth or an independent computation (pandas,
union-find), not with numbers copied from the output.
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tagwise
from tagwise.errors import EngineError
from tagwise.identity import layout, resolve

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
      email: {type: email}
      city: {type: string}
      channel: {type: string}
      member_card: {type: string}
      unionid: {type: string}
      level: {type: string}
      registered_at: {type: timestamp, required: true}
    identity: {phone: phone, email: email, member_card: member_id, unionid: wechat_unionid}
    match_on: {name: name, birthday: birthday, city: city}
    golden:
      default: most_recent
      order_by: registered_at
      rules: {name: most_frequent, level: source_priority, member_card: first_non_null}
      priority: {column: channel, order: [门店, 官网, 小程序]}
  orders:
    path: orders.csv
    customer_key: customer_id
    primary_key: [order_id]
    columns:
      order_id: {type: string, required: true}
      customer_id: {type: string, required: true}
      amount: {type: number}
      device_id: {type: string}
    identity: {device_id: device_id}
"""

HEADER = (
    "customer_id,name,birthday,phone,email,city,channel,member_card,unionid,level,registered_at"
)
# (record, person, row after the key)
RECORDS = [
    # P1: web (email) — store (email in capitals, phone, card) — WeChat (same phone, unionid)
    ("C001", "P1", "张伟,1990-01-02,,Zhang.Wei@QQ.com,上海,官网,,,银卡,2023-01-01 10:00:00"),
    (
        "C002",
        "P1",
        "张伟,1990-01-02,138 0013 8001, zhang.wei@qq.com ,上海,门店,M0001,,金卡,2023-06-01 10:00:00",
    ),
    (
        "C003",
        "P1",
        "张玮,1990-01-02,+86-138-0013-8001,,上海,小程序,,U0001,普通,2024-01-01 10:00:00",
    ),
    # P2: two phones spellings, a name typo
    ("C004", "P2", "李娜,1985-03-04,13900001111,,北京,官网,,,普通,2023-02-01 10:00:00"),
    ("C005", "P2", "李那,1985-03-04,8613900001111,,北京,门店,M0002,,金卡,2023-03-01 10:00:00"),
    # a family phone: three people, three birthdays
    ("C006", "F1", "王强,1960-05-05,13700002222,,广州,门店,,,普通,2023-01-05 10:00:00"),
    ("C007", "F2", "王小明,2005-07-07,13700002222,,广州,APP,,,普通,2023-01-06 10:00:00"),
    ("C008", "F3", "刘芳,1962-08-08,13700002222,,广州,官网,,,普通,2023-01-07 10:00:00"),
    # a placeholder phone on six strangers (some without a birthday)
    ("C009", "S1", "赵一,,13800000000,,深圳,门店,,,普通,2023-01-01 09:00:00"),
    ("C010", "S2", "钱二,,13800000000,,深圳,门店,,,普通,2023-01-01 09:00:00"),
    ("C011", "S3", "孙三,1970-01-01,13800000000,,深圳,门店,,,普通,2023-01-01 09:00:00"),
    ("C012", "S4", "李四,,13800000000,,深圳,门店,,,普通,2023-01-01 09:00:00"),
    ("C013", "S5", "周五,,13800000000,,深圳,门店,,,普通,2023-01-01 09:00:00"),
    ("C014", "S6", "吴六,,13800000000,,深圳,门店,,,普通,2023-01-01 09:00:00"),
    # four strangers on one shop device (seen in orders)
    ("C015", "D1", "郑甲,1991-01-01,,,杭州,APP,,,普通,2023-01-01 09:00:00"),
    ("C016", "D2", "冯乙,1992-01-01,,,杭州,APP,,,普通,2023-01-01 09:00:00"),
    ("C017", "D3", "陈丙,1993-01-01,,,杭州,APP,,,普通,2023-01-01 09:00:00"),
    ("C018", "D4", "褚丁,1994-01-01,,,杭州,APP,,,普通,2023-01-01 09:00:00"),
    # P3: two app accounts on the person's own phone (device id in orders only)
    ("C019", "P3", "卫东,1988-09-09,,,成都,APP,,,普通,2023-01-01 09:00:00"),
    ("C020", "P3", "卫东,1988-09-09,,,成都,小程序,,,银卡,2024-05-01 09:00:00"),
    # singles
    ("C021", "Q1", "蒋一,1979-01-01,13611112222,a@x.cn,南京,官网,,,普通,2023-01-01 09:00:00"),
    ("C022", "Q2", "沈二,1978-01-01,13611113333,b@x.cn,南京,官网,,,普通,2023-01-01 09:00:00"),
    ("C023", "Q3", "韩三,1977-01-01,,,南京,小程序,,U0009,普通,2023-01-01 09:00:00"),
    # a couple's phone, neither birthday known: the names tell them apart
    ("C024", "H1", "马丽,,13755556666,,西安,APP,,,普通,2023-01-01 09:00:00"),
    ("C025", "H2", "杨建国,,13755556666,,西安,官网,,,普通,2023-01-01 09:00:00"),
]
ORDERS = [
    ("O1", "C015", 10, "DSHOP"),
    ("O2", "C016", 20, "DSHOP"),
    ("O3", "C017", 30, "DSHOP"),
    ("O4", "C018", 40, "DSHOP"),
    ("O5", "C019", 50, "DP3"),
    ("O6", "C020", 60, "DP3"),
    ("O7", "C001", 70, ""),
    ("O8", "C002", 80, ""),
    ("O9", "C003", 90, ""),
    ("O10", "C004", 100, ""),
]


def write_files(root: Path, records=RECORDS, orders=ORDERS) -> None:
    data = root / "data"
    data.mkdir(exist_ok=True)
    lines = [HEADER] + [f"{key},{row}" for key, _, row in records]
    (data / "customers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    order_lines = ["order_id,customer_id,amount,device_id"]
    order_lines += [f"{o},{c},{a},{d}" for o, c, a, d in orders]
    (data / "orders.csv").write_text("\n".join(order_lines) + "\n", encoding="utf-8")


@pytest.fixture
def ws(tmp_path: Path):
    workspace = tagwise.init(tmp_path / "ws")
    (workspace.root / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    write_files(workspace.root)
    workspace.ingest()
    yield workspace
    workspace.close()


def clusters(ws: tagwise.Workspace) -> dict[str, int]:
    return dict(ws.warehouse.rows("SELECT customer_id, cid FROM meta.customer_keys"))


def same_customer_pairs(assignment: dict[str, object]) -> set[tuple[str, str]]:
    return {
        (a, b) for a, b in combinations(sorted(assignment), 2) if assignment[a] == assignment[b]
    }


def test_merges_exactly_the_true_persons_and_caps_the_traps(ws) -> None:
    truth = {key: person for key, person, _ in RECORDS}
    found = same_customer_pairs(clusters(ws))
    true = same_customer_pairs(truth)
    assert found == true  # precision and recall 1 on the fixture
    capped = {
        (t, v): reason
        for t, v, reason in ws.warehouse.rows("SELECT type, value, reason FROM ident.capped")
    }
    assert "disagree on birthday" in capped[("phone", "+8613700002222")]
    assert "shared by 6 records" in capped[("phone", "+8613800000000")]
    assert "shared by 4 records" in capped[("device_id", "DSHOP")]
    assert "disagree on name" in capped[("phone", "+8613755556666")]
    assert len(capped) == 4


def test_cid_is_the_oldest_record_and_sources_follow(ws) -> None:
    keys = pd.DataFrame(
        ws.warehouse.rows("SELECT customer_id, cid, rid FROM meta.customer_keys"),
        columns=["customer_id", "cid", "rid"],
    )
    assert (keys.groupby("cid")["rid"].min() == keys.groupby("cid")["rid"].min().index).all()
    # rids follow the file order, once
    assert keys.sort_values("customer_id")["rid"].tolist() == list(range(1, len(RECORDS) + 1))
    # every order carries its record's customer
    orders = pd.DataFrame(
        ws.warehouse.rows("SELECT customer_id, cid FROM src.orders"), columns=["customer_id", "cid"]
    )
    expected = orders["customer_id"].map(dict(zip(keys.customer_id, keys.cid, strict=True)))
    assert orders["cid"].tolist() == expected.tolist()
    # the golden record has one row per customer, keyed by the oldest record
    golden = ws.warehouse.rows("SELECT cid, customer_id FROM src.customers ORDER BY cid")
    survivors = keys.sort_values("rid").groupby("cid").first()["customer_id"]
    assert golden == list(survivors.items())


def test_golden_record_follows_the_survivorship_rules(ws) -> None:
    frame = pd.DataFrame(
        [[k, *row.split(",")] for k, _, row in RECORDS], columns=HEADER.split(",")
    ).replace("", None)
    frame["rid"] = range(1, len(frame) + 1)
    p1 = frame[frame.customer_id.isin(["C001", "C002", "C003"])]
    golden = dict(
        zip(
            [d[0] for d in ws.warehouse.execute("SELECT * FROM src.customers LIMIT 0").description],
            ws.warehouse.execute(
                "SELECT * FROM src.customers WHERE customer_id = 'C001'"
            ).fetchone(),
            strict=True,
        )
    )
    # most_frequent: 张伟 twice, 张玮 once
    assert golden["name"] == p1.name.mode()[0]
    # source_priority: the store's level wins
    assert golden["level"] == p1[p1.channel == "门店"].level.iloc[0]
    # first_non_null: the oldest record holding a card
    assert (
        golden["member_card"]
        == p1.dropna(subset=["member_card"]).sort_values("rid").member_card.iloc[0]
    )
    # most_recent (default): the newest record with a value
    latest = p1.sort_values("registered_at").dropna(subset=["unionid"]).unionid.iloc[-1]
    assert golden["unionid"] == latest
    assert golden["phone"] == "+8613800138001"
    # lineage: each attribute names the record it came from
    profile = ws.customer("C003")
    sources = profile.attribute_sources
    assert sources["level"] == "C002" and sources["unionid"] == "C003" and sources["name"] == "C001"
    assert [r.customer_id for r in profile.records] == ["C001", "C002", "C003"]
    assert profile.customer_id == "C001"
    linked = {r.customer_id: r.linked_by for r in profile.records}
    assert "email zhang.wei@qq.com" in linked["C002"] and "phone +8613800138001" in linked["C003"]


def test_resolving_unchanged_data_changes_nothing(ws) -> None:
    def state() -> tuple:
        wh = ws.warehouse
        return (
            sorted(wh.rows("SELECT * FROM meta.customer_keys")),
            sorted(wh.rows("SELECT * FROM src.customers"), key=repr),
            sorted(wh.rows("SELECT cid, customer_id FROM src.orders")),
            wh.scalar("SELECT count(*) FROM ident.events"),
        )

    before = state()
    report = ws.resolve()
    assert report.changed == 0 and report.events == {}
    assert state() == before
    ws.ingest()  # re-ingesting the same files resolves again: still nothing
    assert state() == before


def test_new_record_joins_an_existing_customer_others_keep_their_cid(ws) -> None:
    before = clusters(ws)
    extra = ("C099", "P2", "李娜,1985-03-04,139-0000-1111,,北京,小程序,,,普通,2024-02-01 10:00:00")
    write_files(ws.root, [*RECORDS, extra])
    report = ws.ingest(["customers"])
    after = clusters(ws)
    assert after["C099"] == before["C004"]
    assert {k: after[k] for k in before} == before
    assert report.identity is not None and report.identity.events == {"merge": 1}
    event = ws.warehouse.execute(
        "SELECT kind, old_cid, new_cid, reason FROM ident.events WHERE customer_id = 'C099'"
    ).fetchone()
    assert event[0] == "merge" and event[2] == before["C004"] and "+8613900001111" in event[3]


def add_spend_tag(ws: tagwise.Workspace) -> None:
    """A feature (spend: the sum of order amounts) and a flag tag on it, applied and run."""
    (ws.root / "features.yaml").write_text(
        "features:\n  spend: {source: orders, agg: sum, column: amount}\n", encoding="utf-8"
    )
    (ws.root / "tags" / "spend.yaml").write_text(
        """\
tags:
  - code: big_spender
    name: 价值_高消费
    category: value
    kind: flag
    owner: crm
    description: 订单金额合计不低于 200
    rule: spend >= 200
""",
        encoding="utf-8",
    )
    (ws.root / "taxonomy.yaml").write_text(
        "categories:\n  - {code: value, name: 价值, prefix: 价值, description: 客户价值}\n",
        encoding="utf-8",
    )
    ws.apply()
    ws.run()


def test_unmerge_round_trip_recomputes_tags(ws, cli) -> None:
    add_spend_tag(ws)
    original = clusters(ws)
    flagged = {
        r[0] for r in ws.warehouse.rows("SELECT cid FROM tags.current WHERE tag = 'big_spender'")
    }
    assert original["C001"] in flagged  # 70 + 80 + 90 across the three records
    ws.close()
    result = cli("-w", ws.root, "customer", "unmerge", "C003", "--reason", "wrong merge", "--json")
    assert result.code == 0, result.err
    body = result.json()
    assert body["recomputed"]["run_id"] is not None
    with tagwise.open(ws.root) as again:
        split = clusters(again)
        assert split["C003"] == again.warehouse.scalar(
            "SELECT rid FROM meta.customer_keys WHERE customer_id = 'C003'"
        )
        assert split["C001"] == split["C002"] == original["C001"]
        flagged = {
            r[0]
            for r in again.warehouse.rows("SELECT cid FROM tags.current WHERE tag = 'big_spender'")
        }
        # 70 + 80 < 200 and 90 < 200: neither customer is a big spender any more
        assert split["C001"] not in flagged and split["C003"] not in flagged
        event = again.warehouse.execute(
            "SELECT kind, reason FROM ident.events WHERE customer_id = 'C003' "
            "ORDER BY resolution_id DESC LIMIT 1"
        ).fetchone()
        assert event[0] == "split" and event[1].startswith("separate decision #")
        # the decision holds: resolving again keeps them apart
        assert again.resolve().changed == 0
        # and a merge decision undoes it: back to the original customers
        again.merge_customers("C003", "C001", reason="same person after all")
        assert clusters(again) == original
        flagged = {
            r[0]
            for r in again.warehouse.rows("SELECT cid FROM tags.current WHERE tag = 'big_spender'")
        }
        assert original["C001"] in flagged


def test_merge_and_unmerge_in_text_mode_say_what_was_decided(ws, cli) -> None:
    """#12: the text output read `run_id` from a dict keyed `run`: a traceback and exit 1
    after the decision was committed."""
    add_spend_tag(ws)
    ws.close()
    unmerged = cli("-w", ws.root, "customer", "unmerge", "C003", "--reason", "wrong merge")
    assert unmerged.code == 0, unmerged.err
    assert unmerged.err == ""
    lines = unmerged.out.splitlines()
    assert lines[0] == "recorded decision(s) #1, #2"  # C003 apart from C001 and from C002
    assert lines[1].startswith("identity: ") and "1 split" in lines[1]
    assert lines[2].startswith("recomputed tags: run 2 as of ")
    merged = cli("-w", ws.root, "customer", "merge", "C003", "C001", "--reason", "same person")
    assert merged.code == 0, merged.err
    lines = merged.out.splitlines()
    assert lines[0] == "recorded decision(s) #3"
    assert lines[2].startswith("recomputed tags: run 3 as of ")
    with tagwise.open(ws.root) as again:
        runs = again.runs().runs
        decided = again.warehouse.rows("SELECT actor FROM ident.decisions ORDER BY decision_id")
    # the decisions and the runs they caused record the CLI's actor; the first run (from
    # the Python API in add_spend_tag) records the Python one
    user = tagwise.Actor.os_user().name
    assert [r.actor for r in runs] == [f"{user}@cli", f"{user}@cli", f"{user}@python"]
    assert [r[0] for r in decided] == [f"{user}@cli"] * 3


def test_decisions_record_the_actor_they_are_given(ws) -> None:
    add_spend_tag(ws)
    robot = tagwise.Actor("dedupe-bot", kind="service", via="api", address="10.0.0.7")
    result = ws.unmerge_customer("C003", actor=robot)
    assert result.recomputed is not None
    (run,) = [r for r in ws.runs().runs if r.run_id == result.recomputed.run_id]
    assert run.actor == "dedupe-bot@api"
    decided = ws.warehouse.rows("SELECT actor FROM ident.decisions")
    assert {r[0] for r in decided} == {"dedupe-bot@api"}
    (applied,) = ws.catalog.versions("tag", "big_spender")  # by the workspace's default
    assert applied.applied_by == f"{tagwise.Actor.os_user().name}@python"


def test_unmerging_a_single_record_is_a_clear_error(ws, cli) -> None:
    ws.close()
    result = cli("-w", ws.root, "customer", "unmerge", "C021")
    assert result.code != 0
    assert result.err.count("\n") == 1 and "only record" in result.err
    result = cli("-w", ws.root, "customer", "unmerge", "C999")
    assert result.code != 0 and "does not exist" in result.err


def test_resolve_cli_reports_json(ws, cli) -> None:
    ws.close()
    result = cli("-w", ws.root, "resolve", "--json")
    assert result.code == 0, result.err
    report = result.json()
    truth = {key: person for key, person, _ in RECORDS}
    persons = pd.Series(truth)
    assert report["records"] == len(RECORDS)
    assert report["customers"] == persons.nunique()
    sizes = persons.value_counts()
    assert report["merged_customers"] == int((sizes > 1).sum())
    assert report["merged_records"] == int(sizes[sizes > 1].sum())
    assert report["capped"] == 4 and report["changed"] == 0


def test_a_failed_resolution_changes_nothing(ws, monkeypatch) -> None:
    extra = ("C099", "P2", "李娜,1985-03-04,139-0000-1111,,北京,小程序,,,普通,2024-02-01 10:00:00")
    before = sorted(ws.warehouse.rows("SELECT * FROM meta.customer_keys"))
    golden = sorted(ws.warehouse.rows("SELECT * FROM src.customers"), key=repr)

    def broken(*args, **kwargs):
        raise EngineError("disk full")

    monkeypatch.setattr(resolve, "_count", broken)
    write_files(ws.root, [*RECORDS, extra])
    with pytest.raises(EngineError):
        ws.ingest(["customers"])
    after = sorted(ws.warehouse.rows("SELECT * FROM meta.customer_keys"))
    # the new record got its number (ingest committed) but no resolution was applied
    assert [r for r in after if r[0] != "C099"] == before
    assert sorted(ws.warehouse.rows("SELECT * FROM src.customers"), key=repr) == golden
    assert layout.is_dirty(ws.warehouse)
    monkeypatch.undo()
    ws.resolve()
    assert not layout.is_dirty(ws.warehouse)
    assert clusters(ws)["C099"] == clusters(ws)["C004"]


def test_a_warehouse_from_before_identity_resolution_is_upgraded(tmp_path: Path) -> None:
    root = tmp_path / "old"
    workspace = tagwise.init(root)
    (root / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    write_files(root)
    workspace.close()
    (root / ".tagwise" / "warehouse.duckdb").unlink()
    con = duckdb.connect(str(root / ".tagwise" / "warehouse.duckdb"))
    con.execute("CREATE SCHEMA src; CREATE SCHEMA meta")
    con.execute(
        "CREATE TABLE meta.customer_keys (customer_id VARCHAR PRIMARY KEY, "
        "cid INTEGER NOT NULL UNIQUE, first_seen TIMESTAMP NOT NULL)"
    )
    con.execute("INSERT INTO meta.customer_keys VALUES ('C001', 1, now()), ('C002', 2, now())")
    con.execute(
        "CREATE TABLE src.customers AS SELECT * FROM (VALUES (1, 'C001', '张伟', "
        "'+8613800138001', NULL, 'x', 1), (2, 'C002', '张伟', '+8613800138001', NULL, 'x', 2)) "
        "t(cid, customer_id, name, phone, email, _file, _line)"
    )
    con.close()
    with tagwise.open(root) as upgraded:
        keys = upgraded.warehouse.rows("SELECT customer_id, cid, rid FROM meta.customer_keys")
        assert sorted(keys) == [("C001", 1, 1), ("C002", 2, 2)]
        assert upgraded.warehouse.scalar("SELECT count(*) FROM ident.records") == 2
        assert layout.is_dirty(upgraded.warehouse)


# --------------------------------------------------------------------------- property


def union_find(n: int, groups: list[list[int]]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for group in groups:
        for other in group[1:]:
            a, b = find(group[0]), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return [find(i) for i in range(n)]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.integers(0, 11), st.integers(0, 3)),  # (phone number, email number)
        min_size=1,
        max_size=30,
    )
)
def test_components_equal_union_find(tmp_path_factory, rows) -> None:
    root = tmp_path_factory.mktemp("prop")
    workspace = tagwise.init(root / "ws")
    (workspace.root / "sources.yaml").write_text(
        """\
sources:
  customers:
    role: customers
    path: customers.csv
    customer_key: customer_id
    primary_key: [customer_id]
    columns:
      customer_id: {type: string, required: true}
      phone: {type: phone}
      email: {type: email}
    identity: {phone: phone, email: email}
""",
        encoding="utf-8",
    )
    lines = ["customer_id,phone,email"]
    for i, (phone, email) in enumerate(rows):
        lines.append(
            f"R{i:03d},{13900000000 + phone if phone else ''},{f'm{email}@x.cn' if email else ''}"
        )
    (workspace.data_dir).mkdir(exist_ok=True)
    (workspace.data_dir / "customers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    workspace.ingest()
    # brute force with the same caps: a value on more than 4 records links nobody
    groups: dict[tuple[str, int], list[int]] = {}
    for i, (phone, email) in enumerate(rows):
        if phone:
            groups.setdefault(("p", phone), []).append(i)
        if email:
            groups.setdefault(("e", email), []).append(i)
    usable = [g for g in groups.values() if 1 < len(g) <= 4]
    roots = union_find(len(rows), usable)
    expected = {f"R{i:03d}": roots[i] for i in range(len(rows))}
    found = clusters(workspace)
    assert same_customer_pairs(found) == same_customer_pairs(expected)
    assert all(found[f"R{i:03d}"] == roots[i] + 1 for i in range(len(rows)))  # min rid
    workspace.close()
    json.dumps(found)


def test_matching_is_reused_while_the_compared_fields_stay_the_same(ws, monkeypatch) -> None:
    from tagwise.identity import matching  # noqa: PLC0415

    calls = []
    real = matching.match_pairs

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(matching, "match_pairs", counted)
    pairs = sorted(ws.warehouse.rows("SELECT * FROM ident.matches"))
    ws.resolve()
    assert calls == []  # same records, same settings: last resolution's pairs
    assert sorted(ws.warehouse.rows("SELECT * FROM ident.matches")) == pairs
    changed = [(k, p, row.replace("韩三", "韩叁")) for k, p, row in RECORDS]
    write_files(ws.root, changed)
    ws.ingest(["customers"])
    assert calls == [1]  # a name changed: matched again
