"""Tests of the demo data generator: determinism, shape, behaviour, noise and ground truth.

The checks re-derive every claim from the written files with pandas and the standard
library, never with the generator's own helpers.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tagwise.demo import vocab
from tagwise.demo.generate import DEMO_AS_OF, DemoStats, generate

N = 2_000
SOURCES = (
    "customers.csv",
    "orders.parquet",
    "events.parquet",
    "social_profiles.csv",
    "social_interactions.csv",
    "surveys.jsonl",
    "tickets.csv",
    "third_party.jsonl",
    "consent.csv",
)
CUSTOMER_COLUMNS = [
    "客户编号", "姓名", "性别", "出生日期", "手机号", "邮箱", "省份", "城市", "注册渠道",
    "会员卡号", "会员等级", "注册时间",
]  # fmt: skip
BIRTH_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日")
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y年%m月%d日", "%Y-%m-%dT%H:%M:%S")
MOBILE = re.compile(r"1[3-9]\d{9}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoStats]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate(out, customers=N, seed=7)


@pytest.fixture(scope="module")
def out(demo: tuple[Path, DemoStats]) -> Path:
    return demo[0]


@pytest.fixture(scope="module")
def invalid(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "_truth" / "invalid.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def lines(out: Path) -> list[bytes]:
    """Physical lines of customers.csv; index 0 is the header (line 1)."""
    return (out / "customers.csv").read_bytes().split(b"\n")[:-1]


@pytest.fixture(scope="module")
def customers(out: Path, invalid: pd.DataFrame) -> pd.DataFrame:
    """The valid rows of customers.csv, as text, with their 1-based line numbers."""
    bad = set(invalid.loc[invalid.file == "customers.csv", "line"].astype(int))
    good = []
    for number, raw in enumerate((out / "customers.csv").read_bytes().split(b"\n")[:-1], 1):
        if number > 1 and number not in bad:
            good.append([number, *next(csv.reader([raw.decode("utf-8")]))])
    return pd.DataFrame(good, columns=["line", *CUSTOMER_COLUMNS]).replace("", None)


@pytest.fixture(scope="module")
def orders(out: Path) -> pd.DataFrame:
    return pq.read_table(out / "orders.parquet").to_pandas()


@pytest.fixture(scope="module")
def events(out: Path) -> pd.DataFrame:
    return pq.read_table(out / "events.parquet").to_pandas()


@pytest.fixture(scope="module")
def truth(out: Path) -> pd.DataFrame:
    return pq.read_table(out / "_truth" / "customers.parquet").to_pandas()


def valid_orders(orders: pd.DataFrame, invalid: pd.DataFrame) -> pd.DataFrame:
    bad = invalid.loc[invalid.file == "orders.parquet", "line"].astype(int) - 1
    return orders.drop(index=bad.to_numpy())


def normalized_phone(raw: str) -> str:
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", raw))
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def parses(text: str, formats: tuple[str, ...]) -> bool:
    for fmt in formats:
        try:
            datetime.strptime(text, fmt)
        except ValueError:
            continue
        return True
    return False


# --- determinism and scale ------------------------------------------------------------------


def test_same_seed_writes_identical_bytes(tmp_path: Path) -> None:
    generate(tmp_path / "a", customers=500, seed=1)
    generate(tmp_path / "b", customers=500, seed=1)
    generate(tmp_path / "c", customers=500, seed=2)
    files = [*SOURCES, "_truth/persons.csv", "_truth/invalid.csv", "_truth/customers.parquet"]
    for name in files:
        a, b, c = ((tmp_path / d / name).read_bytes() for d in "abc")
        assert a == b, name
        assert a != c, name


def test_stats_match_files(demo: tuple[Path, DemoStats]) -> None:
    out, stats = demo
    assert stats.customers == N == len((out / "customers.csv").read_bytes().split(b"\n")) - 2
    assert stats.orders == pq.ParquetFile(out / "orders.parquet").metadata.num_rows
    assert stats.events == pq.ParquetFile(out / "events.parquet").metadata.num_rows
    for name in ("social_profiles", "social_interactions", "consent"):
        assert getattr(stats, name) == len(pd.read_csv(out / f"{name}.csv")), name
    for name in ("surveys", "third_party"):
        assert getattr(stats, name) == len((out / f"{name}.jsonl").read_text().splitlines())
    tickets = (out / "tickets.csv").read_bytes().decode("gb18030")
    assert stats.tickets == len(list(csv.reader(io.StringIO(tickets)))) - 1
    assert stats.invalid_rows == len(pd.read_csv(out / "_truth" / "invalid.csv"))
    assert stats.seconds > 0


def test_row_counts_scale_with_customers(tmp_path: Path, demo: tuple[Path, DemoStats]) -> None:
    small = generate(tmp_path, customers=N // 4, seed=7)
    large = demo[1]
    for name in ("orders", "events", "consent", "third_party", "social_profiles", "tickets"):
        ratio = getattr(large, name) / getattr(small, name)
        assert 3.0 < ratio < 5.3, (name, ratio)
    assert 17 < large.orders / N < 23
    assert 45 < large.events / N < 55
    assert 0.2 < large.tickets / N < 0.4


def test_too_few_customers_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="between 100"):
        generate(tmp_path, customers=99)


# --- schemas ------------------------------------------------------------------------------


def test_customers_csv_has_chinese_header(lines: list[bytes]) -> None:
    assert lines[0].decode("utf-8") == ",".join(CUSTOMER_COLUMNS)


def test_orders_schema(out: Path, orders: pd.DataFrame) -> None:
    schema = pq.read_schema(out / "orders.parquet")
    types = {f.name: str(f.type) for f in schema}
    assert types == {
        "order_id": "string", "customer_id": "string", "channel": "string",
        "store_city": "string", "category": "string", "quantity": "int32",
        "amount": "double", "discount": "double", "status": "string",
        "paid_at": "timestamp[us]", "payment_method": "string", "installments": "int16",
        "overdue_days": "int16", "device_id": "string",
    }  # fmt: skip
    assert orders.order_id.str.fullmatch(r"O\d{11}").all()
    assert set(orders.channel) == set(vocab.ORDER_CHANNELS)
    assert orders.loc[orders.channel != "offline", "store_city"].isna().all()
    assert orders.loc[orders.channel == "offline", "store_city"].notna().all()
    assert set(orders.status) == {"paid", "refunded", "cancelled"}
    on_credit = orders.payment_method == "installment"
    assert set(orders.loc[on_credit, "installments"]) <= {3, 6, 12}
    assert (orders.loc[~on_credit, "installments"] == 1).all()
    assert orders.loc[~on_credit, "overdue_days"].isna().all()
    assert orders.loc[on_credit, "overdue_days"].notna().all()
    assert orders.paid_at.max() < pd.Timestamp(DEMO_AS_OF)
    assert orders.paid_at.min() >= pd.Timestamp(DEMO_AS_OF) - pd.Timedelta(days=3 * 366)
    assert ((orders.discount >= 0) & (orders.discount < orders.amount.abs())).all()


def test_events_schema(out: Path, events: pd.DataFrame) -> None:
    types = {f.name: str(f.type) for f in pq.read_schema(out / "events.parquet")}
    assert types == {
        "event_id": "int64", "customer_id": "string", "event_type": "string",
        "occurred_at": "timestamp[us]", "platform": "string", "page": "string",
        "keyword": "string", "campaign_id": "string", "device_id": "string",
    }  # fmt: skip
    assert events.event_id.is_unique
    assert set(events.event_type) == {t for t, _ in vocab.EVENT_TYPES}
    is_search = events.event_type == "search"
    assert events.loc[is_search, "keyword"].notna().all()
    assert events.loc[~is_search, "keyword"].isna().all()
    mailing = events.event_type.isin(["email_open", "email_click", "campaign_join"])
    assert events.loc[mailing, "campaign_id"].str.fullmatch(r"CMP20\d\d-\d\d").all()
    assert events.loc[~mailing, "campaign_id"].isna().all()
    month = events.loc[mailing, "occurred_at"].dt.strftime("CMP%Y-%m")
    assert (month == events.loc[mailing, "campaign_id"]).all()
    assert events.occurred_at.max() < pd.Timestamp(DEMO_AS_OF)


def test_the_smaller_sources_have_their_columns(out: Path) -> None:
    profiles = pd.read_csv(out / "social_profiles.csv")
    assert list(profiles) == ["customer_id", "platform", "account_id", "followers",
                              "following", "posts"]  # fmt: skip
    assert set(profiles.platform) <= {"微信", "微博", "抖音", "小红书"}
    assert not profiles.duplicated(["platform", "account_id"]).any()
    acts = pd.read_csv(out / "social_interactions.csv")
    assert list(acts) == ["interaction_id", "customer_id", "platform", "action", "occurred_at"]
    assert set(acts.action) == {"follow", "like", "comment", "share"}
    assert pd.to_datetime(acts.occurred_at, format="%Y-%m-%d %H:%M:%S").notna().all()
    consent = pd.read_csv(out / "consent.csv", dtype=str)
    assert list(consent) == ["customer_id", "channel", "granted", "updated_at"]
    assert set(consent.granted) == {"true", "false", "是", "否", "1", "0"}
    assert not consent.duplicated(["customer_id", "channel"]).any()
    party = pd.read_json(out / "third_party.jsonl", lines=True, dtype={"phone": str})
    assert list(party) == ["customer_id", "phone", "income_band", "occupation", "has_car",
                           "has_house", "credit_score"]  # fmt: skip
    assert party.credit_score.between(350, 950).all()
    assert set(party.has_car) == {"是", "否"}
    assert party.customer_id.is_unique


def test_tickets_are_gb18030_with_quoted_commas(out: Path) -> None:
    raw = (out / "tickets.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    rows = list(csv.reader(io.StringIO(raw.decode("gb18030"))))
    assert rows[0] == ["ticket_id", "customer_id", "created_at", "type", "channel",
                       "severity", "resolved", "satisfaction", "content"]  # fmt: skip
    assert all(len(r) == 9 for r in rows[1:])
    assert any("," in r[8] for r in rows[1:])
    assert all(parses(r[2], TIME_FORMATS) for r in rows[1:])
    assert {r[3] for r in rows[1:]} == set(vocab.TICKET_TYPES)
    assert {r[7] for r in rows[1:]} == {"", "1", "2", "3", "4", "5"}


# --- behaviour ----------------------------------------------------------------------------


def test_amounts_are_log_normal(orders: pd.DataFrame, invalid: pd.DataFrame) -> None:
    amount = valid_orders(orders, invalid).amount
    amount = amount[amount < 50_000]
    assert amount.skew() > 2
    assert abs(np.log(amount).skew()) < 0.5
    assert (amount.round(2) == amount).all()
    assert orders.amount.max() >= 50_000  # at least one one-off luxury purchase


def test_purchase_counts_are_over_dispersed(
    orders: pd.DataFrame, invalid: pd.DataFrame, customers: pd.DataFrame
) -> None:
    counts = valid_orders(orders, invalid).customer_id.value_counts()
    counts = counts.reindex(customers.客户编号.drop_duplicates(), fill_value=0)
    assert 15 < counts.mean() < 25
    assert counts.var() > 5 * counts.mean()  # Poisson would give var == mean


def test_category_popularity_is_heavy_tailed(orders: pd.DataFrame) -> None:
    share = orders.category.value_counts(normalize=True)
    assert len(share) >= 28
    assert share.iloc[0] > 3 * share.median()
    assert share.index[0] in ("女装", "美妆护肤", "食品生鲜")


def test_customers_keep_a_favourite_category(orders: pd.DataFrame, truth: pd.DataFrame) -> None:
    top = orders.groupby("customer_id").category.agg(lambda c: c.mode().iloc[0])
    favourite = truth.set_index("customer_id").favourite_category.reindex(top.index)
    busy = orders.customer_id.value_counts().reindex(top.index) >= 10
    assert (top[busy] == favourite[busy]).mean() > 0.8


def test_cities_follow_population_weights(customers: pd.DataFrame) -> None:
    city = customers.城市.str.strip("\u3000")
    share = city.value_counts(normalize=True)
    assert set(share.index[:4]) <= {"上海", "北京", "广州", "深圳", "成都", "重庆", "杭州"}
    assert share.iloc[0] > 5 * share.median()
    province = {c: p for c, p, _, _ in vocab.CITIES}
    assert (customers.省份 == city.map(province)).all()
    assert customers.城市.str.contains("\u3000").any()


def test_member_level_follows_spend(
    orders: pd.DataFrame, invalid: pd.DataFrame, customers: pd.DataFrame
) -> None:
    paid = valid_orders(orders, invalid).query("status == 'paid'")
    spend = paid.groupby("customer_id").amount.median()
    level = customers.drop_duplicates("客户编号").set_index("客户编号").会员等级
    by_level = spend.groupby(level.reindex(spend.index)).median()
    assert by_level["钻石会员"] > 1.5 * by_level["普通会员"]
    assert level.value_counts(normalize=True)["普通会员"] == pytest.approx(0.5, abs=0.05)


def test_order_status_shares(orders: pd.DataFrame) -> None:
    share = orders.status.value_counts(normalize=True)
    assert share["paid"] == pytest.approx(0.9, abs=0.03)
    assert share["refunded"] == pytest.approx(0.06, abs=0.02)
    assert share["cancelled"] == pytest.approx(0.04, abs=0.015)


def test_churned_customers_stop_buying(
    orders: pd.DataFrame, invalid: pd.DataFrame, truth: pd.DataFrame
) -> None:
    churned = truth[truth.churned].set_index("customer_id").churn_date
    assert 0.2 < len(churned) / len(truth) < 0.5
    own = valid_orders(orders, invalid)
    own = own[own.customer_id.isin(churned.index)]
    assert len(own) > 1000
    assert (own.paid_at < pd.to_datetime(own.customer_id.map(churned))).all()
    assert truth.loc[~truth.churned, "churn_date"].isna().all()


def test_events_thin_out_after_churn(events: pd.DataFrame, truth: pd.DataFrame) -> None:
    churned = truth[truth.churned].set_index("customer_id").churn_date
    own = events[events.customer_id.isin(churned.index)]
    after = own.occurred_at >= pd.to_datetime(own.customer_id.map(churned))
    days_after = (pd.Timestamp(DEMO_AS_OF) - pd.to_datetime(churned)).dt.days.sum()
    days_before = (pd.to_datetime(churned) - pd.Timestamp("2023-11-01")).dt.days.sum()
    assert 0 < after.sum() / days_after < 0.3 * (~after).sum() / days_before


def test_double_eleven_peaks(orders: pd.DataFrame) -> None:
    daily = orders.paid_at.dt.date.value_counts()
    for year in (2024, 2025):
        assert daily[datetime(year, 11, 11).date()] > 3 * daily.median()


def test_refund_prone_customers_complain_more(out: Path, truth: pd.DataFrame) -> None:
    tickets = pd.read_csv(out / "tickets.csv", encoding="gb18030")
    complainers = set(tickets.loc[tickets.type == "投诉", "customer_id"])
    rate = truth.set_index("customer_id").refund_rate
    assert rate[rate.index.isin(complainers)].mean() > 1.3 * rate.mean()


def test_nps_follows_satisfaction(out: Path) -> None:
    good = [json.loads(x) for x in (out / "surveys.jsonl").read_text().splitlines()[:200]]
    frame = pd.DataFrame([g for g in good if isinstance(g.get("nps"), int)])
    assert frame.nps.corr(frame.satisfaction) > 0.6
    assert frame.interests.str.split(";").map(len).between(1, 4).all()


def test_fraud_and_risk_noise_is_present(
    orders: pd.DataFrame, events: pd.DataFrame, truth: pd.DataFrame
) -> None:
    for customer in truth.loc[truth.is_fraud, "customer_id"]:
        times = np.sort(orders.loc[orders.customer_id == customer, "paid_at"].to_numpy())
        window = times[19:] - times[:-19]  # spans of 20 consecutive orders
        assert window.min() <= np.timedelta64(5, "m"), customer
    accounts = orders.groupby("device_id").customer_id.nunique()
    assert accounts.max() >= 20
    risky = orders.customer_id.isin(truth.loc[truth.is_risky, "customer_id"])
    assert (orders.loc[risky, "overdue_days"] >= 30).any()
    assert not (orders.loc[~risky, "overdue_days"] >= 30).any()
    assert events.device_id.notna().all()


# --- noise and ground truth ---------------------------------------------------------------


def test_every_kind_of_invalid_row_is_present(invalid: pd.DataFrame) -> None:
    kinds = set(zip(invalid.file, invalid.column, invalid.kind, strict=True))
    assert kinds == {
        ("customers.csv", "客户编号", "missing_required"),
        ("customers.csv", "出生日期", "bad_date"),
        ("customers.csv", "注册时间", "bad_date"),
        ("customers.csv", "手机号", "bad_phone"),
        ("customers.csv", "客户编号", "duplicate_key"),
        ("customers.csv", "", "malformed_line"),
        ("customers.csv", "", "bad_encoding"),
        ("orders.parquet", "order_id", "duplicate_key"),
        ("orders.parquet", "customer_id", "unknown_customer"),
        ("orders.parquet", "amount", "out_of_range"),
        ("surveys.jsonl", "", "bad_json"),
        ("surveys.jsonl", "nps", "bad_number"),
    }


def customer_problems(raw: bytes, seen: set[str]) -> set[tuple[str, str]]:
    """Every problem of one physical line of customers.csv, found independently."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {("", "bad_encoding")}
    fields = next(csv.reader([text]))
    if len(fields) != len(CUSTOMER_COLUMNS):
        return {("", "malformed_line")}
    row = dict(zip(CUSTOMER_COLUMNS, fields, strict=True))
    problems = set()
    if not row["客户编号"]:
        problems.add(("客户编号", "missing_required"))
    elif row["客户编号"] in seen:
        problems.add(("客户编号", "duplicate_key"))
    if row["出生日期"] and not parses(row["出生日期"], BIRTH_FORMATS):
        problems.add(("出生日期", "bad_date"))
    if not parses(row["注册时间"], TIME_FORMATS):
        problems.add(("注册时间", "bad_date"))
    if not MOBILE.fullmatch(normalized_phone(row["手机号"])):
        problems.add(("手机号", "bad_phone"))
    return problems


def test_customer_truth_lists_exactly_the_invalid_lines(
    lines: list[bytes], invalid: pd.DataFrame
) -> None:
    listed = invalid[invalid.file == "customers.csv"]
    expected = {(int(r.line), r.column, r.kind) for r in listed.itertuples()}
    found, seen = set(), set()
    for number, raw in enumerate(lines[1:], 2):
        found |= {(number, col, kind) for col, kind in customer_problems(raw, seen)}
        if b"," in raw:
            seen.add(raw.split(b",")[0].decode("utf-8", "replace"))
    assert found == expected


def test_order_truth_lists_exactly_the_invalid_rows(
    out: Path, orders: pd.DataFrame, invalid: pd.DataFrame
) -> None:
    listed = invalid[invalid.file == "orders.parquet"]
    expected = {(int(r.line), r.column, r.kind) for r in listed.itertuples()}
    known = set(pd.read_csv(out / "_truth" / "persons.csv").customer_id)
    line = orders.index + 1
    found = {(n, "order_id", "duplicate_key") for n in line[orders.order_id.duplicated()]}
    found |= {(n, "customer_id", "unknown_customer") for n in line[~orders.customer_id.isin(known)]}
    found |= {(n, "amount", "out_of_range") for n in line[orders.amount < 0]}
    assert found == expected


def test_survey_truth_lists_exactly_the_invalid_lines(out: Path, invalid: pd.DataFrame) -> None:
    listed = invalid[invalid.file == "surveys.jsonl"]
    expected = {(int(r.line), r.column, r.kind) for r in listed.itertuples()}
    found = set()
    for number, text in enumerate((out / "surveys.jsonl").read_text().splitlines(), 1):
        try:
            answer = json.loads(text)
        except json.JSONDecodeError:
            found.add((number, "", "bad_json"))
            continue
        if not isinstance(answer["nps"], int):
            found.add((number, "nps", "bad_number"))
        else:
            assert 0 <= answer["nps"] <= 10
    assert found == expected


def test_invalid_customers_have_no_other_data(
    out: Path, lines: list[bytes], invalid: pd.DataFrame, customers: pd.DataFrame
) -> None:
    persons = pd.read_csv(out / "_truth" / "persons.csv")
    assert set(persons.customer_id) == set(customers.客户编号)
    assert persons.customer_id.is_unique
    dropped = {f"C{i:08d}" for i in range(1, N + 1)} - set(persons.customer_id)
    assert len(dropped) == len(invalid[invalid.file == "customers.csv"])
    frames = [
        pq.read_table(out / "orders.parquet", columns=["customer_id"]).to_pandas(),
        pq.read_table(out / "events.parquet", columns=["customer_id"]).to_pandas(),
        pd.read_csv(out / "tickets.csv", encoding="gb18030"),
        pd.read_csv(out / "social_profiles.csv"),
        pd.read_csv(out / "consent.csv"),
        pd.read_json(out / "third_party.jsonl", lines=True),
    ]
    for frame in frames:
        assert not set(frame.customer_id) & dropped


def test_duplicate_persons_share_a_differently_written_phone(
    out: Path, customers: pd.DataFrame
) -> None:
    persons = pd.read_csv(out / "_truth" / "persons.csv")
    rows = customers.merge(persons, left_on="客户编号", right_on="customer_id")
    pairs = rows[rows.person_id.duplicated(keep=False)].groupby("person_id")
    assert 0.005 < pairs.ngroups / persons.person_id.nunique() < 0.02
    typos = 0
    for _, pair in pairs:
        first, second = pair.iloc[0], pair.iloc[1]
        assert len(pair) == 2
        assert normalized_phone(first.手机号) == normalized_phone(second.手机号)
        assert re.sub(r"\D", "", first.手机号)[-11:] == re.sub(r"\D", "", second.手机号)[-11:]
        assert first.手机号 != second.手机号
        assert first.邮箱.strip().lower() == second.邮箱.strip().lower()
        assert first.注册渠道 != second.注册渠道
        differs = sum(a != b for a, b in zip(first.姓名, second.姓名, strict=False))
        assert len(first.姓名) == len(second.姓名)
        assert differs <= 1
        typos += differs
    assert typos >= 1
    phones = rows.手机号.map(normalized_phone)
    assert phones.groupby(rows.person_id).nunique().eq(1).all()
    assert phones.nunique() == rows.person_id.nunique()


def test_formatting_noise_is_present(customers: pd.DataFrame) -> None:
    phone = customers.手机号
    assert phone.str.fullmatch(r"1\d{10}").mean() > 0.5
    for pattern in (r"1\d\d \d{4} \d{4}", r"1\d\d-\d{4}-\d{4}", r"\+86 1\d{10}",
                    r"\+86-1\d\d-\d{4}-\d{4}", r"861\d{10}", r"[１-９][０-９]{10}"):  # fmt: skip
        assert phone.str.fullmatch(pattern).any(), pattern
    assert set(customers.性别.dropna()) == {s for m, f, _ in vocab.GENDER_SPELLINGS for s in (m, f)}
    assert customers.性别.isna().any() and customers.出生日期.isna().any()
    birth = customers.出生日期.dropna()
    for pattern in (r"\d{4}-\d\d-\d\d", r"\d{4}/\d{1,2}/\d{1,2}", r"\d{8}", r"\d{4}年.*日"):
        assert birth.str.fullmatch(pattern).any(), pattern
    email = customers.邮箱.dropna()
    assert (email != email.str.strip()).any() and (email != email.str.lower()).any()
    domains = email.str.strip().str.lower().str.split("@").str[1]
    assert {"qq.com", "163.com", "gmail.com"} <= set(domains)
    registered = customers.注册时间
    for pattern in (r"\S+ \d\d:\d\d:\d\d", r"\S+ \d\d:\d\d", r"\d{4}年.*日", r"\S+T\S+"):
        assert registered.str.fullmatch(pattern).any(), pattern
    store = customers.注册渠道 == "线下门店"
    assert customers.loc[store, "会员卡号"].str.fullmatch(r"M\d{10}").all()
    assert customers.loc[~store, "会员卡号"].isna().mean() > 0.9
