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
BUSY = 5_000
"""Customers of the data set with a tenth of extra accounts (the benchmarks' rate)."""
LINKS = {"phone": 0.35, "email": 0.20, "unionid": 0.15, "fuzzy": 0.30}
"""Link scenarios of extra accounts and their intended shares (issue #6)."""
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
    "客户编号", "姓名", "性别", "出生日期", "手机号", "邮箱", "微信OpenID", "微信UnionID", "省份",
    "城市", "地址", "注册渠道", "会员卡号", "会员等级", "注册时间",
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
    return read_customers(out, invalid)


def read_customers(out: Path, invalid: pd.DataFrame) -> pd.DataFrame:
    bad = set(invalid.loc[invalid.file == "customers.csv", "line"].astype(int))
    good = []
    for number, raw in enumerate((out / "customers.csv").read_bytes().split(b"\n")[:-1], 1):
        if number > 1 and number not in bad:
            good.append([number, *next(csv.reader([raw.decode("utf-8")]))])
    return pd.DataFrame(good, columns=["line", *CUSTOMER_COLUMNS]).replace("", None)


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("busy")
    generate(out, customers=BUSY, duplicates=0.1, seed=3)
    return out


@pytest.fixture(scope="module")
def accounts(busy: Path) -> pd.DataFrame:
    """Valid rows of the busy data set with their person_id, indexed by customer id."""
    invalid = pd.read_csv(busy / "_truth" / "invalid.csv", dtype=str, keep_default_na=False)
    rows = read_customers(busy, invalid)
    persons = pd.read_csv(busy / "_truth" / "persons.csv", dtype=str)
    merged = rows.merge(persons, left_on="客户编号", right_on="customer_id", validate="1:1")
    assert len(merged) == len(rows) == len(persons)
    return merged.set_index("客户编号")


@pytest.fixture(scope="module")
def extras(busy: Path) -> pd.DataFrame:
    """`_truth/duplicates.csv` of the busy data set."""
    frame = pd.read_csv(busy / "_truth" / "duplicates.csv", dtype=str)
    assert set(frame.name_typo) <= {"true", "false"}
    return frame.assign(name_typo=frame.name_typo == "true")


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
    return parsed(text, formats) is not None


def parsed(text: str | None, formats: tuple[str, ...]) -> datetime | None:
    for fmt in formats:
        try:
            return datetime.strptime(text or "", fmt)
        except ValueError:
            continue
    return None


def e164(raw: str) -> str:
    return "+86" + normalized_phone(raw)


def plain_address(text: str) -> str:
    """Full-width digits and spaces normalised away."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", text))


def same_address(a: str, b: str) -> bool:
    """Equal once normalised, or equal but for a leading district (`…区`)."""
    a, b = plain_address(a), plain_address(b)
    longer, shorter = (a, b) if len(a) >= len(b) else (b, a)
    head = longer[: len(longer) - len(shorter)]
    return longer.endswith(shorter) and (head == "" or head.endswith("区"))


def strong_ids(row: pd.Series) -> set[tuple[str, str]]:
    """The exact identifiers of one account, standardized: phone, email, UnionID."""
    ids = {("phone", e164(row.手机号))}
    if row.邮箱:
        ids.add(("email", row.邮箱.strip().lower()))
    if row.微信UnionID:
        ids.add(("unionid", row.微信UnionID))
    return ids


# --- determinism and scale ------------------------------------------------------------------


def test_same_seed_writes_identical_bytes(tmp_path: Path) -> None:
    generate(tmp_path / "a", customers=500, seed=1, duplicates=0.1)
    generate(tmp_path / "b", customers=500, seed=1, duplicates=0.1)
    generate(tmp_path / "c", customers=500, seed=2, duplicates=0.1)
    truth = ("persons.csv", "invalid.csv", "customers.parquet", "duplicates.csv",
             "shared_identifiers.csv")  # fmt: skip
    for name in [*SOURCES, *(f"_truth/{t}" for t in truth)]:
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
    assert stats.extra_accounts == len(pd.read_csv(out / "_truth" / "duplicates.csv"))
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


@pytest.mark.parametrize("rate", [-0.01, 0.31])
def test_a_duplicate_rate_out_of_range_is_refused(tmp_path: Path, rate: float) -> None:
    with pytest.raises(ValueError, match=r"duplicates must be between 0 and 0\.3"):
        generate(tmp_path, customers=500, duplicates=rate)


def test_no_duplicates_gives_one_account_per_person(tmp_path: Path) -> None:
    stats = generate(tmp_path, customers=500, duplicates=0.0)
    persons = pd.read_csv(tmp_path / "_truth" / "persons.csv")
    assert persons.person_id.is_unique
    assert pd.read_csv(tmp_path / "_truth" / "duplicates.csv").empty
    assert stats.extra_accounts == 0


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


def test_nps_follows_satisfaction(out: Path, invalid: pd.DataFrame) -> None:
    bad = set(invalid.loc[invalid.file == "surveys.jsonl", "line"].astype(int))
    lines = (out / "surveys.jsonl").read_text().splitlines()[:200]
    good = [json.loads(x) for number, x in enumerate(lines, 1) if number not in bad]
    frame = pd.DataFrame([g for g in good if isinstance(g.get("nps"), int)])
    assert frame.nps.corr(frame.satisfaction) > 0.6
    assert frame.interests.str.split(";").map(len).between(1, 4).all()


def test_fraud_and_risk_noise_is_present(
    orders: pd.DataFrame, events: pd.DataFrame, truth: pd.DataFrame
) -> None:
    fraudsters = truth.loc[truth.is_fraud, "customer_id"]
    assert len(fraudsters) > 0
    for customer in fraudsters:
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


@pytest.mark.parametrize(("data", "rate"), [("out", 0.02), ("busy", 0.1)])
def test_extra_accounts_are_the_requested_share(
    request: pytest.FixtureRequest, data: str, rate: float
) -> None:
    folder: Path = request.getfixturevalue(data)
    rows = len((folder / "customers.csv").read_bytes().split(b"\n")) - 2
    persons = pd.read_csv(folder / "_truth" / "persons.csv")
    extra = len(persons) - persons.person_id.nunique()
    assert extra / rows == pytest.approx(rate, abs=0.001)
    accounts = persons.person_id.value_counts()
    assert set(accounts) == {1, 2, 3}


def test_duplicates_agree_with_persons(accounts: pd.DataFrame, extras: pd.DataFrame) -> None:
    person = accounts.person_id
    assert extras.customer_id.is_unique
    for column in ("first_customer_id", "linked_customer_id"):
        assert (extras[column].map(person) == extras.customer_id.map(person)).all(), column
    assert (extras.linked_customer_id != extras.customer_id).all()
    # every person's accounts but one (its first) are listed, and that one is the first
    firsts = accounts[~accounts.index.isin(extras.customer_id)]
    assert firsts.person_id.is_unique
    assert len(firsts) == person.nunique()
    first_of = pd.Series(firsts.index, index=firsts.person_id)
    assert (extras.first_customer_id == extras.customer_id.map(person).map(first_of)).all()
    assert set(persons_with(accounts, 2)) | set(persons_with(accounts, 3)) == set(
        extras.customer_id.map(person)
    )
    # accounts register in order: the first one first, a linked account before the linker
    day = accounts.注册时间.map(lambda t: parsed(t, TIME_FORMATS).date())
    for column in ("first_customer_id", "linked_customer_id"):
        assert (extras[column].map(day) <= extras.customer_id.map(day)).all(), column


def persons_with(accounts: pd.DataFrame, count: int) -> list[str]:
    sizes = accounts.person_id.value_counts()
    return list(sizes[sizes == count].index)


def test_every_link_scenario_occurs_in_its_share(extras: pd.DataFrame) -> None:
    share = extras.link.value_counts(normalize=True)
    assert set(share.index) == set(LINKS)
    for link, expected in LINKS.items():
        assert share[link] == pytest.approx(expected, abs=0.06), link
    typos = extras.groupby("link").name_typo.mean()
    assert 0.1 < typos["fuzzy"] < 0.3
    assert typos.drop("fuzzy").between(0.02, 0.2).all()
    # a third account links to the second one (a chain) or, as well, to the first
    triples = extras[extras.first_customer_id.duplicated(keep=False)]
    chained = triples.linked_customer_id.isin(triples.customer_id)
    either = set(triples.customer_id) | set(triples.first_customer_id)
    assert triples.linked_customer_id.isin(either).all()
    per_person = chained.groupby(triples.first_customer_id).sum()
    assert set(per_person) == {0, 1}


def test_each_link_shares_what_it_says(accounts: pd.DataFrame, extras: pd.DataFrame) -> None:
    city = accounts.城市.str.strip("\u3000")
    for r in extras.itertuples():
        me, other = accounts.loc[r.customer_id], accounts.loc[r.linked_customer_id]
        first = accounts.loc[r.first_customer_id]
        assert me.注册渠道 not in (other.注册渠道, first.注册渠道), r
        assert city[r.customer_id] == city[r.linked_customer_id] == city[r.first_customer_id]
        if me.出生日期 and first.出生日期:
            assert parsed(me.出生日期, BIRTH_FORMATS) == parsed(first.出生日期, BIRTH_FORMATS)
        if r.name_typo:
            assert len(me.姓名) == len(first.姓名), r
            assert sum(a != b for a, b in zip(me.姓名, first.姓名, strict=True)) == 1, r
        else:
            assert me.姓名 == first.姓名, r
        shared = strong_ids(me) & strong_ids(other)
        if r.link == "phone":
            assert ("phone", e164(me.手机号)) in shared, r
            assert me.手机号 != other.手机号, r
            assert re.sub(r"\D", "", me.手机号)[-11:] == re.sub(r"\D", "", other.手机号)[-11:]
        elif r.link == "email":
            assert ("email", me.邮箱.strip().lower()) in shared, r
            assert me.邮箱 != other.邮箱, r
            assert e164(me.手机号) != e164(other.手机号), r
        elif r.link == "unionid":
            assert ("unionid", me.微信UnionID) in shared, r
            assert me.微信OpenID and me.微信OpenID != other.微信OpenID, r
            assert e164(me.手机号) != e164(other.手机号), r
        else:
            assert not shared, r
            assert me.邮箱 is None and me.微信OpenID is None and me.微信UnionID is None, r
            assert me.出生日期 and other.出生日期, r
            assert parsed(me.出生日期, BIRTH_FORMATS) == parsed(other.出生日期, BIRTH_FORMATS)
            assert me.地址 and other.地址, r
            assert me.地址 != other.地址, r
            assert same_address(me.地址, other.地址), (me.地址, other.地址)


def test_store_sign_ups_hold_a_member_card(accounts: pd.DataFrame, extras: pd.DataFrame) -> None:
    extra = accounts.loc[extras.customer_id]
    store = extra.注册渠道 == "线下门店"
    assert store.sum() > 10
    assert extra.loc[store, "会员卡号"].str.fullmatch(r"M\d{10}").all()
    # only UnionID links join through the mini-program, whose sign-ups carry WeChat ids
    mini = extra.注册渠道.to_numpy() == "微信小程序"
    assert set(extras.link[mini]) == {"unionid"}


def test_chains_join_a_third_account_only_through_the_second(
    accounts: pd.DataFrame, extras: pd.DataFrame
) -> None:
    """A–B share one identifier and B–C another, while A and C share none."""
    chains = []
    for r in extras[extras.linked_customer_id != extras.first_customer_id].itertuples():
        ids = [strong_ids(accounts.loc[i]) for i in (r.first_customer_id,
               r.linked_customer_id, r.customer_id)]  # fmt: skip
        a, b, c = ids
        if a & b and b & c and not a & c:
            chains.append(({k for k, _ in a & b}, {k for k, _ in b & c}))
    assert len(chains) >= 5
    assert any("phone" in ab and "unionid" in bc for ab, bc in chains), chains
    assert len({(frozenset(ab), frozenset(bc)) for ab, bc in chains}) >= 3


def test_shared_phones_are_traps_of_distinct_persons(busy: Path, accounts: pd.DataFrame) -> None:
    shared = pd.read_csv(busy / "_truth" / "shared_identifiers.csv", dtype={"value": str})
    assert list(shared) == ["type", "value", "kind", "records"]
    assert set(shared.type) == {"phone"} and shared.value.is_unique
    phone = accounts.手机号.map(e164)
    persons = accounts.groupby(phone).person_id.nunique()
    # every number held by several persons is listed, and nothing else
    assert set(persons[persons > 1].index) == set(shared.value)
    listed = shared.set_index("value")
    assert (listed.records == phone.value_counts()[listed.index]).all()
    assert (listed.records == persons[listed.index]).all()  # one account per person each
    placeholder = listed[listed.kind == "placeholder"]
    assert set(placeholder.index) == {"+8613800000000", "+8613888888888"}
    family = listed[listed.kind == "family"]
    assert set(listed.kind) == {"family", "placeholder"}
    assert family.records.between(2, 4).all() and len(family) >= 5
    assert 0.0015 < family.records.sum() / BUSY < 0.0045
    assert 0.0003 < placeholder.records.sum() / BUSY < 0.001
    one_surname = one_address = 0
    for number in family.index:
        members = accounts[phone == number]
        births = members.出生日期.dropna().map(lambda t: parsed(t, BIRTH_FORMATS))
        assert births.is_unique, number
        assert members.城市.str.strip("\u3000").nunique() == 1, number
        one_surname += members.姓名.str[0].nunique() == 1
        one_address += members.地址.notna().all() and members.地址.map(plain_address).nunique() == 1
    assert one_surname >= 0.4 * len(family) and one_address >= 1


def test_namesakes_live_in_one_city(accounts: pd.DataFrame) -> None:
    """Same name and city, different persons and birthdays: they must stay apart."""
    born = accounts.出生日期.map(lambda t: parsed(t, BIRTH_FORMATS))
    key = accounts.姓名 + "@" + accounts.城市.str.strip("\u3000")
    firsts = ~accounts.index.duplicated() & ~accounts.person_id.duplicated()
    frame = pd.DataFrame({"key": key, "person": accounts.person_id, "born": born})[firsts]
    frame = frame.dropna(subset=["born"])
    groups = frame.groupby("key").agg(persons=("person", "nunique"), births=("born", "nunique"))
    namesakes = groups[(groups.persons > 1) & (groups.births == groups.persons)]
    assert len(namesakes) >= 3


def test_wechat_ids(accounts: pd.DataFrame) -> None:
    openid, unionid = accounts.微信OpenID, accounts.微信UnionID
    for ids in (openid.dropna(), unionid.dropna()):
        assert ids.str.fullmatch(r"o[A-Za-z0-9_-]{27}").all()
    mini = accounts.注册渠道 == "微信小程序"
    assert openid[mini].notna().all()
    assert openid[~mini].notna().mean() < 0.1
    assert unionid[openid.notna()].notna().all()
    assert (unionid.notna() & openid.isna()).any()
    # a UnionID belongs to one person, a person has one UnionID, an OpenID to one person
    assert accounts.groupby(unionid).person_id.nunique().eq(1).all()
    assert accounts[unionid.notna()].groupby("person_id").微信UnionID.nunique().eq(1).all()
    assert accounts.groupby(openid).person_id.nunique().eq(1).all()
    assert 0.15 < unionid.notna().mean() < 0.5


def test_addresses_lie_in_the_customers_city(accounts: pd.DataFrame) -> None:
    address = accounts.地址.dropna()
    assert 0.75 < len(address) / len(accounts) < 0.95
    plain = address.map(plain_address)
    shape = r"(\w+区)?\w+?(路|街|大道|线)\d+号(\d+栋\d+单元\d+室|\d+号楼\d+室)?"
    assert plain.str.fullmatch(shape).all(), plain[~plain.str.fullmatch(shape)].head()
    city = accounts.城市.str.strip("\u3000")[address.index]
    checked = 0
    for name, (districts, roads) in vocab.STREETS.items():
        mine = plain[city == name]
        assert mine.map(lambda a, r=roads: any(road in a for road in r)).all(), name
        district = mine.str.extract(r"^(\w+?区)", expand=False).dropna()
        assert district.isin(districts).all(), name
        checked += len(mine)
    assert checked > 0.3 * len(plain)
    assert address.str.contains(r"[０-９]").any()
    assert address.str.contains(" ").any()
    assert (~plain.str.contains("区")).mean() > 0.05


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


def test_the_cli_mirrors_the_generator_constants() -> None:
    """The CLI repeats a few constants to start without numpy; they must stay the same."""
    from tagwise.cli.commands import workspace as cli  # noqa: PLC0415
    from tagwise.demo import generate as gen  # noqa: PLC0415

    assert cli.DEFAULT_DEMO_DUPLICATES == gen.DEFAULT_DUPLICATES
    assert cli.MAX_DEMO_DUPLICATES == gen.MAX_DUPLICATES
    assert cli.DEMO_AS_OF == gen.DEMO_AS_OF
