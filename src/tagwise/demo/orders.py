"""orders.parquet: purchases with seasonality, fraud bursts, instalment risk and planted faults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from tagwise.demo import vocab
from tagwise.demo.arrays import (
    DICT,
    STR,
    FloatArray,
    IntArray,
    below,
    chance,
    encoded,
    identifiers,
    pick,
    scramble,
    texts,
    weights,
)
from tagwise.demo.faults import Fault, earlier_rows
from tagwise.demo.formats import CHUNK, ROW_GROUP, Progress, parquet_writer
from tagwise.demo.population import Population, category_weights, device_dict, device_ids
from tagwise.demo.timeline import INTENSITY, US, days_between, moments, timestamps

_ORDER_SCHEMA = pa.schema(
    [
        ("order_id", STR),
        ("customer_id", DICT),
        ("channel", DICT),
        ("store_city", DICT),
        ("category", DICT),
        ("quantity", pa.int32()),
        ("amount", pa.float64()),
        ("discount", pa.float64()),
        ("status", DICT),
        ("paid_at", pa.timestamp("us")),
        ("payment_method", DICT),
        ("installments", pa.int16()),
        ("overdue_days", pa.int16()),
        ("device_id", DICT),
    ]
)


def write_orders(
    out: Path, rng: np.random.Generator, pop: Population, ids: pa.Array, report: Progress
) -> tuple[list[Fault], int]:
    """Write orders.parquet chunk by chunk; returns its planted faults and row count."""
    exposure = INTENSITY[pop.end] - INTENSITY[pop.start]
    burst = np.where(pop.is_fraud, rng.integers(20, 61, len(pop.rate)), 0)
    counts = rng.poisson(pop.rate * exposure) + burst
    total = int(counts.sum())
    plan = _order_plan(rng, total)
    devices = device_ids(pop)
    row0 = 0
    with parquet_writer(out / "orders.parquet", _ORDER_SCHEMA) as writer:
        for lo in range(0, len(counts), CHUNK):
            rows = np.arange(lo, min(lo + CHUNK, len(counts)))
            chunk = _orders(rng, pop, rows, counts[rows], burst[rows])
            chunk["_cust"] = chunk["_cust"] - lo
            chunk = _spoil_orders(chunk, row0, plan, ids.slice(lo, len(rows)))
            chunk["device_id"] = device_dict(pop, devices, rows, chunk.pop("_dev"))
            writer.write_table(pa.table(chunk, schema=_ORDER_SCHEMA), row_group_size=ROW_GROUP)
            row0 += len(chunk["amount"])
            report("orders", row0)
    return plan.faults, total


@dataclass(frozen=True, slots=True)
class _OrderPlan:
    """Order rows (0-based, over the whole file) chosen before the chunks are generated."""

    faults: list[Fault]
    """Duplicate order ids, unknown customers and negative amounts, in that order."""
    dup_source: IntArray
    """For each duplicate-id row, the earlier row whose id it repeats."""
    luxury: IntArray
    """Rows that become one-off purchases of 50,000 yuan or more."""
    luxury_amount: FloatArray


def _order_plan(rng: np.random.Generator, total: int) -> _OrderPlan:
    """Choose the duplicate-id, unknown-customer, negative-amount and luxury order rows."""
    per_kind = max(2, total // 1_000_000)
    luxury = max(1, total // 50_000)
    rows = rng.choice(total - 1, 3 * per_kind + luxury, replace=False) + 1
    dup, unknown, negative = (np.sort(rows[i : 3 * per_kind : 3]) for i in range(3))
    sources = earlier_rows(rng, dup, taken=set(rows.tolist()))
    faults = [
        Fault("orders.parquet", dup + 1, "order_id", "duplicate_key"),
        Fault("orders.parquet", unknown + 1, "customer_id", "unknown_customer"),
        Fault("orders.parquet", negative + 1, "amount", "out_of_range"),
    ]
    return _OrderPlan(
        faults=faults,
        dup_source=sources,
        luxury=np.sort(rows[3 * per_kind :]),
        luxury_amount=np.round(rng.uniform(50_000, 300_000, luxury), 2),
    )


def _orders(
    rng: np.random.Generator,
    pop: Population,
    rows: IntArray,
    counts: IntArray,
    burst: IntArray,
) -> dict[str, pa.Array]:
    """Orders of some customers, as arrays keyed by column (customer index under `_cust`)."""
    cust = np.repeat(rows, counts)
    paid = moments(rng, days_between(rng, pop.start[cust], pop.end[cust]))
    dev = pop.device_start[cust] + below(rng, pop.devices[cust], len(cust))
    shared = (pop.shared_device[cust] >= 0) & chance(rng, 0.7, len(cust))
    dev = np.where(shared, pop.shared_device[cust], dev)
    _burst(rng, pop, rows=rows, ends=np.cumsum(counts), burst=burst, paid=paid, dev=dev)
    return {
        "_cust": cust,
        **_order_goods(rng, pop, cust),
        "paid_at": timestamps(paid),
        **_order_payment(rng, pop, cust),
        "_dev": dev,
    }


def _burst(
    rng: np.random.Generator,
    pop: Population,
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
        t0 = moments(rng, days_between(rng, pop.start[c : c + 1], pop.end[c : c + 1]))[0]
        paid[lo:hi] = t0 + np.sort(rng.integers(0, 300 * US, hi - lo))
        dev[lo:hi] = pop.device_start[c]


def _order_goods(rng: np.random.Generator, pop: Population, cust: IntArray) -> dict[str, pa.Array]:
    m = len(cust)
    mix = np.cumsum(np.array(vocab.ORDER_CHANNEL_MIX), axis=1)
    home, u = pop.channel[cust], rng.random(m)
    channel = (u > mix[:, 0][home]).astype(np.int64) + (u > mix[:, 1][home])
    away = chance(rng, 0.1, m)
    city = np.where(away, pick(rng, np.array([c[3] for c in vocab.CITIES]), m), pop.city[cust])
    loyal = chance(rng, 0.45, m)
    category = np.where(loyal, pop.favourite[cust], pick(rng, category_weights(), m))
    quantity = 1 + rng.poisson(0.35, m)
    shift = np.array([c[2] for c in vocab.CATEGORIES])[category]
    unit = np.exp(rng.normal(pop.amount_mu[cust] + shift, 0.6))
    amount = np.maximum(np.round(unit * quantity, 2), 1.0)
    takes = chance(rng, 0.1 + 0.7 * pop.price_sensitivity[cust], m)
    fraction = rng.uniform(0.02, 0.1 + 0.3 * pop.price_sensitivity[cust])
    return {
        "channel": encoded(texts(vocab.ORDER_CHANNELS), channel),
        "store_city": encoded(texts([c[0] for c in vocab.CITIES]), city, channel != 1),
        "category": encoded(texts([c[0] for c in vocab.CATEGORIES]), category),
        "quantity": pa.array(quantity.astype(np.int32)),
        "amount": amount,
        "discount": pa.array(np.where(takes, np.round(amount * fraction, 2), 0.0)),
    }


def _order_payment(
    rng: np.random.Generator, pop: Population, cust: IntArray
) -> dict[str, pa.Array]:
    m = len(cust)
    u = rng.random(m)
    refund = pop.refund_rate[cust]
    status = np.where(u < refund, 1, np.where(u < refund + 0.04, 2, 0))
    method = pick(rng, weights(vocab.PAYMENT_METHODS), m)
    instalment = len(vocab.PAYMENT_METHODS) - 1
    risky = pop.is_risky[cust]
    method = np.where(risky & chance(rng, 0.5, m), instalment, method)
    on_credit = method == instalment
    terms = np.where(on_credit, np.array([3, 6, 12])[below(rng, 3, m)], 1)
    late = np.where(chance(rng, 0.03, m), 1 + below(rng, 14, m), 0)
    severe = np.array([30, 45, 60, 90, 120, 180])[below(rng, 6, m)]
    overdue = np.where(risky & chance(rng, 0.6, m), severe, late)
    return {
        "status": encoded(texts(["paid", "refunded", "cancelled"]), status),
        "payment_method": encoded(texts([p for p, _ in vocab.PAYMENT_METHODS]), method),
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
    strangers = identifiers("C", 99_000_000 + rows[unknown], 8)
    amount = chunk.pop("amount")
    luxury = _local(plan.luxury, row0, len(index))
    amount[luxury] = plan.luxury_amount[np.searchsorted(plan.luxury, rows[luxury])]
    amount[negative] = -amount[negative]
    return {
        "order_id": identifiers("O", scramble(key, 10**11), 11),
        "customer_id": encoded(pa.concat_arrays([ids, strangers]), index),
        **chunk,
        "amount": pa.array(amount),
    }


def _local(lines: IntArray, row0: int, size: int) -> IntArray:
    inside = lines[(lines >= row0) & (lines < row0 + size)]
    return (inside - row0).astype(np.int64)
