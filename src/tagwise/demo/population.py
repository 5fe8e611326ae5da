"""Latent traits of the customers: who they are, when they are active and how they shop.

Every source file is drawn from these traits, and `_truth/` publishes some of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from tagwise.demo import vocab
from tagwise.demo.arrays import (
    BoolArray,
    FloatArray,
    IntArray,
    encoded,
    identifiers,
    pick,
    scramble,
    weights,
)
from tagwise.demo.faults import Fault, customer_faults
from tagwise.demo.identities import (
    PLACEHOLDER_PHONES,
    Identity,
    Links,
    Traps,
    assign_identifiers,
    extra_channels,
    family_members,
    links,
    traps,
)
from tagwise.demo.timeline import HISTORY_DAYS, INTENSITY, START_DAY, US, moments

_ORDERS_PER_CUSTOMER = 20.0


@dataclass(frozen=True, slots=True)
class Population:
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
    links: Links
    """The extra accounts of persons and how each links to an earlier account."""
    identity: Identity
    """Which identifiers each row carries (email, address, WeChat ids, shared phones)."""
    traps: Traps
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


def population(
    rng: np.random.Generator, n: int, duplicates: float
) -> tuple[Population, list[Fault], IntArray]:
    """Latent traits of every customer row, the invalid rows, and duplicate-key sources.

    `duplicates` is the share of rows that are extra accounts of a person (see `identities`).
    """
    person, link = links(rng, n, duplicates)
    faults, dup_source = customer_faults(rng, person)
    valid = np.ones(n, dtype=np.bool_)
    for fault in faults:
        valid[fault.lines - 2] = False
    single = valid & (person == np.arange(n))
    single[person[link.link >= 0]] = False
    trap = traps(rng, single)
    channel = pick(rng, weights(vocab.REGISTRATION_CHANNELS), n)
    extra_channels(rng, channel, person, link)
    activity = _activity(rng, n)
    _register_in_order(activity, person, link)
    registered_s, start, end, churned = activity
    phone = _phones(rng, n)
    identity = assign_identifiers(rng, link, trap, person=person, channel=channel, phone=phone)
    sex = rng.integers(0, 2, n)[identity.name]
    birth_day = _birth_days(rng, n)[person]
    city = pick(rng, np.array([c[3] for c in vocab.CITIES]), n)[identity.name]
    _families(trap, birth_day, city)
    rate = rng.gamma(0.7, 1.0, n) * valid
    exposure = INTENSITY[end] - INTENSITY[start]
    rate *= _ORDERS_PER_CUSTOMER * n / max(float((rate * exposure).sum()), 1e-9)
    amount_mu = rng.normal(4.6, 0.45, n)
    devices = 1 + rng.binomial(2, 0.25, n)
    device_start = np.concatenate([[0], np.cumsum(devices)[:-1]])
    return (
        Population(
            sex=sex,
            birth_day=birth_day,
            city=city,
            channel=channel,
            registered_s=registered_s,
            person=person,
            links=link,
            identity=identity,
            traps=trap,
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
            phone=phone,
            device_start=device_start,
            devices=devices,
            shared_device=_shared_devices(rng, valid, int(devices.sum())),
        ),
        faults,
        dup_source,
    )


def _register_in_order(
    activity: tuple[IntArray, IntArray, IntArray, BoolArray], person: IntArray, link: Links
) -> None:
    """Swap the activity of a person's accounts so that each registered after the one before.

    The first account is the oldest, and a third account is younger than the second.
    """
    third = link.third
    second = link.second[: len(third)]
    steps = (
        (person[link.second], link.second),
        (second, third),
        (person[third], second),
    )
    for earlier, later in steps:
        swap = activity[0][earlier] > activity[0][later]
        a, b = earlier[swap], later[swap]
        for values in activity:
            values[a], values[b] = values[b], values[a]


def _families(trap: Traps, birth_day: IntArray, city: IntArray) -> None:
    """A family lives in one city, and no two of its members (or namesakes) share a birthday.

    Each family's birthdays are sorted and spread by a day where equal. Namesakes already
    live in the city of the person they are named like; they get another birthday.
    """
    head, members = family_members(trap)
    city[members] = city[head]
    family = trap.family
    present = family >= 0
    days = np.where(present, birth_day[np.maximum(family, 0)], np.iinfo(np.int64).max // 2)
    days = np.sort(days, axis=1)
    days = np.maximum.accumulate(days - np.arange(4), axis=1) + np.arange(4)
    birth_day[family[present]] = days[present]
    original, namesake = trap.namesakes[:, 0], trap.namesakes[:, 1]
    same = birth_day[namesake] == birth_day[original]
    birth_day[namesake[same]] += 397


def _activity(rng: np.random.Generator, n: int) -> tuple[IntArray, IntArray, IntArray, BoolArray]:
    """Registration time, active window [start, end) in history days, and churn flags."""
    old = rng.random(n) < 0.25
    day = np.where(
        old,
        -rng.integers(1, 5 * 365, n),
        np.floor(HISTORY_DAYS * np.sqrt(rng.random(n))).astype(np.int64),  # growing sign-ups
    )
    day = np.minimum(day, HISTORY_DAYS - 1)
    registered_s = (moments(rng, day) // US).astype(np.int64)
    start = np.maximum(day, 0)
    room = HISTORY_DAYS - 60 - start - 30
    churned = (room > 60) & (rng.random(n) < 0.45)
    churn_day = start + 30 + np.floor(rng.random(n) * np.maximum(room, 0)).astype(np.int64)
    return registered_s, start, np.where(churned, churn_day, HISTORY_DAYS), churned


def _birth_days(rng: np.random.Generator, n: int) -> IntArray:
    age_days = np.clip(rng.normal(36, 11, n), 18, 80) * 365.25
    return (START_DAY + HISTORY_DAYS - age_days).astype(np.int64)


def _member_levels(rng: np.random.Generator, rate: FloatArray, mu: FloatArray) -> IntArray:
    """Member level by spend propensity: rank of log(rate) + price level, plus noise."""
    score = np.log(rate + 1e-3) + 1.2 * mu + rng.normal(0, 0.4, len(rate))
    rank = np.argsort(np.argsort(score)) / len(rate)
    edges = np.cumsum([s for _, s in vocab.MEMBER_LEVELS])[:-1]
    return np.searchsorted(edges, rank, side="right").astype(np.int64)


def category_weights(sex: int | None = None) -> FloatArray:
    """Zipf popularity of the categories, tilted towards one gender if `sex` is given."""
    ratio = np.array([c[1] for c in vocab.CATEGORIES])
    w: FloatArray = 1.0 / np.arange(1, len(ratio) + 1, dtype=np.float64) ** 1.1
    if sex is not None:
        w *= np.sqrt(ratio) if sex else 1 / np.sqrt(ratio)
    return w / float(w.sum())


def _favourites(rng: np.random.Generator, sex: IntArray) -> IntArray:
    male = pick(rng, category_weights(0), len(sex))
    female = pick(rng, category_weights(1), len(sex))
    return np.where(sex == 1, female, male)


def _few(rng: np.random.Generator, eligible: BoolArray, count: int) -> BoolArray:
    flags = np.zeros(len(eligible), dtype=np.bool_)
    flags[rng.permutation(np.flatnonzero(eligible))[:count]] = True
    return flags


def _phones(rng: np.random.Generator, n: int) -> IntArray:
    """Distinct mobile numbers, one per row, none of them a placeholder."""
    prefixes = np.array(vocab.PHONE_PREFIXES, dtype=np.int64) * 10**8
    phone = prefixes[rng.integers(0, len(prefixes), n)] + rng.integers(0, 10**8, n)
    while True:
        repeated = np.ones(n, dtype=np.bool_)
        repeated[np.unique(phone, return_index=True)[1]] = False
        repeated |= np.isin(phone, PLACEHOLDER_PHONES)
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


def device_ids(pop: Population) -> pa.Array:
    """Ids of all devices: the owned ones by customer row, then the shared ones."""
    total = int(pop.shared_device.max()) + 1  # shared devices follow the owned ones
    return identifiers("D", scramble(np.arange(total), 10**12, salt=31), 12)


def device_dict(pop: Population, devices: pa.Array, rows: IntArray, dev: IntArray) -> pa.Array:
    """Device ids of a chunk of customers, with a dictionary of only their devices.

    The customers of a chunk own a contiguous run of devices; the shared devices follow all
    owned ones. A small dictionary keeps Parquet on its fast dictionary-encoding path.
    """
    first = int(pop.device_start[rows[0]])
    last = int(pop.device_start[rows[-1]] + pop.devices[rows[-1]])
    owned = int(pop.devices.sum())
    local = np.where(dev >= owned, dev - owned + (last - first), dev - first)
    dictionary = pa.concat_arrays([devices.slice(first, last - first), devices.slice(owned)])
    return encoded(dictionary, local)


def ages(pop: Population, rows: IntArray) -> FloatArray:
    """Ages in years on the as-of day."""
    return (START_DAY + HISTORY_DAYS - pop.birth_day[rows]) / 365.25
