"""What customers tell the retailer: surveys.jsonl and tickets.csv (GB18030)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tagwise.demo import vocab
from tagwise.demo.arrays import (
    STR,
    IntArray,
    identifiers,
    join,
    pick,
    replace,
    row_mask,
    take,
    texts,
    weights,
)
from tagwise.demo.faults import Fault
from tagwise.demo.formats import csv_bytes, write_lines
from tagwise.demo.population import Population, ages
from tagwise.demo.timeline import (
    HISTORY_DAYS,
    US,
    days_between,
    iso_seconds,
    mixed_datetimes,
    moments,
)

# --- surveys.jsonl ------------------------------------------------------------------------


def write_surveys(
    out: Path, rng: np.random.Generator, pop: Population, ids: pa.Array
) -> tuple[list[Fault], int]:
    """Answers of about 15 % of customers; NPS follows satisfaction, which refunds lower."""
    who = np.flatnonzero(pop.valid & (rng.random(len(pop.valid)) < 0.15))
    m = len(who)
    day = days_between(rng, pop.start[who], np.full(m, HISTORY_DAYS))
    noise = rng.normal(0, 0.9, m)
    satisfaction = np.clip(np.round(4.1 - 15 * (pop.refund_rate[who] - 0.06) + noise), 1, 5)
    nps = np.clip(np.round(2.2 * satisfaction - 1 + rng.normal(0, 1.3, m)), 0, 10)
    spoiled = rng.permutation(m)[: 2 * max(1, m // 50_000)]
    bad_json, bad_number = np.sort(spoiled[::2]), np.sort(spoiled[1::2])
    nps_text = replace(pc.cast(pa.array(nps.astype(np.int64)), STR), bad_number, ('"很高"',))
    lines = join(
        '{"response_id": "',
        identifiers("S", np.arange(1, m + 1), 8),
        '", "customer_id": "',
        ids.take(pa.array(who)),
        '", "submitted_at": "',
        iso_seconds(moments(rng, day)),
        '", "nps": ',
        nps_text,
        ', "satisfaction": ',
        pc.cast(pa.array(satisfaction.astype(np.int64)), STR),
        ', "interests": "',
        _interests(rng, m),
        '", "lifestyle": "',
        take(texts(vocab.LIFESTYLES), _lifestyles(rng, pop, who)),
        '"}',
    )
    cut = pc.utf8_slice_codeunits(lines.take(pa.array(bad_json)), 0, 48)
    write_lines(
        pc.replace_with_mask(lines, pa.array(row_mask(m, bad_json)), cut), out / "surveys.jsonl"
    )
    faults = [
        Fault("surveys.jsonl", bad_json + 1, "", "bad_json"),
        Fault("surveys.jsonl", bad_number + 1, "nps", "bad_number"),
    ]
    return faults, m


def _interests(rng: np.random.Generator, m: int) -> pa.Array:
    """One to four distinct interests per respondent, joined by semicolons."""
    count = rng.integers(1, 5, m)
    order = np.argsort(rng.random((m, len(vocab.INTERESTS))), axis=1)[:, :4]
    chosen = order[np.arange(4)[None, :] < count[:, None]]
    offsets = pa.array(np.concatenate([[0], np.cumsum(count)]).astype(np.int32))
    lists = pa.ListArray.from_arrays(offsets, take(texts(vocab.INTERESTS), chosen))
    return pc.binary_join(lists, ";")


def _lifestyles(rng: np.random.Generator, pop: Population, rows: IntArray) -> IntArray:
    age = ages(pop, rows)
    style = rng.integers(0, len(vocab.LIFESTYLES), len(rows))
    young = (age < 24) & (rng.random(len(rows)) < 0.6)
    old = (age > 55) & (rng.random(len(rows)) < 0.6)
    style = np.where(young, vocab.LIFESTYLES.index("Z世代学生"), style)
    return np.where(old, vocab.LIFESTYLES.index("银发一族"), style)


# --- tickets.csv (GB18030) ----------------------------------------------------------------


_TICKETS_PER_CUSTOMER = 0.3


def write_tickets(out: Path, rng: np.random.Generator, pop: Population, ids: pa.Array) -> int:
    """Service tickets; customers who refund more complain more."""
    n = len(pop.valid)
    weight = pop.valid * (0.3 + 8 * pop.refund_rate) * np.sqrt(pop.rate)
    cust = np.repeat(np.arange(n), rng.poisson(weight * _TICKETS_PER_CUSTOMER * n / weight.sum()))
    m = len(cust)
    complaint = rng.random(m) < np.clip(0.05 + 2.5 * pop.refund_rate[cust], 0, 0.6)
    kind = np.where(complaint, 0, 1 + pick(rng, np.array([0.5, 0.3, 0.2]), m))
    severity = np.where(
        complaint,
        pick(rng, np.array([0.2, 0.5, 0.3]), m),
        pick(rng, np.array([0.6, 0.35, 0.05]), m),
    )
    resolved = rng.random(m) < np.where(complaint, 0.75, 0.9)
    score = np.round(4.3 - 1.2 * complaint - 1.5 * ~resolved + rng.normal(0, 0.8, m))
    day = days_between(rng, pop.start[cust], np.full(m, HISTORY_DAYS))
    table = pa.table(
        {
            "ticket_id": identifiers("T", np.arange(1, m + 1), 9),
            "customer_id": ids.take(pa.array(cust)),
            "created_at": mixed_datetimes(rng, moments(rng, day) // US),
            "type": take(texts(vocab.TICKET_TYPES), kind),
            "channel": take(
                texts([c for c, _ in vocab.TICKET_CHANNELS]),
                pick(rng, weights(vocab.TICKET_CHANNELS), m),
            ),
            "severity": take(texts(vocab.SEVERITIES), severity),
            "resolved": pc.if_else(pa.array(resolved), "是", "否"),
            "satisfaction": pa.array(
                np.clip(score, 1, 5).astype(np.int64), mask=rng.random(m) < 0.3
            ),
            "content": _ticket_texts(rng, kind, pop.favourite[cust]),
        }
    )
    text = csv_bytes(table, quoting="needed").decode("utf-8")
    (out / "tickets.csv").write_bytes(text.encode("gb18030"))
    return m


def _ticket_texts(rng: np.random.Generator, kind: IntArray, category: IntArray) -> pa.Array:
    sizes = np.array([len(t) for t in vocab.TICKET_TEMPLATES])
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    template = first[kind] + np.floor(rng.random(len(kind)) * sizes[kind]).astype(np.int64)
    flat = [pair for group in vocab.TICKET_TEMPLATES for pair in group]
    return join(
        take(texts([b for b, _ in flat]), template),
        take(texts([c[0] for c in vocab.CATEGORIES]), category),
        take(texts([a for _, a in flat]), template),
    )
