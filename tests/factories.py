"""Builders of small workspaces with known contents, for tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

import tagwise

SOURCES_YAML = """\
sources:
  customers:
    role: customers
    path: customers.csv
    customer_key: customer_id
    primary_key: [customer_id]
    columns:
      customer_id: {type: string, required: true, from: 客户编号}
      name: {type: string, from: 姓名}
      gender: {type: gender, from: 性别, on_invalid: reject}
      birthday: {type: date, from: 出生日期, on_invalid: reject}
      phone: {type: phone, from: 手机号, on_invalid: reject}
      email: {type: email, from: 邮箱, on_invalid: reject}
      level: {type: string, from: 会员等级, values: [普通会员, 金卡会员], on_invalid: reject}
      points: {type: integer, min: 0, from: 积分, on_invalid: reject}
      vip: {type: boolean, from: 是否VIP, on_invalid: reject}
      registered_at: {type: timestamp, required: true, from: 注册时间}
  orders:
    path: orders.csv
    customer_key: customer_id
    primary_key: [order_id]
    columns:
      order_id: {type: string}
      customer_id: {type: string}
      amount: {type: number, required: true, min: 0}
      paid_at: {type: timestamp, required: true}
"""

HEADER = "客户编号,姓名,性别,出生日期,手机号,邮箱,会员等级,积分,是否VIP,注册时间"


@dataclass
class BrokenCase:
    """A CSV line, and either its expected standardized row or its quarantine entry."""

    line: bytes
    loaded: tuple | None = None
    rejected: tuple[str | None, str] | None = None  # (column, reason)


CUSTOMER_CASES: list[BrokenCase] = [
    BrokenCase(
        "C001,张伟,男,1990-01-05,13800138000,zhang.wei@qq.com,普通会员,100,是,2024-03-05 14:22:10".encode(),
        loaded=(
            "C001",
            "张伟",
            "M",
            "1990-01-05",
            "+8613800138000",
            "zhang.wei@qq.com",
            "普通会员",
            100,
            True,
            "2024-03-05 14:22:10",
        ),
    ),
    BrokenCase(
        ' C002 ,李娜,F,1991/2/3,138 0013 8001, Li.Na@163.COM ,金卡会员,"1,200",false,2024/3/5 14:22'.encode(),
        loaded=(
            "C002",
            "李娜",
            "F",
            "1991-02-03",
            "+8613800138001",
            "li.na@163.com",
            "金卡会员",
            1200,
            False,
            "2024-03-05 14:22:00",
        ),
    ),
    BrokenCase(
        "C003,王芳,female,19920304,+86-138-0013-8002,,普通会员,0,否,2024年3月5日".encode(),
        loaded=(
            "C003",
            "王芳",
            "F",
            "1992-03-04",
            "+8613800138002",
            None,
            "普通会员",
            0,
            False,
            "2024-03-05 00:00:00",
        ),
    ),
    BrokenCase(
        "Ｃ００４,刘洋,1,1993年4月5日,１３８００１３８００３,,普通会员,,1,2024-03-05T14:22:10".encode(),
        loaded=(
            "C004",
            "刘洋",
            "M",
            "1993-04-05",
            "+8613800138003",
            None,
            "普通会员",
            None,
            True,
            "2024-03-05 14:22:10",
        ),
    ),
    BrokenCase(
        '"C005","陈 静",女性,,8613800138004,,普通会员,5,,2024-03-05'.encode(),
        loaded=(
            "C005",
            "陈 静",
            "F",
            None,
            "+8613800138004",
            None,
            "普通会员",
            5,
            None,
            "2024-03-05 00:00:00",
        ),
    ),
    BrokenCase(
        ",无编号,男,1990-01-01,13900000001,,普通会员,1,是,2024-01-01".encode(),
        rejected=("客户编号", "missing required value"),
    ),
    BrokenCase(
        "C006,杨洋,男,1990-01-01,13900000002,,普通会员,很多,是,2024-01-01".encode(),
        rejected=("积分", "not an integer"),
    ),
    BrokenCase(
        "C007,赵敏,女,不详,13900000003,,普通会员,1,是,2024-01-01".encode(),
        rejected=("出生日期", "not a valid date"),
    ),
    BrokenCase(
        "C008,黄磊,男,2023-02-29,13900000004,,普通会员,1,是,2024-01-01".encode(),
        rejected=("出生日期", "not a valid date"),
    ),
    BrokenCase(
        "C009,周杰,男,1990-01-01,12345,,普通会员,1,是,2024-01-01".encode(),
        rejected=("手机号", "not a valid phone number"),
    ),
    BrokenCase(
        "C010,吴昊,男,1990-01-01,13900000006,wu@@qq,普通会员,1,是,2024-01-01".encode(),
        rejected=("邮箱", "not a valid email address"),
    ),
    BrokenCase(
        "C011,郑爽,外星人,1990-01-01,13900000007,,普通会员,1,是,2024-01-01".encode(),
        rejected=("性别", "not a recognized gender"),
    ),
    BrokenCase(
        "C012,孙俪,女,1990-01-01,13900000008,,钻石会员,1,是,2024-01-01".encode(),
        rejected=("会员等级", "not an allowed value"),
    ),
    BrokenCase(
        "C013,马云,男,1990-01-01,13900000009,,普通会员,-1,是,2024-01-01".encode(),
        rejected=("积分", "below the minimum 0"),
    ),
    BrokenCase(
        "C014,冯巩,男,1990-01-01,13900000010,,普通会员,1,也许,2024-01-01".encode(),
        rejected=("是否VIP", "not a yes/no value"),
    ),
    BrokenCase(
        "C015,何炅,男,1990-01-01,13900000011,,普通会员,1,是,昨天".encode(),
        rejected=("注册时间", "not a valid date and time"),
    ),
    BrokenCase(
        "C001,张伟重复,男,1990-01-05,13800138000,,普通会员,1,是,2024-01-01".encode(),
        rejected=("客户编号", "duplicate key (first at data/customers.csv:2)"),
    ),
    BrokenCase("C016,短行,男".encode(), rejected=(None, "malformed line: too few columns")),
    BrokenCase(
        "C017,长行,男,1990-01-01,13900000012,,普通会员,1,是,2024-01-01,多余".encode(),
        rejected=(None, "malformed line: too many columns"),
    ),
    BrokenCase(b"", None, None),  # a blank line: skipped, not a record
    BrokenCase(
        "C018,坏".encode()
        + b"\xff\xfe"
        + ",男,1990-01-01,13900000013,,普通会员,1,是,2024-01-01".encode(),
        rejected=(None, "bad encoding: not valid UTF-8"),
    ),
    BrokenCase(
        '"C019","林, 志玲",女,1990-12-31,13900000014,LIN@QQ.COM,金卡会员,7,Y,2024-12-31 23:59:59'.encode(),
        loaded=(
            "C019",
            "林, 志玲",
            "F",
            "1990-12-31",
            "+8613900000014",
            "lin@qq.com",
            "金卡会员",
            7,
            True,
            "2024-12-31 23:59:59",
        ),
    ),
]

ORDERS_CSV = """\
order_id,customer_id,amount,paid_at
O1,C001,100.5,2024-01-05 10:00:00
O2,C002,"1,200",2024/1/6 11:00
O3,C999,50,2024-01-07
O4,C001,-5,2024-01-08
O1,C002,10,2024-01-09
O5,C019,abc,2024-01-10
O6,C019,10,
O7,C006,10,2024-01-10
O8,C019,¥88,2024-01-11
"""
"""O3: unknown customer; O4: negative; second O1: duplicate; O5: not a number; O6: missing
paid_at; O7: C006 was rejected from customers, so unknown. Loaded: O1, O2, O8."""


@dataclass
class BrokenWorkspace:
    ws: tagwise.Workspace
    root: Path
    cases: list[BrokenCase] = field(default_factory=list)

    def line_of(self, case: BrokenCase) -> int:
        return self.cases.index(case) + 2


def customers_csv(cases: list[BrokenCase], *, bom: bool = True) -> bytes:
    head = ("\ufeff" if bom else "") + HEADER
    return b"\n".join([head.encode(), *(c.line for c in cases)]) + b"\n"


def broken_workspace(root: Path, catalog_url: str | None = None) -> BrokenWorkspace:
    """A workspace whose customers.csv holds one row of each bad kind between good rows."""
    ws = tagwise.init(root, catalog_url=catalog_url)
    (root / "sources.yaml").write_text(SOURCES_YAML, encoding="utf-8")
    (root / "data" / "customers.csv").write_bytes(customers_csv(CUSTOMER_CASES))
    (root / "data" / "orders.csv").write_text(ORDERS_CSV, encoding="utf-8")
    return BrokenWorkspace(ws=ws, root=root, cases=list(CUSTOMER_CASES))


def demo_workspace(root: Path, *, customers: int = 800, seed: int = 20261125) -> tagwise.Workspace:
    """A workspace with the demo sources.yaml and a small generated, ingested data set."""
    from tagwise.demo.generate import generate  # noqa: PLC0415 (numpy-heavy, only when used)

    ws = tagwise.init(root, demo=True)
    generate(root / "data", customers=customers, seed=seed)
    report = ws.ingest()
    assert not report.errors, report.errors
    return ws


@contextlib.contextmanager
def fresh_database(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (its URL), dropped afterwards."""
    name = f"tagwise_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
