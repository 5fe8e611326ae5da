"""Data from outside the retailer's own systems: social media and bought enrichment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tagwise.demo import vocab
from tagwise.demo.arrays import (
    STR,
    IntArray,
    digits,
    identifiers,
    join,
    pick,
    scramble,
    take,
    texts,
    weights,
)
from tagwise.demo.formats import write_csv, write_lines
from tagwise.demo.population import Population, ages
from tagwise.demo.timeline import HISTORY_DAYS, days_between, iso_seconds, moments

# --- social_profiles.csv, social_interactions.csv -----------------------------------------


def write_social(
    out: Path, rng: np.random.Generator, pop: Population, ids: pa.Array
) -> dict[str, int]:
    """Profiles for about 30 % of customers (one or two platforms each) and their actions."""
    who = np.flatnonzero(pop.valid & (rng.random(len(pop.valid)) < 0.3))
    per = 1 + (rng.random(len(who)) < 0.3)
    cust = np.repeat(who, per)
    nth = np.arange(len(cust)) - np.repeat(np.cumsum(per) - per, per)
    first = np.repeat(pick(rng, np.array([p[2] for p in vocab.SOCIAL_PLATFORMS]), len(who)), per)
    platform = (first + nth * np.repeat(rng.integers(1, 4, len(who)), per)) % 4
    names = texts([p[0] for p in vocab.SOCIAL_PLATFORMS])
    account = join(
        take(texts([p[1] for p in vocab.SOCIAL_PLATFORMS]), platform),
        digits(scramble(np.arange(len(cust)), 10**10, salt=777_001), 10),
    )
    profiles = pa.table(
        {
            "customer_id": ids.take(pa.array(cust)),
            "platform": take(names, platform),
            "account_id": account,
            **_audience(rng, platform),
        }
    )
    write_csv(profiles, out / "social_profiles.csv")
    interactions = _interactions(rng, pop, cust, platform)
    interactions["customer_id"] = ids.take(pa.array(interactions["customer_id"]))
    interactions["platform"] = take(names, interactions["platform"])
    table = pa.table(interactions).select(
        ["interaction_id", "customer_id", "platform", "action", "occurred_at"]
    )
    write_csv(table, out / "social_interactions.csv")
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
    rng: np.random.Generator, pop: Population, cust: IntArray, platform: IntArray
) -> dict[str, pa.Array]:
    per = rng.poisson(2.5, len(cust))
    who, where = np.repeat(cust, per), np.repeat(platform, per)
    day = days_between(rng, pop.start[who], np.full(len(who), HISTORY_DAYS))
    action = pick(rng, weights(vocab.SOCIAL_ACTIONS), len(who))
    return {
        "interaction_id": identifiers("I", np.arange(1, len(who) + 1), 10),
        "customer_id": who,
        "platform": where,
        "action": take(texts([a for a, _ in vocab.SOCIAL_ACTIONS]), action),
        "occurred_at": iso_seconds(moments(rng, day)),
    }


# --- third_party.jsonl --------------------------------------------------------------------


def write_third_party(out: Path, rng: np.random.Generator, pop: Population, ids: pa.Array) -> int:
    """Bought enrichment for about 60 % of customers, keyed by customer id and phone."""
    who = np.flatnonzero(pop.valid & (rng.random(len(pop.valid)) < 0.6))
    m = len(who)
    score = 0.5 * np.log(pop.rate[who] + 1e-3) + pop.amount_mu[who] + rng.normal(0, 0.5, m)
    rank = np.argsort(np.argsort(score)) / max(m, 1)
    band = np.searchsorted(np.cumsum(weights(vocab.INCOME_BANDS))[:-1], rank, side="right")
    age = ages(pop, who)
    job = np.where(age < 23, 0, np.where(age > 60, 1, rng.integers(2, len(vocab.OCCUPATIONS), m)))
    car = rng.random(m) < 0.2 + 0.12 * band
    house = rng.random(m) < 0.25 + 0.12 * band + 0.1 * (age > 35)
    credit = rng.normal(620 + 35 * band, 60) - 160 * pop.is_risky[who]
    lines = join(
        '{"customer_id": "',
        ids.take(pa.array(who)),
        '", "phone": "',
        pc.cast(pa.array(pop.phone[who]), STR),
        '", "income_band": "',
        take(texts([b for b, _ in vocab.INCOME_BANDS]), band),
        '", "occupation": "',
        take(texts(vocab.OCCUPATIONS), job),
        '", "has_car": "',
        pc.if_else(pa.array(car), "是", "否"),
        '", "has_house": "',
        pc.if_else(pa.array(house), "是", "否"),
        '", "credit_score": ',
        pc.cast(pa.array(np.clip(np.round(credit), 350, 950).astype(np.int64)), STR),
        "}",
    )
    write_lines(lines, out / "third_party.jsonl")
    return m
