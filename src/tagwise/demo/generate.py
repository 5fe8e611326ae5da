"""Deterministic synthetic retail data for the demo workspace.

`generate` writes the source files a Chinese retailer would hand over (customers, orders,
events, social, surveys, tickets, third-party enrichment, consent) plus `_truth/`, the
answers that tests and evaluations compare against. The data behaves like a business:
Poisson-gamma purchase counts, churn, log-normal amounts, Zipf category popularity, and the
formatting noise, duplicate persons and invalid rows that cleaning has to deal with.

Everything is vectorised over numpy arrays; strings are built by pyarrow compute kernels
from small vocabularies, so no Python loop runs per row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tagwise.demo import vocab

DEMO_AS_OF = date(2026, 11, 1)
"""The demo's "today": every timestamp lies before it."""

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
Progress: TypeAlias = Callable[[str, int], None]

_HISTORY_START = date(2023, 11, 1)
_H = (DEMO_AS_OF - _HISTORY_START).days
_START_DAY = (_HISTORY_START - date(1970, 1, 1)).days
_DAY_S = 86_400
_US = 1_000_000
_CHUNK = 20_000
_CELLS = 1 << 16
_ROW_GROUP = 1_000_000
_ORDERS_PER_CUSTOMER = 20.0
_EVENTS_PER_CUSTOMER = 50.0
_TICKETS_PER_CUSTOMER = 0.3
_HOUR_WEIGHTS = np.array(
    [6, 3, 1.5, 1, 0.8, 1, 2, 5, 9, 11, 12, 12, 13, 11, 10, 10, 10, 11, 12, 14, 17, 19, 17, 11]
)
_STR = pa.string()
_DICT = pa.dictionary(pa.int32(), pa.string())
_STAGES = (
    "population",
    "customers",
    "orders",
    "events",
    "social",
    "surveys",
    "tickets",
    "third_party",
    "consent",
)
"""One independent random stream per stage, so files do not depend on each other's draws."""
_CUSTOMER_FAULTS = (
    ("missing_required", "客户编号"),
    ("bad_date", "出生日期"),
    ("bad_date", "注册时间"),
    ("bad_phone", "手机号"),
    ("duplicate_key", "客户编号"),
    ("malformed_line", ""),
    ("bad_encoding", ""),
)
_BAD_BIRTH = ("1990-02-30", "不详", "1985-13-01", "2001/2/29")
_BAD_REGISTERED = ("2024-13-45 10:00:00", "昨天下午", "2025-02-29 09:30:00", "0000-00-00")
_BAD_PHONES = ("12345", "138001380", "23800138000", "138-0013-80000")


@dataclass(frozen=True, slots=True)
class DemoStats:
    """What `generate` wrote: data rows per file (invalid rows included) and time taken."""

    customers: int
    orders: int
    events: int
    social_profiles: int
    social_interactions: int
    surveys: int
    tickets: int
    third_party: int
    consent: int
    invalid_rows: int
    """Rows listed in `_truth/invalid.csv`."""
    seconds: float


@dataclass(frozen=True, slots=True)
class _Fault:
    """Rows of one source file made invalid on purpose, as `_truth/invalid.csv` lists them."""

    file: str
    lines: IntArray
    column: str
    kind: str


@dataclass(frozen=True, slots=True)
class _Population:
    """Latent traits, one element per row of customers.csv (invalid rows included)."""

    sex: IntArray
    """0 male, 1 female."""
    birth_day: IntArray
    """Days since 1970-01-01."""
    city: IntArray
    channel: IntArray
    """Registration channel, index into `vocab.REGISTRATION_CHANNELS`."""
    registered_s: IntArray
    """Registration time, local seconds since 1970-01-01."""
    person: IntArray
    """Row of the first account of the same person; the row itself for most customers."""
    valid: BoolArray
    """False for rows that validation must reject; they get no orders, events, …"""
    start: IntArray
    """First active day, counted from the start of the history."""
    end: IntArray
    """First day after the active window: the churn day, or the as-of day."""
    churned: BoolArray
    rate: FloatArray
    """Expected orders per year of activity (Gamma-distributed)."""
    amount_mu: FloatArray
    price_sensitivity: FloatArray
    refund_rate: FloatArray
    level: IntArray
    favourite: IntArray
    is_fraud: BoolArray
    is_risky: BoolArray
    phone: IntArray
    device_start: IntArray
    devices: IntArray
    shared_device: IntArray
    """Index of a device shared by many accounts, or -1."""


def generate(
    out_dir: Path,
    *,
    customers: int,
    seed: int = 20261125,
    progress: Progress | None = None,
) -> DemoStats:
    """Write the demo source files and their ground truth under `out_dir`.

    Args:
        out_dir: Folder to write into; created if missing, existing files are replaced.
        customers: Rows of customers.csv; every other file scales from it.
        seed: Seed of the random streams; the same seed writes byte-identical files.
        progress: Called as `progress(stage, rows_done)` while files are written, from the
            calling thread or from the one worker thread that writes events.

    Returns:
        Row counts per file and the elapsed time.

    Raises:
        ValueError: `customers` is below 100 (too few to hold every kind of noise) or has
            more than 8 digits.
    """
    if not 100 <= customers < 99_000_000:
        raise ValueError(f"customers must be between 100 and 98,999,999, not {customers}")
    began = time.perf_counter()
    report = progress or _ignore
    seeds = np.random.SeedSequence(seed).spawn(len(_STAGES))
    rngs = {
        stage: np.random.Generator(np.random.PCG64(s))
        for stage, s in zip(_STAGES, seeds, strict=True)
    }
    (out_dir / "_truth").mkdir(parents=True, exist_ok=True)
    pop, faults, dup_source = _population(rngs["population"], customers)
    ids = _ids("C", np.arange(1, customers + 1), 8)
    # Events are the largest file: a second core writes them (and consent) meanwhile. numpy
    # and pyarrow release the GIL in their kernels, and each file has its own random stream.
    with ThreadPoolExecutor(max_workers=1) as pool:
        worker = pool.submit(_write_events_and_consent, out_dir, rngs, pop, ids, report)
        rng = rngs["customers"]
        _write_customers(out_dir, rng, pop, faults=faults, dup_source=dup_source, ids=ids)
        report("customers", customers)
        order_faults, orders = _write_orders(out_dir, rngs["orders"], pop, ids, report)
        survey_faults, surveys = _write_surveys(out_dir, rngs["surveys"], pop, ids)
        report("surveys", surveys)
        counts = _write_smaller(out_dir, rngs, pop, ids, report) | worker.result()
    all_faults = [*faults, *order_faults, *survey_faults]
    _write_truth(out_dir, pop, ids, all_faults)
    return DemoStats(
        customers=customers,
        orders=orders,
        surveys=surveys,
        **counts,
        invalid_rows=sum(len(f.lines) for f in all_faults),
        seconds=time.perf_counter() - began,
    )


def _write_events_and_consent(
    out: Path,
    rngs: dict[str, np.random.Generator],
    pop: _Population,
    ids: pa.Array,
    report: Progress,
) -> dict[str, int]:
    events = _write_events(out, rngs["events"], pop, ids, report)
    consent = _write_consent(out, rngs["consent"], pop, ids)
    report("consent", consent)
    return {"events": events, "consent": consent}


def _write_smaller(
    out: Path,
    rngs: dict[str, np.random.Generator],
    pop: _Population,
    ids: pa.Array,
    report: Progress,
) -> dict[str, int]:
    """Social, tickets and third-party files; returns their row counts."""
    counts = _write_social(out, rngs["social"], pop, ids)
    report("social", counts["social_profiles"] + counts["social_interactions"])
    counts["tickets"] = _write_tickets(out, rngs["tickets"], pop, ids)
    report("tickets", counts["tickets"])
    counts["third_party"] = _write_third_party(out, rngs["third_party"], pop, ids)
    report("third_party", counts["third_party"])
    return counts


def _ignore(stage: str, rows: int) -> None:
    del stage, rows


# --- arrays from vocabularies -------------------------------------------------------------


def _weights(pairs: tuple[tuple[str, float], ...]) -> FloatArray:
    w: FloatArray = np.array([p[1] for p in pairs], dtype=np.float64)
    return w / float(w.sum())


def _pick(rng: np.random.Generator, p: FloatArray, size: int) -> IntArray:
    """Indices drawn with relative weights `p`, to a resolution of 2**-16.

    A 16-bit draw looked up in an inverse-CDF table is ten times faster than `choice(p=…)`
    or `searchsorted` on uniform floats, and the rounding does not matter for demo data.
    """
    return _inverse_cdf(p)[rng.integers(0, _CELLS, size, dtype=np.uint16)]


def _inverse_cdf(p: FloatArray) -> IntArray:
    cdf = np.cumsum(p) / np.sum(p)
    table = np.searchsorted(cdf, (np.arange(_CELLS) + 0.5) / _CELLS, side="right")
    return np.minimum(table, len(p) - 1).astype(np.int64)


def _chance(rng: np.random.Generator, p: float | FloatArray, size: int) -> BoolArray:
    """True with probability `p` (per element if an array), to a resolution of 2**-16."""
    return rng.integers(0, _CELLS, size, dtype=np.uint16) < np.multiply(p, _CELLS)


def _below(rng: np.random.Generator, bound: int | IntArray, size: int) -> IntArray:
    """Uniform integers in [0, bound) for small bounds, from 16-bit draws."""
    draw = rng.integers(0, _CELLS, size, dtype=np.uint16).astype(np.int64)
    return (draw * bound) >> 16


def _texts(values: tuple[str, ...] | list[str]) -> pa.Array:
    return pa.array(values, type=_STR)


def _take(values: pa.Array, idx: IntArray, mask: BoolArray | None = None) -> pa.Array:
    """`values[idx]` as a plain string array, null where `mask` is true."""
    return values.take(pa.array(idx, mask=mask))


def _dict(values: pa.Array, idx: IntArray, mask: BoolArray | None = None) -> pa.Array:
    """`values[idx]` as a dictionary array: cheap to build and to write to Parquet."""
    indices = pa.array(idx.astype(np.int32), mask=mask, type=pa.int32())
    return pa.DictionaryArray.from_arrays(indices, values)


def _digits(numbers: IntArray, width: int) -> pa.Array:
    """Non-negative numbers below 10**width as zero-padded text."""
    return pc.utf8_slice_codeunits(pc.cast(pa.array(numbers + 10**width), _STR), 1, width + 1)


def _ids(prefix: str, numbers: IntArray, width: int) -> pa.Array:
    """`prefix` + zero-padded numbers; a leading 1 is cast along and then replaced."""
    return pc.utf8_replace_slice(pc.cast(pa.array(numbers + 10**width), _STR), 0, 1, prefix)


def _scramble(numbers: IntArray, modulus: int, salt: int = 0) -> IntArray:
    """A bijection of [0, modulus) for decimal moduli: unique, random-looking numbers."""
    return (numbers * 7_919_077 + 4_242_421 + salt) % modulus


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _replace(values: pa.Array, rows: IntArray, options: tuple[str, ...]) -> pa.Array:
    """Overwrite `values[rows]` with `options`, cycling through them."""
    mask = np.zeros(len(values), dtype=np.bool_)
    mask[rows] = True
    new = [options[i % len(options)] for i in range(len(rows))]
    # replace_with_mask consumes the replacements in row order.
    ordered = [new[i] for i in np.argsort(rows).tolist()]
    return pc.replace_with_mask(values, pa.array(mask), pa.array(ordered, type=_STR))


# --- time -------------------------------------------------------------------------------


def _intensity() -> FloatArray:
    """Cumulative shopping intensity per history day, in years (`W[d]`, length H + 1).

    The daily weight grows over time and peaks at weekends, 618, 双11 and 双12, and dips
    over the Spring Festival; sampling days through it gives orders realistic seasonality.
    """
    days = np.datetime64(_HISTORY_START.isoformat()) + np.arange(_H)
    months = days.astype("datetime64[M]")
    month = months.astype(np.int64) % 12 + 1
    dom = (days - months).astype(np.int64) + 1
    weekday = (days.astype(np.int64) + 3) % 7
    w = 1.0 + 0.3 * np.arange(_H) / _H
    w *= np.where(weekday >= 5, 1.15, 1.0)
    w *= np.where((month == 11) & (dom <= 11), 2.0, 1.0)
    w *= np.where((month == 11) & (dom == 11), 3.0, 1.0)
    w *= np.where((month == 6) & (dom <= 18), 1.5, 1.0)
    w *= np.where((month == 12) & (dom == 12), 1.8, 1.0)
    for festival in ("2024-02-10", "2025-01-29", "2026-02-17"):
        offset = (days - np.datetime64(festival)).astype(np.int64)
        w *= np.where((offset >= -2) & (offset <= 6), 0.5, 1.0)
    cumulative = np.concatenate([[0.0], np.cumsum(w)])
    years: FloatArray = cumulative * (_H / 365.25) / cumulative[-1]
    return years


_W = _intensity()


def _months() -> IntArray:
    """Month of each history day, counted from the first month of the history."""
    months = (np.datetime64(_HISTORY_START.isoformat()) + np.arange(_H)).astype("datetime64[M]")
    return np.asarray(months - months[0], dtype=np.int64)


_MONTH_OF_DAY = _months()


def _day_grid() -> IntArray:
    """History day at each of `_CELLS` equal steps of cumulative intensity."""
    targets = (np.arange(_CELLS) + 0.5) / _CELLS * _W[-1]
    days: IntArray = np.searchsorted(_W, targets, side="right").astype(np.int64) - 1
    return days


_DAY_GRID = _day_grid()


def _days(rng: np.random.Generator, lo: IntArray, hi: IntArray) -> IntArray:
    """One history day per element, in [lo, hi), following the shopping intensity."""
    target = _W[lo] + rng.random(len(lo)) * (_W[hi] - _W[lo])
    day = _DAY_GRID[np.minimum(target * (_CELLS / _W[-1]), _CELLS - 1).astype(np.int64)]
    clipped: IntArray = np.clip(day, lo, np.maximum(hi - 1, lo))
    return clipped


def _micros(rng: np.random.Generator, day: IntArray) -> IntArray:
    """Local timestamps in microseconds: the given days at a realistic time of day."""
    hour = _pick(rng, _HOUR_WEIGHTS, len(day))
    within = rng.integers(0, 3600 * _US, len(day))
    return ((_START_DAY + day) * _DAY_S + hour * 3600) * _US + within


def _timestamps(micros: IntArray) -> pa.Array:
    return pa.array(micros.astype("datetime64[us]"), type=pa.timestamp("us"))


def _iso_seconds(micros: IntArray) -> pa.Array:
    """`YYYY-MM-DD HH:MM:SS` strings (a cast is 30 times faster than `strftime`)."""
    seconds = pa.array((micros // _US).astype("datetime64[s]"), type=pa.timestamp("s"))
    return pc.cast(seconds, _STR)


def _date_parts(day: IntArray) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """`YYYY-MM-DD` text, and year, month and day without zero padding, of days since 1970."""
    d = day.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = months.astype(np.int64) % 12 + 1
    dd = (d - months).astype(np.int64) + 1
    iso = pc.cast(pa.array(d, type=pa.date32()), _STR)
    return iso, *(pc.cast(pa.array(v), _STR) for v in (y, m, dd))


def _mixed_dates(rng: np.random.Generator, day: IntArray, empty: BoolArray) -> pa.Array:
    """Dates as `1990-01-05`, `1990/1/5`, `19900105` or `1990年1月5日`; null where empty."""
    iso, y, m, d = _date_parts(day)
    forms = (
        iso,
        _join(y, "/", m, "/", d),
        pc.replace_substring(iso, "-", ""),
        _join(y, "年", m, "月", d, "日"),
    )
    fmt = _pick(rng, np.array([0.6, 0.15, 0.12, 0.13]), len(day))
    return pc.choose(pa.array(fmt, mask=empty), *forms)


def _mixed_datetimes(rng: np.random.Generator, seconds: IntArray) -> pa.Array:
    """Datetimes as `2024-03-05 14:22:10`, `2024/3/5 14:22`, `2024年3月5日` or ISO."""
    _, y, m, d = _date_parts(seconds // _DAY_S)
    iso = _iso_seconds(seconds * _US)
    forms = (
        iso,
        _join(y, "/", m, "/", d, " ", pc.utf8_slice_codeunits(iso, 11, 16)),
        _join(y, "年", m, "月", d, "日"),
        pc.replace_substring(iso, " ", "T"),
    )
    fmt = _pick(rng, np.array([0.5, 0.2, 0.15, 0.15]), len(seconds))
    return pc.choose(pa.array(fmt), *forms)


# --- the population -----------------------------------------------------------------------


def _population(rng: np.random.Generator, n: int) -> tuple[_Population, list[_Fault], IntArray]:
    """Latent traits of every customer row, the invalid rows, and duplicate-key sources."""
    person = _persons(rng, n)
    faults, dup_source = _customer_faults(rng, person)
    valid = np.ones(n, dtype=np.bool_)
    for fault in faults:
        valid[fault.lines - 2] = False
    sex = rng.integers(0, 2, n)[person]
    channel = _pick(rng, _weights(vocab.REGISTRATION_CHANNELS), n)
    is_dup = person != np.arange(n)
    channel[is_dup] = (channel[person[is_dup]] + rng.integers(1, 6, is_dup.sum())) % 6
    registered_s, start, end, churned = _activity(rng, n)
    rate = rng.gamma(0.7, 1.0, n) * valid
    exposure = _W[end] - _W[start]
    rate *= _ORDERS_PER_CUSTOMER * n / max(float((rate * exposure).sum()), 1e-9)
    amount_mu = rng.normal(4.6, 0.45, n)
    devices = 1 + rng.binomial(2, 0.25, n)
    device_start = np.concatenate([[0], np.cumsum(devices)[:-1]])
    return (
        _Population(
            sex=sex,
            birth_day=_birth_days(rng, n)[person],
            city=_pick(rng, np.array([c[3] for c in vocab.CITIES]), n)[person],
            channel=channel,
            registered_s=registered_s,
            person=person,
            valid=valid,
            start=start,
            end=end,
            churned=churned,
            rate=rate,
            amount_mu=amount_mu,
            price_sensitivity=rng.beta(2.0, 4.0, n),
            refund_rate=rng.beta(1.2, 18.8, n),
            level=_member_levels(rng, rate, amount_mu),
            favourite=_favourites(rng, sex),
            is_fraud=_few(rng, valid & (end - start > 30), max(2, n // 20_000)),
            is_risky=_few(rng, valid, max(3, n // 2_000)),
            phone=_phones(rng, n)[person],
            device_start=device_start,
            devices=devices,
            shared_device=_shared_devices(rng, valid, int(devices.sum())),
        ),
        faults,
        dup_source,
    )


def _persons(rng: np.random.Generator, n: int) -> IntArray:
    """Row of each row's person: about 1 % of persons hold a second account."""
    person = np.arange(n)
    rows = rng.permutation(n)[: 2 * max(2, round(n * 0.01))]
    second, first = rows[: len(rows) // 2], rows[len(rows) // 2 :]
    person[second] = first
    return person


def _customer_faults(rng: np.random.Generator, person: IntArray) -> tuple[list[_Fault], IntArray]:
    """Choose the invalid rows of customers.csv among customers without a second account."""
    n = len(person)
    in_pair = np.zeros(n, dtype=np.bool_)
    in_pair[person[person != np.arange(n)]] = True
    in_pair[person != np.arange(n)] = True
    in_pair[0] = True  # a duplicate key needs an earlier row to repeat
    per_kind = max(1, round(n * 0.00003))
    rows = rng.permutation(np.flatnonzero(~in_pair))[: per_kind * len(_CUSTOMER_FAULTS)]
    faults = [
        _Fault("customers.csv", np.sort(rows[i * per_kind : (i + 1) * per_kind]) + 2, col, kind)
        for i, (kind, col) in enumerate(_CUSTOMER_FAULTS)
    ]
    dup_rows = faults[4].lines - 2
    taken = set(rows.tolist())
    sources = []
    for row in dup_rows.tolist():
        source = int(rng.integers(0, row))
        while source in taken:
            source = int(rng.integers(0, row))
        sources.append(source)
    return faults, np.array(sources, dtype=np.int64)


def _activity(rng: np.random.Generator, n: int) -> tuple[IntArray, IntArray, IntArray, BoolArray]:
    """Registration time, active window [start, end) in history days, and churn flags."""
    old = rng.random(n) < 0.25
    day = np.where(
        old,
        -rng.integers(1, 5 * 365, n),
        np.floor(_H * np.sqrt(rng.random(n))).astype(np.int64),  # growing sign-ups
    )
    day = np.minimum(day, _H - 1)
    registered_s = (_micros(rng, day) // _US).astype(np.int64)
    start = np.maximum(day, 0)
    room = _H - 60 - start - 30
    churned = (room > 60) & (rng.random(n) < 0.45)
    churn_day = start + 30 + np.floor(rng.random(n) * np.maximum(room, 0)).astype(np.int64)
    return registered_s, start, np.where(churned, churn_day, _H), churned


def _birth_days(rng: np.random.Generator, n: int) -> IntArray:
    age_days = np.clip(rng.normal(36, 11, n), 18, 80) * 365.25
    return (_START_DAY + _H - age_days).astype(np.int64)


def _member_levels(rng: np.random.Generator, rate: FloatArray, mu: FloatArray) -> IntArray:
    """Member level by spend propensity: rank of log(rate) + price level, plus noise."""
    score = np.log(rate + 1e-3) + 1.2 * mu + rng.normal(0, 0.4, len(rate))
    rank = np.argsort(np.argsort(score)) / len(rate)
    edges = np.cumsum([s for _, s in vocab.MEMBER_LEVELS])[:-1]
    return np.searchsorted(edges, rank, side="right").astype(np.int64)


def _category_weights(sex: int | None = None) -> FloatArray:
    """Zipf popularity of the categories, tilted towards one gender if `sex` is given."""
    ratio = np.array([c[1] for c in vocab.CATEGORIES])
    w: FloatArray = 1.0 / np.arange(1, len(ratio) + 1, dtype=np.float64) ** 1.1
    if sex is not None:
        w *= np.sqrt(ratio) if sex else 1 / np.sqrt(ratio)
    return w / float(w.sum())


def _favourites(rng: np.random.Generator, sex: IntArray) -> IntArray:
    male = _pick(rng, _category_weights(0), len(sex))
    female = _pick(rng, _category_weights(1), len(sex))
    return np.where(sex == 1, female, male)


def _few(rng: np.random.Generator, eligible: BoolArray, count: int) -> BoolArray:
    flags = np.zeros(len(eligible), dtype=np.bool_)
    flags[rng.permutation(np.flatnonzero(eligible))[:count]] = True
    return flags


def _phones(rng: np.random.Generator, n: int) -> IntArray:
    """Distinct mobile numbers, one per row."""
    prefixes = np.array(vocab.PHONE_PREFIXES, dtype=np.int64) * 10**8
    phone = prefixes[rng.integers(0, len(prefixes), n)] + rng.integers(0, 10**8, n)
    while True:
        repeated = np.ones(n, dtype=np.bool_)
        repeated[np.unique(phone, return_index=True)[1]] = False
        if not repeated.any():
            return phone
        redraw = int(repeated.sum())
        phone[repeated] = prefixes[rng.integers(0, len(prefixes), redraw)]
        phone[repeated] += rng.integers(0, 10**8, redraw)


def _shared_devices(rng: np.random.Generator, valid: BoolArray, own: int) -> IntArray:
    """A few devices, each used by dozens of accounts (a fraud signal); -1 elsewhere."""
    shared = np.full(len(valid), -1, dtype=np.int64)
    candidates = rng.permutation(np.flatnonzero(valid))
    count = max(2, len(valid) // 100_000)
    size = min(80, len(candidates) // (2 * count))
    for i in range(count):
        shared[candidates[i * size : (i + 1) * size]] = own + i
    return shared


def _device_ids(pop: _Population) -> pa.Array:
    total = int(pop.shared_device.max()) + 1  # shared devices follow the owned ones
    return _ids("D", _scramble(np.arange(total), 10**12, salt=31), 12)


# --- customers.csv ------------------------------------------------------------------------


def _write_customers(
    out: Path,
    rng: np.random.Generator,
    pop: _Population,
    *,
    faults: list[_Fault],
    dup_source: IntArray,
    ids: pa.Array,
) -> None:
    rows = {f.kind + f.column: f.lines - 2 for f in faults}
    key = pa.array(np.arange(len(ids)), mask=_mask(len(ids), rows["missing_required客户编号"]))
    dup_rows = rows["duplicate_key客户编号"]
    key = pc.replace_with_mask(key, pa.array(_mask(len(ids), dup_rows)), pa.array(dup_source))
    registered = _mixed_datetimes(rng, pop.registered_s)
    names, pinyin = _names(rng, pop)
    table = pa.table(
        {
            "客户编号": ids.take(key),
            "姓名": names,
            "性别": _genders(rng, pop.sex),
            "出生日期": _replace(
                _mixed_dates(rng, pop.birth_day, rng.random(len(ids)) < 0.08),
                rows["bad_date出生日期"],
                _BAD_BIRTH,
            ),
            "手机号": _replace(_phone_texts(rng, pop), rows["bad_phone手机号"], _BAD_PHONES),
            "邮箱": _emails(rng, pop, pinyin),
            **_places(rng, pop.city),
            "注册渠道": _take(_texts([c for c, _ in vocab.REGISTRATION_CHANNELS]), pop.channel),
            "会员卡号": _member_cards(rng, pop.channel),
            "会员等级": _take(_texts([lv for lv, _ in vocab.MEMBER_LEVELS]), pop.level),
            "注册时间": _replace(registered, rows["bad_date注册时间"], _BAD_REGISTERED),
        }
    )
    path = out / "customers.csv"
    _write_spoiled_csv(table, path, rows["malformed_line"], rows["bad_encoding"])


def _mask(n: int, rows: IntArray) -> BoolArray:
    mask = np.zeros(n, dtype=np.bool_)
    mask[rows] = True
    return mask


def _names(rng: np.random.Generator, pop: _Population) -> tuple[pa.Array, pa.Array]:
    """Names (surname by frequency, one or two gendered characters) and their pinyin.

    A tenth of second accounts carry a one-character typo; the pinyin keeps the original.
    """
    n = len(pop.sex)
    weights = np.array([w for *_, w in vocab.SURNAMES])
    surname = _pick(rng, weights, n)[pop.person]
    given = (*vocab.GIVEN_MALE, *vocab.GIVEN_FEMALE)
    size = len(vocab.GIVEN_MALE)
    first = (pop.sex * size + rng.integers(0, size, n))[pop.person]
    single = (rng.random(n) < 0.25)[pop.person]
    second = np.where(single, 2 * size, pop.sex * size + rng.integers(0, size, n))[pop.person]
    pinyin = _join(
        _take(_texts([p for _, p, _ in vocab.SURNAMES]), surname),
        pc.if_else(pa.array(rng.random(n) < 0.4), ".", ""),
        _take(_texts([p for _, p in given] + [""]), first),
        _take(_texts([p for _, p in given] + [""]), second),
    )
    typo = (pop.person != np.arange(n)) & (rng.random(n) < 0.1)
    shift = rng.integers(1, size, n)
    first = np.where(typo & single, pop.sex * size + (first + shift) % size, first)
    second = np.where(typo & ~single, pop.sex * size + (second + shift) % size, second)
    chars = _texts([c for c, _ in given] + [""])
    surnames = _texts([s for s, _, _ in vocab.SURNAMES])
    return _join(_take(surnames, surname), _take(chars, first), _take(chars, second)), pinyin


def _genders(rng: np.random.Generator, sex: IntArray) -> pa.Array:
    spellings = _texts([s for m, f, _ in vocab.GENDER_SPELLINGS for s in (m, f)])
    share = np.array([w for *_, w in vocab.GENDER_SPELLINGS])
    style = _pick(rng, np.append(share, 1 - share.sum()), len(sex))
    return _take(spellings, np.minimum(style, len(share) - 1) * 2 + sex, style == len(share))


def _phone_texts(rng: np.random.Generator, pop: _Population) -> pa.Array:
    """Mobile numbers in seven spellings; a person's two accounts spell theirs differently.

    Full-width digits are kept out of those pairs, so stripping non-digits (and a leading
    86) is enough to match them.
    """
    n = len(pop.phone)
    s = pc.cast(pa.array(pop.phone), _STR)
    a, b, c = (pc.utf8_slice_codeunits(s, i, j) for i, j in ((0, 3), (3, 7), (7, 11)))
    forms = (
        s,
        _join(a, " ", b, " ", c),
        _join(a, "-", b, "-", c),
        _join("+86 ", s),
        _join("+86-", a, "-", b, "-", c),
        _join("86", s),
    )
    fmt = _pick(rng, np.array([0.62, 0.1, 0.1, 0.07, 0.04, 0.06, 0.01]), n)
    is_dup = pop.person != np.arange(n)
    paired = _mask(n, pop.person[is_dup])
    fmt[paired] = np.minimum(fmt[paired], len(forms) - 1)
    fmt[is_dup] = (fmt[pop.person[is_dup]] + rng.integers(1, len(forms), is_dup.sum())) % 6
    text = pc.choose(pa.array(np.minimum(fmt, len(forms) - 1)), *forms)
    wide = np.flatnonzero(fmt == len(forms))
    return pc.replace_with_mask(text, pa.array(_mask(n, wide)), _full_width(s.take(wide)))


def _full_width(texts: pa.Array) -> pa.Array:
    for digit in "0123456789":
        texts = pc.replace_substring(texts, digit, chr(ord(digit) + 0xFEE0))
    return texts


def _emails(rng: np.random.Generator, pop: _Population, pinyin: pa.Array) -> pa.Array:
    """Unique addresses per person; case and stray spaces vary, and some are missing."""
    n = len(pop.person)
    domain = _pick(rng, _weights(vocab.EMAIL_DOMAINS), n)[pop.person]
    numeric = (domain == 0) & (rng.random(n) < 0.7)[pop.person]
    local = pc.if_else(
        pa.array(numeric),
        pc.cast(pa.array(10_000 + _scramble(pop.person, 10**9)), _STR),
        _join(
            pinyin.take(pa.array(pop.person)),
            pc.cast(pa.array(_scramble(pop.person, 10**7, salt=5_550_001)), _STR),
        ),
    )
    base = _join(local, "@", _take(_texts([d for d, _ in vocab.EMAIL_DOMAINS]), domain))
    title = pc.utf8_title(base)
    forms = (base, title, pc.utf8_upper(base), _join(" ", base, " "), _join(title, " "))
    style = _pick(rng, np.array([0.85, 0.06, 0.03, 0.04, 0.02]), n)
    is_dup = pop.person != np.arange(n)
    style[is_dup] = (style[pop.person[is_dup]] + rng.integers(1, 5, is_dup.sum())) % 5
    in_pair = _mask(n, pop.person[is_dup]) | is_dup  # both accounts keep the address
    empty = (rng.random(n) < 0.12) & ~in_pair
    return pc.choose(pa.array(style, mask=empty), *forms)


def _places(rng: np.random.Generator, city: IntArray) -> dict[str, pa.Array]:
    """Province and city; a few cities carry a stray full-width space."""
    provinces = _texts([c[1] for c in vocab.CITIES])
    cities = _texts([c[0] for c in vocab.CITIES])
    names = _take(cities, city)
    stray = rng.random(len(city)) < 0.003
    padded = pc.if_else(
        pa.array(rng.random(len(city)) < 0.5), _join(names, "\u3000"), _join("\u3000", names)
    )
    return {"省份": _take(provinces, city), "城市": pc.if_else(pa.array(stray), padded, names)}


def _member_cards(rng: np.random.Generator, channel: IntArray) -> pa.Array:
    """`M` + 10 digits for store sign-ups and a few online members; null otherwise."""
    n = len(channel)
    has_card = (channel == vocab.STORE_CHANNEL) | (rng.random(n) < 0.05)
    cards = _ids("M", _scramble(np.arange(n), 10**10, salt=1_234_567), 10)
    return pc.if_else(pa.array(has_card), cards, pa.scalar(None, _STR))


def _write_spoiled_csv(table: pa.Table, path: Path, truncate: IntArray, garble: IntArray) -> None:
    """Write CSV with some rows (0-based) cut short and others in invalid UTF-8.

    The file is written in slices around the spoiled rows, so no line has to be searched.
    """
    spoil = {int(r): _truncated for r in truncate} | {int(r): _garbled for r in garble}
    with path.open("wb") as f:
        f.write((",".join(table.column_names) + "\n").encode())
        done = 0
        for row in sorted(spoil):
            f.write(_csv_bytes(table.slice(done, row - done), quoting="none", header=False))
            line = _csv_bytes(table.slice(row, 1), quoting="none", header=False)
            f.write(spoil[row](line.rstrip(b"\n")) + b"\n")
            done = row + 1
        f.write(_csv_bytes(table.slice(done), quoting="none", header=False))


def _truncated(line: bytes) -> bytes:
    return b",".join(line.split(b",")[:5])


def _garbled(line: bytes) -> bytes:
    """The line with its name in GB18030, as a mis-configured export writes it."""
    fields = line.split(b",")
    # \xff is never valid UTF-8, whatever the GB18030 bytes of the name happen to be.
    fields[1] = fields[1].decode("utf-8").encode("gb18030") + b"\xff"
    return b",".join(fields)


# --- orders.parquet -----------------------------------------------------------------------


_ORDER_SCHEMA = pa.schema(
    [
        ("order_id", _STR),
        ("customer_id", _DICT),
        ("channel", _DICT),
        ("store_city", _DICT),
        ("category", _DICT),
        ("quantity", pa.int32()),
        ("amount", pa.float64()),
        ("discount", pa.float64()),
        ("status", _DICT),
        ("paid_at", pa.timestamp("us")),
        ("payment_method", _DICT),
        ("installments", pa.int16()),
        ("overdue_days", pa.int16()),
        ("device_id", _DICT),
    ]
)


def _write_orders(
    out: Path, rng: np.random.Generator, pop: _Population, ids: pa.Array, report: Progress
) -> tuple[list[_Fault], int]:
    exposure = _W[pop.end] - _W[pop.start]
    burst = np.where(pop.is_fraud, rng.integers(20, 61, len(pop.rate)), 0)
    counts = rng.poisson(pop.rate * exposure) + burst
    total = int(counts.sum())
    plan = _order_plan(rng, total)
    devices = _device_ids(pop)
    row0 = 0
    with _parquet(out / "orders.parquet", _ORDER_SCHEMA) as writer:
        for lo in range(0, len(counts), _CHUNK):
            rows = np.arange(lo, min(lo + _CHUNK, len(counts)))
            chunk = _orders(rng, pop, rows, counts[rows], burst[rows])
            chunk["_cust"] = chunk["_cust"] - lo
            chunk = _spoil_orders(chunk, row0, plan, ids.slice(lo, len(rows)))
            chunk["device_id"] = _device_dict(pop, devices, rows, chunk.pop("_dev"))
            writer.write_table(pa.table(chunk, schema=_ORDER_SCHEMA), row_group_size=_ROW_GROUP)
            row0 += len(chunk["amount"])
            report("orders", row0)
    return plan.faults, total


def _parquet(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """A Parquet writer whose files read back as plain strings, not dictionaries.

    Without the stored Arrow schema, dictionary columns read back as plain strings, while
    the file keeps them dictionary-encoded. Min/max statistics (for row-group pruning) are
    kept for ids and timestamps only: on small dictionaries they cost 40 % of write time.
    """
    strings = [f.name for f in schema if pa.types.is_dictionary(f.type)]
    return pq.ParquetWriter(
        path,
        schema,
        compression="zstd",
        compression_level=1,
        use_dictionary=strings,
        dictionary_pagesize_limit=4 << 20,
        store_schema=False,
        write_statistics=[f.name for f in schema if f.name not in strings] + ["customer_id"],
    )


def _device_dict(pop: _Population, devices: pa.Array, rows: IntArray, dev: IntArray) -> pa.Array:
    """Device ids of a chunk of customers, with a dictionary of only their devices.

    The customers of a chunk own a contiguous run of devices; the shared devices follow all
    owned ones. A small dictionary keeps Parquet on its fast dictionary-encoding path.
    """
    first = int(pop.device_start[rows[0]])
    last = int(pop.device_start[rows[-1]] + pop.devices[rows[-1]])
    owned = int(pop.devices.sum())
    local = np.where(dev >= owned, dev - owned + (last - first), dev - first)
    dictionary = pa.concat_arrays([devices.slice(first, last - first), devices.slice(owned)])
    return _dict(dictionary, local)


@dataclass(frozen=True, slots=True)
class _OrderPlan:
    """Order rows (0-based, over the whole file) chosen before the chunks are generated."""

    faults: list[_Fault]
    """Duplicate order ids, unknown customers and negative amounts, in that order."""
    dup_source: IntArray
    """For each duplicate-id row, the earlier row whose id it repeats."""
    luxury: IntArray
    """Rows that become one-off purchases of 50,000 yuan or more."""
    luxury_amount: FloatArray


def _order_plan(rng: np.random.Generator, total: int) -> _OrderPlan:
    per_kind = max(2, total // 1_000_000)
    luxury = max(1, total // 50_000)
    rows = rng.choice(total - 1, 3 * per_kind + luxury, replace=False) + 1
    dup, unknown, negative = (np.sort(rows[i : 3 * per_kind : 3]) for i in range(3))
    taken = set(rows.tolist())
    sources = []
    for row in dup.tolist():
        source = int(rng.integers(0, row))
        while source in taken:
            source = int(rng.integers(0, row))
        sources.append(source)
    faults = [
        _Fault("orders.parquet", dup + 1, "order_id", "duplicate_key"),
        _Fault("orders.parquet", unknown + 1, "customer_id", "unknown_customer"),
        _Fault("orders.parquet", negative + 1, "amount", "out_of_range"),
    ]
    return _OrderPlan(
        faults=faults,
        dup_source=np.array(sources, dtype=np.int64),
        luxury=np.sort(rows[3 * per_kind :]),
        luxury_amount=np.round(rng.uniform(50_000, 300_000, luxury), 2),
    )


def _orders(
    rng: np.random.Generator,
    pop: _Population,
    rows: IntArray,
    counts: IntArray,
    burst: IntArray,
) -> dict[str, pa.Array]:
    """Orders of some customers, as arrays keyed by column (customer index under `_cust`)."""
    cust = np.repeat(rows, counts)
    paid = _micros(rng, _days(rng, pop.start[cust], pop.end[cust]))
    dev = pop.device_start[cust] + _below(rng, pop.devices[cust], len(cust))
    shared = (pop.shared_device[cust] >= 0) & _chance(rng, 0.7, len(cust))
    dev = np.where(shared, pop.shared_device[cust], dev)
    _burst(rng, pop, rows=rows, ends=np.cumsum(counts), burst=burst, paid=paid, dev=dev)
    return {
        "_cust": cust,
        **_order_goods(rng, pop, cust),
        "paid_at": _timestamps(paid),
        **_order_payment(rng, pop, cust),
        "_dev": dev,
    }


def _burst(
    rng: np.random.Generator,
    pop: _Population,
    *,
    rows: IntArray,
    ends: IntArray,
    burst: IntArray,
    paid: IntArray,
    dev: IntArray,
) -> None:
    """Move each fraud customer's last orders into a few minutes on one device, in place."""
    for i in np.flatnonzero(burst).tolist():
        c, lo, hi = rows[i], ends[i] - burst[i], ends[i]
        t0 = _micros(rng, _days(rng, pop.start[c : c + 1], pop.end[c : c + 1]))[0]
        paid[lo:hi] = t0 + np.sort(rng.integers(0, 300 * _US, hi - lo))
        dev[lo:hi] = pop.device_start[c]


def _order_goods(rng: np.random.Generator, pop: _Population, cust: IntArray) -> dict[str, pa.Array]:
    m = len(cust)
    mix = np.cumsum(np.array(vocab.ORDER_CHANNEL_MIX), axis=1)
    home, u = pop.channel[cust], rng.random(m)
    channel = (u > mix[:, 0][home]).astype(np.int64) + (u > mix[:, 1][home])
    away = _chance(rng, 0.1, m)
    city = np.where(away, _pick(rng, np.array([c[3] for c in vocab.CITIES]), m), pop.city[cust])
    loyal = _chance(rng, 0.45, m)
    category = np.where(loyal, pop.favourite[cust], _pick(rng, _category_weights(), m))
    quantity = 1 + rng.poisson(0.35, m)
    shift = np.array([c[2] for c in vocab.CATEGORIES])[category]
    unit = np.exp(rng.normal(pop.amount_mu[cust] + shift, 0.6))
    amount = np.maximum(np.round(unit * quantity, 2), 1.0)
    takes = _chance(rng, 0.1 + 0.7 * pop.price_sensitivity[cust], m)
    fraction = rng.uniform(0.02, 0.1 + 0.3 * pop.price_sensitivity[cust])
    return {
        "channel": _dict(_texts(vocab.ORDER_CHANNELS), channel),
        "store_city": _dict(_texts([c[0] for c in vocab.CITIES]), city, channel != 1),
        "category": _dict(_texts([c[0] for c in vocab.CATEGORIES]), category),
        "quantity": pa.array(quantity.astype(np.int32)),
        "amount": amount,
        "discount": pa.array(np.where(takes, np.round(amount * fraction, 2), 0.0)),
    }


def _order_payment(
    rng: np.random.Generator, pop: _Population, cust: IntArray
) -> dict[str, pa.Array]:
    m = len(cust)
    u = rng.random(m)
    refund = pop.refund_rate[cust]
    status = np.where(u < refund, 1, np.where(u < refund + 0.04, 2, 0))
    method = _pick(rng, _weights(vocab.PAYMENT_METHODS), m)
    instalment = len(vocab.PAYMENT_METHODS) - 1
    risky = pop.is_risky[cust]
    method = np.where(risky & _chance(rng, 0.5, m), instalment, method)
    on_credit = method == instalment
    terms = np.where(on_credit, np.array([3, 6, 12])[_below(rng, 3, m)], 1)
    late = np.where(_chance(rng, 0.03, m), 1 + _below(rng, 14, m), 0)
    severe = np.array([30, 45, 60, 90, 120, 180])[_below(rng, 6, m)]
    overdue = np.where(risky & _chance(rng, 0.6, m), severe, late)
    return {
        "status": _dict(_texts(["paid", "refunded", "cancelled"]), status),
        "payment_method": _dict(_texts([p for p, _ in vocab.PAYMENT_METHODS]), method),
        "installments": pa.array(terms.astype(np.int16)),
        "overdue_days": pa.array(overdue.astype(np.int16), mask=~on_credit),
    }


def _spoil_orders(
    chunk: dict[str, pa.Array], row0: int, plan: _OrderPlan, ids: pa.Array
) -> dict[str, pa.Array]:
    """Order ids, customer ids and amounts of a chunk, with the planned special rows."""
    index = chunk.pop("_cust")
    rows = np.arange(row0, row0 + len(index))
    dup, unknown, negative = (_local(f.lines - 1, row0, len(index)) for f in plan.faults)
    key = rows.copy()
    key[dup] = plan.dup_source[np.searchsorted(plan.faults[0].lines - 1, rows[dup])]
    index[unknown] = len(ids) + np.arange(len(unknown))
    strangers = _ids("C", 99_000_000 + rows[unknown], 8)
    amount = chunk.pop("amount")
    luxury = _local(plan.luxury, row0, len(index))
    amount[luxury] = plan.luxury_amount[np.searchsorted(plan.luxury, rows[luxury])]
    amount[negative] = -amount[negative]
    return {
        "order_id": _ids("O", _scramble(key, 10**11), 11),
        "customer_id": _dict(pa.concat_arrays([ids, strangers]), index),
        **chunk,
        "amount": pa.array(amount),
    }


def _local(lines: IntArray, row0: int, size: int) -> IntArray:
    inside = lines[(lines >= row0) & (lines < row0 + size)]
    return (inside - row0).astype(np.int64)


# --- events.parquet -----------------------------------------------------------------------


_EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.int64()),
        ("customer_id", _DICT),
        ("event_type", _DICT),
        ("occurred_at", pa.timestamp("us")),
        ("platform", _DICT),
        ("page", _DICT),
        ("keyword", _DICT),
        ("campaign_id", _DICT),
        ("device_id", _DICT),
    ]
)


def _write_events(
    out: Path, rng: np.random.Generator, pop: _Population, ids: pa.Array, report: Progress
) -> int:
    """Events: full rate while active, a tenth of it after churn."""
    intensity = pop.rate**0.6 * rng.gamma(4.0, 0.25, len(pop.rate)) * pop.valid
    active = _W[pop.end] - _W[pop.start]
    after = 0.1 * (_W[_H] - _W[pop.end])
    scale = (
        _EVENTS_PER_CUSTOMER
        * len(pop.rate)
        / max(float((intensity * (active + after)).sum()), 1e-9)
    )
    counts_active = rng.poisson(intensity * active * scale)
    counts_after = rng.poisson(intensity * after * scale)
    devices = _device_ids(pop)
    row0 = 0
    with _parquet(out / "events.parquet", _EVENT_SCHEMA) as writer:
        for lo in range(0, len(pop.rate), _CHUNK):
            rows = np.arange(lo, min(lo + _CHUNK, len(pop.rate)))
            cust = np.concatenate(
                [np.repeat(rows, counts_active[rows]), np.repeat(rows, counts_after[rows])]
            )
            is_after = np.arange(len(cust)) >= counts_active[rows].sum()
            table = _events(rng, pop, cust, is_after, row0)
            table["customer_id"] = _dict(ids.slice(lo, len(rows)), cust - lo)
            table["device_id"] = _device_dict(pop, devices, rows, table.pop("_dev"))
            writer.write_table(pa.table(table, schema=_EVENT_SCHEMA), row_group_size=_ROW_GROUP)
            row0 += len(cust)
            report("events", row0)
    return row0


def _events(
    rng: np.random.Generator, pop: _Population, cust: IntArray, is_after: BoolArray, row0: int
) -> dict[str, pa.Array]:
    m = len(cust)
    day = _days(
        rng,
        np.where(is_after, pop.end[cust], pop.start[cust]),
        np.where(is_after, _H, pop.end[cust]),
    )
    kind = _pick(rng, _weights(vocab.EVENT_TYPES), m)
    home = np.where(pop.channel[cust] == 3, 2, np.where(pop.channel[cust] == 0, 1, 0))
    platform = np.where(_chance(rng, 0.7, m), home, _below(rng, 3, m))
    loyal = _chance(rng, 0.5, m)
    category = np.where(loyal, pop.favourite[cust], _pick(rng, _category_weights(), m))
    per_category = len(vocab.SEARCH_TERMS[0])
    term = category * per_category + _below(rng, per_category, m)
    dev = pop.device_start[cust] + _below(rng, pop.devices[cust], m)
    return {
        "event_id": pa.array(np.arange(row0 + 1, row0 + m + 1, dtype=np.int64)),
        "event_type": _dict(_texts([e for e, _ in vocab.EVENT_TYPES]), kind),
        "occurred_at": _timestamps(_micros(rng, day)),
        "platform": _dict(_texts(vocab.EVENT_PLATFORMS), platform),
        "page": _dict(_texts([c[0] for c in vocab.CATEGORIES]), category, (kind == 2) | (kind > 3)),
        "keyword": _dict(_texts([t for ts in vocab.SEARCH_TERMS for t in ts]), term, kind != 2),
        "campaign_id": _dict(_campaigns(), _MONTH_OF_DAY[day], kind < 4),
        "_dev": np.where(pop.shared_device[cust] >= 0, pop.shared_device[cust], dev),
    }


def _campaigns() -> pa.Array:
    months = np.arange(
        np.datetime64(_HISTORY_START.isoformat(), "M"),
        np.datetime64(DEMO_AS_OF.isoformat(), "M") + 1,
    )
    return _texts([f"CMP{m}" for m in months.astype(str)])


# --- social_profiles.csv, social_interactions.csv -----------------------------------------


def _write_social(
    out: Path, rng: np.random.Generator, pop: _Population, ids: pa.Array
) -> dict[str, int]:
    """Profiles for about 30 % of customers (one or two platforms each) and their actions."""
    who = np.flatnonzero(pop.valid & (rng.random(len(pop.valid)) < 0.3))
    per = 1 + (rng.random(len(who)) < 0.3)
    cust = np.repeat(who, per)
    nth = np.arange(len(cust)) - np.repeat(np.cumsum(per) - per, per)
    first = np.repeat(_pick(rng, np.array([p[2] for p in vocab.SOCIAL_PLATFORMS]), len(who)), per)
    platform = (first + nth * np.repeat(rng.integers(1, 4, len(who)), per)) % 4
    names = _texts([p[0] for p in vocab.SOCIAL_PLATFORMS])
    account = _join(
        _take(_texts([p[1] for p in vocab.SOCIAL_PLATFORMS]), platform),
        _digits(_scramble(np.arange(len(cust)), 10**10, salt=777_001), 10),
    )
    profiles = pa.table(
        {
            "customer_id": ids.take(pa.array(cust)),
            "platform": _take(names, platform),
            "account_id": account,
            **_audience(rng, platform),
        }
    )
    _csv(profiles, out / "social_profiles.csv")
    interactions = _interactions(rng, pop, cust, platform)
    interactions["customer_id"] = ids.take(pa.array(interactions["customer_id"]))
    interactions["platform"] = _take(names, interactions["platform"])
    table = pa.table(interactions).select(
        ["interaction_id", "customer_id", "platform", "action", "occurred_at"]
    )
    _csv(table, out / "social_interactions.csv")
    return {"social_profiles": len(cust), "social_interactions": table.num_rows}


def _audience(rng: np.random.Generator, platform: IntArray) -> dict[str, pa.Array]:
    """Pareto-tailed follower counts with a few KOLs; following and post counts."""
    m = len(platform)
    scale = np.array([p[3] for p in vocab.SOCIAL_PLATFORMS])[platform]
    followers = np.minimum(np.floor(scale * (1 + rng.pareto(1.15, m))), 3_000_000)
    kols = rng.permutation(m)[: max(1, m // 1_500)]
    followers[kols] = rng.integers(100_000, 1_000_001, len(kols))
    following = np.minimum(np.round(rng.lognormal(5.0, 0.9, m)), 5_000)
    return {
        "followers": pa.array(followers.astype(np.int64)),
        "following": pa.array(following.astype(np.int64)),
        "posts": pa.array(rng.negative_binomial(0.8, 0.8 / 120.8, m).astype(np.int64)),
    }


def _interactions(
    rng: np.random.Generator, pop: _Population, cust: IntArray, platform: IntArray
) -> dict[str, pa.Array]:
    per = rng.poisson(2.5, len(cust))
    who, where = np.repeat(cust, per), np.repeat(platform, per)
    day = _days(rng, pop.start[who], np.full(len(who), _H))
    action = _pick(rng, _weights(vocab.SOCIAL_ACTIONS), len(who))
    return {
        "interaction_id": _ids("I", np.arange(1, len(who) + 1), 10),
        "customer_id": who,
        "platform": where,
        "action": _take(_texts([a for a, _ in vocab.SOCIAL_ACTIONS]), action),
        "occurred_at": _iso_seconds(_micros(rng, day)),
    }


def _csv(table: pa.Table, path: Path) -> None:
    path.write_bytes(_csv_bytes(table, quoting="none"))


def _csv_bytes(table: pa.Table, *, quoting: str, header: bool = True) -> bytes:
    """CSV text as exports look: an unquoted header, values quoted only if `quoting` says."""
    sink = pa.BufferOutputStream()
    options = pacsv.WriteOptions(include_header=False, quoting_style=quoting)
    pacsv.write_csv(table, sink, options)
    head = (",".join(table.column_names) + "\n").encode() if header else b""
    body: bytes = sink.getvalue().to_pybytes()
    return head + body


def _write_lines(lines: pa.Array, path: Path) -> None:
    """Write one string per line, joined by pyarrow without Python strings per row."""
    offsets = pa.array([0, len(lines)], type=pa.int64())
    rows = pa.LargeListArray.from_arrays(offsets, lines.cast(pa.large_string()))
    joined = pc.binary_join(rows, pa.scalar("\n", pa.large_string()))
    with path.open("wb") as f:
        f.write(joined[0].as_buffer())
        f.write(b"\n")


# --- surveys.jsonl ------------------------------------------------------------------------


def _write_surveys(
    out: Path, rng: np.random.Generator, pop: _Population, ids: pa.Array
) -> tuple[list[_Fault], int]:
    """Answers of about 15 % of customers; NPS follows satisfaction, which refunds lower."""
    who = np.flatnonzero(pop.valid & (rng.random(len(pop.valid)) < 0.15))
    m = len(who)
    day = _days(rng, pop.start[who], np.full(m, _H))
    noise = rng.normal(0, 0.9, m)
    satisfaction = np.clip(np.round(4.1 - 15 * (pop.refund_rate[who] - 0.06) + noise), 1, 5)
    nps = np.clip(np.round(2.2 * satisfaction - 1 + rng.normal(0, 1.3, m)), 0, 10)
    spoiled = rng.permutation(m)[: 2 * max(1, m // 50_000)]
    bad_json, bad_number = np.sort(spoiled[::2]), np.sort(spoiled[1::2])
    nps_text = _replace(pc.cast(pa.array(nps.astype(np.int64)), _STR), bad_number, ('"很高"',))
    lines = _join(
        '{"response_id": "',
        _ids("S", np.arange(1, m + 1), 8),
        '", "customer_id": "',
        ids.take(pa.array(who)),
        '", "submitted_at": "',
        _iso_seconds(_micros(rng, day)),
        '", "nps": ',
        nps_text,
        ', "satisfaction": ',
        pc.cast(pa.array(satisfaction.astype(np.int64)), _STR),
        ', "interests": "',
        _interests(rng, m),
        '", "lifestyle": "',
        _take(_texts(vocab.LIFESTYLES), _lifestyles(rng, pop, who)),
        '"}',
    )
    cut = pc.utf8_slice_codeunits(lines.take(pa.array(bad_json)), 0, 48)
    _write_lines(
        pc.replace_with_mask(lines, pa.array(_mask(m, bad_json)), cut), out / "surveys.jsonl"
    )
    faults = [
        _Fault("surveys.jsonl", bad_json + 1, "", "bad_json"),
        _Fault("surveys.jsonl", bad_number + 1, "nps", "bad_number"),
    ]
    return faults, m


def _interests(rng: np.random.Generator, m: int) -> pa.Array:
    """One to four distinct interests per respondent, joined by semicolons."""
    count = rng.integers(1, 5, m)
    order = np.argsort(rng.random((m, len(vocab.INTERESTS))), axis=1)[:, :4]
    chosen = order[np.arange(4)[None, :] < count[:, None]]
    offsets = pa.array(np.concatenate([[0], np.cumsum(count)]).astype(np.int32))
    lists = pa.ListArray.from_arrays(offsets, _take(_texts(vocab.INTERESTS), chosen))
    return pc.binary_join(lists, ";")


def _ages(pop: _Population, rows: IntArray) -> FloatArray:
    return (_START_DAY + _H - pop.birth_day[rows]) / 365.25


def _lifestyles(rng: np.random.Generator, pop: _Population, rows: IntArray) -> IntArray:
    age = _ages(pop, rows)
    style = rng.integers(0, len(vocab.LIFESTYLES), len(rows))
    young = (age < 24) & (rng.random(len(rows)) < 0.6)
    old = (age > 55) & (rng.random(len(rows)) < 0.6)
    style = np.where(young, vocab.LIFESTYLES.index("Z世代学生"), style)
    return np.where(old, vocab.LIFESTYLES.index("银发一族"), style)


# --- tickets.csv (GB18030) ----------------------------------------------------------------


def _write_tickets(out: Path, rng: np.random.Generator, pop: _Population, ids: pa.Array) -> int:
    """Service tickets; customers who refund more complain more."""
    n = len(pop.valid)
    weight = pop.valid * (0.3 + 8 * pop.refund_rate) * np.sqrt(pop.rate)
    cust = np.repeat(np.arange(n), rng.poisson(weight * _TICKETS_PER_CUSTOMER * n / weight.sum()))
    m = len(cust)
    complaint = rng.random(m) < np.clip(0.05 + 2.5 * pop.refund_rate[cust], 0, 0.6)
    kind = np.where(complaint, 0, 1 + _pick(rng, np.array([0.5, 0.3, 0.2]), m))
    severity = np.where(
        complaint,
        _pick(rng, np.array([0.2, 0.5, 0.3]), m),
        _pick(rng, np.array([0.6, 0.35, 0.05]), m),
    )
    resolved = rng.random(m) < np.where(complaint, 0.75, 0.9)
    score = np.round(4.3 - 1.2 * complaint - 1.5 * ~resolved + rng.normal(0, 0.8, m))
    day = _days(rng, pop.start[cust], np.full(m, _H))
    table = pa.table(
        {
            "ticket_id": _ids("T", np.arange(1, m + 1), 9),
            "customer_id": ids.take(pa.array(cust)),
            "created_at": _mixed_datetimes(rng, _micros(rng, day) // _US),
            "type": _take(_texts(vocab.TICKET_TYPES), kind),
            "channel": _take(
                _texts([c for c, _ in vocab.TICKET_CHANNELS]),
                _pick(rng, _weights(vocab.TICKET_CHANNELS), m),
            ),
            "severity": _take(_texts(vocab.SEVERITIES), severity),
            "resolved": pc.if_else(pa.array(resolved), "是", "否"),
            "satisfaction": pa.array(
                np.clip(score, 1, 5).astype(np.int64), mask=rng.random(m) < 0.3
            ),
            "content": _ticket_texts(rng, kind, pop.favourite[cust]),
        }
    )
    text = _csv_bytes(table, quoting="needed").decode("utf-8")
    (out / "tickets.csv").write_bytes(text.encode("gb18030"))
    return m


def _ticket_texts(rng: np.random.Generator, kind: IntArray, category: IntArray) -> pa.Array:
    sizes = np.array([len(t) for t in vocab.TICKET_TEMPLATES])
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    template = first[kind] + np.floor(rng.random(len(kind)) * sizes[kind]).astype(np.int64)
    flat = [pair for group in vocab.TICKET_TEMPLATES for pair in group]
    return _join(
        _take(_texts([b for b, _ in flat]), template),
        _take(_texts([c[0] for c in vocab.CATEGORIES]), category),
        _take(_texts([a for _, a in flat]), template),
    )


# --- third_party.jsonl --------------------------------------------------------------------


def _write_third_party(out: Path, rng: np.random.Generator, pop: _Population, ids: pa.Array) -> int:
    """Bought enrichment for about 60 % of customers, keyed by customer id and phone."""
    who = np.flatnonzero(pop.valid & (rng.random(len(pop.valid)) < 0.6))
    m = len(who)
    score = 0.5 * np.log(pop.rate[who] + 1e-3) + pop.amount_mu[who] + rng.normal(0, 0.5, m)
    rank = np.argsort(np.argsort(score)) / max(m, 1)
    band = np.searchsorted(np.cumsum(_weights(vocab.INCOME_BANDS))[:-1], rank, side="right")
    age = _ages(pop, who)
    job = np.where(age < 23, 0, np.where(age > 60, 1, rng.integers(2, len(vocab.OCCUPATIONS), m)))
    car = rng.random(m) < 0.2 + 0.12 * band
    house = rng.random(m) < 0.25 + 0.12 * band + 0.1 * (age > 35)
    credit = rng.normal(620 + 35 * band, 60) - 160 * pop.is_risky[who]
    lines = _join(
        '{"customer_id": "',
        ids.take(pa.array(who)),
        '", "phone": "',
        pc.cast(pa.array(pop.phone[who]), _STR),
        '", "income_band": "',
        _take(_texts([b for b, _ in vocab.INCOME_BANDS]), band),
        '", "occupation": "',
        _take(_texts(vocab.OCCUPATIONS), job),
        '", "has_car": "',
        pc.if_else(pa.array(car), "是", "否"),
        '", "has_house": "',
        pc.if_else(pa.array(house), "是", "否"),
        '", "credit_score": ',
        pc.cast(pa.array(np.clip(np.round(credit), 350, 950).astype(np.int64)), _STR),
        "}",
    )
    _write_lines(lines, out / "third_party.jsonl")
    return m


# --- consent.csv --------------------------------------------------------------------------


def _write_consent(out: Path, rng: np.random.Generator, pop: _Population, ids: pa.Array) -> int:
    """One row per customer and channel for most pairs; granted in mixed spellings."""
    channels = len(vocab.CONSENT_CHANNELS)
    cust = np.repeat(np.flatnonzero(pop.valid), channels)
    channel = np.tile(np.arange(channels), len(cust) // channels)
    keep = rng.random(len(cust)) < 0.9
    cust, channel = cust[keep], channel[keep]
    m = len(cust)
    granted = rng.random(m) < np.array([p for _, p in vocab.CONSENT_CHANNELS])[channel]
    spelling = _pick(rng, np.array([w for *_, w in vocab.GRANTED_SPELLINGS]), m)
    words = _texts([w for yes, no, _ in vocab.GRANTED_SPELLINGS for w in (yes, no)])
    now = (_START_DAY + _H) * _DAY_S
    since = pop.registered_s[cust]
    updated = since + np.floor(rng.random(m) * (now - since)).astype(np.int64)
    _csv(
        pa.table(
            {
                "customer_id": ids.take(pa.array(cust)),
                "channel": _take(_texts([c for c, _ in vocab.CONSENT_CHANNELS]), channel),
                "granted": _take(words, spelling * 2 + ~granted),
                "updated_at": _iso_seconds(updated * _US),
            }
        ),
        out / "consent.csv",
    )
    return m


# --- _truth/ ------------------------------------------------------------------------------


def _write_truth(out: Path, pop: _Population, ids: pa.Array, faults: list[_Fault]) -> None:
    """Persons, latent traits (valid customers only) and the list of invalid rows."""
    rows = np.flatnonzero(pop.valid)
    customer_id = ids.take(pa.array(rows))
    person_id = _ids("P", pop.person[rows] + 1, 8)
    _csv(
        pa.table({"customer_id": customer_id, "person_id": person_id}),
        out / "_truth" / "persons.csv",
    )
    churn = pa.array(
        (_START_DAY + pop.end[rows]).astype("datetime64[D]"),
        type=pa.date32(),
        mask=~pop.churned[rows],
    )
    pq.write_table(
        pa.table(
            {
                "customer_id": customer_id,
                "person_id": person_id,
                "purchase_rate": pa.array(pop.rate[rows]),
                "churned": pa.array(pop.churned[rows]),
                "churn_date": churn,
                "price_sensitivity": pa.array(pop.price_sensitivity[rows]),
                "refund_rate": pa.array(pop.refund_rate[rows]),
                "is_fraud": pa.array(pop.is_fraud[rows]),
                "is_risky": pa.array(pop.is_risky[rows]),
                "favourite_category": _take(
                    _texts([c[0] for c in vocab.CATEGORIES]), pop.favourite[rows]
                ),
            }
        ),
        out / "_truth" / "customers.parquet",
        compression="zstd",
    )
    _csv(
        pa.table(
            {
                "file": pa.array([f.file for f in faults for _ in f.lines], type=_STR),
                "line": pa.array(np.concatenate([f.lines for f in faults]).astype(np.int64)),
                "column": pa.array([f.column for f in faults for _ in f.lines], type=_STR),
                "kind": pa.array([f.kind for f in faults for _ in f.lines], type=_STR),
            }
        ).sort_by([("file", "ascending"), ("line", "ascending")]),
        out / "_truth" / "invalid.csv",
    )
