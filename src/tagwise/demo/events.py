"""events.parquet: views, searches and campaign clicks, at a tenth of the rate after churn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from tagwise.demo import vocab
from tagwise.demo.arrays import (
    DICT,
    BoolArray,
    IntArray,
    below,
    chance,
    encoded,
    pick,
    texts,
    weights,
)
from tagwise.demo.formats import CHUNK, ROW_GROUP, Progress, parquet_writer
from tagwise.demo.population import Population, category_weights, device_dict, device_ids
from tagwise.demo.timeline import (
    DEMO_AS_OF,
    HISTORY_DAYS,
    HISTORY_START,
    INTENSITY,
    days_between,
    moments,
    timestamps,
)

_EVENTS_PER_CUSTOMER = 50.0
_EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.int64()),
        ("customer_id", DICT),
        ("event_type", DICT),
        ("occurred_at", pa.timestamp("us")),
        ("platform", DICT),
        ("page", DICT),
        ("keyword", DICT),
        ("campaign_id", DICT),
        ("device_id", DICT),
    ]
)


def _months() -> IntArray:
    """Month of each history day, counted from the first month of the history."""
    months = (np.datetime64(HISTORY_START.isoformat()) + np.arange(HISTORY_DAYS)).astype(
        "datetime64[M]"
    )
    return np.asarray(months - months[0], dtype=np.int64)


_MONTH_OF_DAY = _months()


def write_events(
    out: Path, rng: np.random.Generator, pop: Population, ids: pa.Array, report: Progress
) -> int:
    """Events: full rate while active, a tenth of it after churn."""
    intensity = pop.rate**0.6 * rng.gamma(4.0, 0.25, len(pop.rate)) * pop.valid
    active = INTENSITY[pop.end] - INTENSITY[pop.start]
    after = 0.1 * (INTENSITY[HISTORY_DAYS] - INTENSITY[pop.end])
    scale = (
        _EVENTS_PER_CUSTOMER
        * len(pop.rate)
        / max(float((intensity * (active + after)).sum()), 1e-9)
    )
    counts_active = rng.poisson(intensity * active * scale)
    counts_after = rng.poisson(intensity * after * scale)
    devices = device_ids(pop)
    row0 = 0
    with parquet_writer(out / "events.parquet", _EVENT_SCHEMA) as writer:
        for lo in range(0, len(pop.rate), CHUNK):
            rows = np.arange(lo, min(lo + CHUNK, len(pop.rate)))
            cust = np.concatenate(
                [np.repeat(rows, counts_active[rows]), np.repeat(rows, counts_after[rows])]
            )
            is_after = np.arange(len(cust)) >= counts_active[rows].sum()
            table = _events(rng, pop, cust, is_after, row0)
            table["customer_id"] = encoded(ids.slice(lo, len(rows)), cust - lo)
            table["device_id"] = device_dict(pop, devices, rows, table.pop("_dev"))
            writer.write_table(pa.table(table, schema=_EVENT_SCHEMA), row_group_size=ROW_GROUP)
            row0 += len(cust)
            report("events", row0)
    return row0


def _events(
    rng: np.random.Generator, pop: Population, cust: IntArray, is_after: BoolArray, row0: int
) -> dict[str, pa.Array]:
    m = len(cust)
    day = days_between(
        rng,
        np.where(is_after, pop.end[cust], pop.start[cust]),
        np.where(is_after, HISTORY_DAYS, pop.end[cust]),
    )
    kind = pick(rng, weights(vocab.EVENT_TYPES), m)
    home = np.where(pop.channel[cust] == 3, 2, np.where(pop.channel[cust] == 0, 1, 0))
    platform = np.where(chance(rng, 0.7, m), home, below(rng, 3, m))
    loyal = chance(rng, 0.5, m)
    category = np.where(loyal, pop.favourite[cust], pick(rng, category_weights(), m))
    per_category = len(vocab.SEARCH_TERMS[0])
    term = category * per_category + below(rng, per_category, m)
    dev = pop.device_start[cust] + below(rng, pop.devices[cust], m)
    return {
        "event_id": pa.array(np.arange(row0 + 1, row0 + m + 1, dtype=np.int64)),
        "event_type": encoded(texts([e for e, _ in vocab.EVENT_TYPES]), kind),
        "occurred_at": timestamps(moments(rng, day)),
        "platform": encoded(texts(vocab.EVENT_PLATFORMS), platform),
        "page": encoded(
            texts([c[0] for c in vocab.CATEGORIES]), category, (kind == 2) | (kind > 3)
        ),
        "keyword": encoded(texts([t for ts in vocab.SEARCH_TERMS for t in ts]), term, kind != 2),
        "campaign_id": encoded(_campaigns(), _MONTH_OF_DAY[day], kind < 4),
        "_dev": np.where(pop.shared_device[cust] >= 0, pop.shared_device[cust], dev),
    }


def _campaigns() -> pa.Array:
    months = np.arange(
        np.datetime64(HISTORY_START.isoformat(), "M"),
        np.datetime64(DEMO_AS_OF.isoformat(), "M") + 1,
    )
    return texts([f"CMP{m}" for m in months.astype(str)])
