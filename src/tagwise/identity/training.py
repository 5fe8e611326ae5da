"""Training the m probabilities by expectation maximisation, the way splink recommends.

u comes from random pairs (:mod:`~tagwise.identity.statistics`) and stays fixed; m is
estimated on the candidate pairs, one training session per blocking rule: among the
pairs that agree on a rule's fields, those fields say nothing (every pair agrees on them),
so the session estimates the m of the other fields, and each field's m is the mean over
the sessions that estimated it (splink's ``estimate_parameters_using_expectation_
maximisation`` with ``fix_u_probabilities=True``, once per rule).

The candidate pairs are first counted by comparison vector (the level of each field, and
which rules the pair satisfies) in one GROUP BY on the engine; the iterations then run in
Python over those few thousand integer counts, so the result is the same on DuckDB and
Spark and for any thread count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tagwise.identity.comparisons import Level
from tagwise.identity.standardize import rule_fields

__all__ = [
    "ITERATIONS",
    "MAX_PAIRS",
    "MIN_PAIRS",
    "Patterns",
    "Training",
    "expectation_maximisation",
    "gamma_sql",
]

ITERATIONS = 25
"""Iterations of one session at most (splink's default ``max_iterations``)."""
TOLERANCE = 1e-5
"""A session stops when no m moved by more than this (splink's ``em_convergence``)."""
MIN_PAIRS = 100
"""A rule with fewer candidate pairs trains nothing (too few to estimate from)."""
MAX_PAIRS = 2_000_000
"""Training counts at most about this many candidate pairs (a fixed pseudo-random share
of them beyond): the estimates are shares, and a sample of millions pins them down."""
M_FLOOR = 1e-5
"""No level is impossible for a true pair."""


@dataclass(frozen=True, slots=True)
class Patterns:
    """Candidate pairs counted by comparison vector."""

    gamma: np.ndarray
    """(patterns, fields): the level index of each field, -1 where a side is NULL."""
    rules: np.ndarray
    """(patterns, rules): whether the pairs of the pattern agree on each rule's fields."""
    count: np.ndarray
    """(patterns,): the pairs with this pattern."""


@dataclass(frozen=True, slots=True)
class Training:
    """What training found."""

    m: dict[str, list[float]]
    """Per field, the m of each level (the start values where no session estimated it)."""
    sessions: list[dict[str, object]]
    """Per blocking rule: its fields, the pairs, the iterations and the share of matches
    among its pairs (lambda), or why it was skipped."""


def gamma_sql(field: str, levels: Sequence[Level]) -> str:
    """The level index of ``field`` (-1: a side is NULL), over ``<field>_l``/``_r``."""
    cases = " ".join(
        f"WHEN {level.sql} THEN {i}" for i, level in enumerate(levels) if level.sql != "ELSE"
    )
    return (
        f"CASE WHEN {field}_l IS NULL OR {field}_r IS NULL THEN -1 {cases} "
        f"ELSE {len(levels) - 1} END"
    )


def expectation_maximisation(
    patterns: Patterns,
    levels: Mapping[str, Sequence[Level]],
    u: Mapping[str, Sequence[float]],
    blocking: Sequence[Sequence[str]],
    depends: Mapping[str, Sequence[str]] | None = None,
) -> Training:
    """m per field and level, trained on ``patterns`` (see the module text).

    ``depends`` names, per field, the fields its levels depend on (a city whose agreement
    counts for nothing where the address agrees): a session that blocks on one of those
    does not estimate the field, since its pairs would all land in the dependent level.
    """
    fields = list(levels)
    depends = depends or {}
    estimates: dict[str, list[np.ndarray]] = {f: [] for f in fields}
    sessions: list[dict[str, object]] = []
    for r, rule in enumerate(blocking):
        chosen = patterns.rules[:, r] if patterns.rules.size else np.zeros(0, bool)
        pairs = int(patterns.count[chosen].sum()) if chosen.size else 0
        blocked = set(rule_fields(rule))
        trained = [f for f in fields if f not in blocked and not set(depends.get(f, ())) & blocked]
        if pairs < MIN_PAIRS or not trained:
            reason = "too few pairs" if pairs < MIN_PAIRS else "no other field"
            sessions.append({"rule": list(rule), "pairs": pairs, "skipped": reason})
            continue
        columns = [fields.index(f) for f in trained]
        m, share, rounds = _session(
            patterns.gamma[chosen][:, columns],
            patterns.count[chosen].astype(np.float64),
            [levels[f] for f in trained],
            [np.asarray(u[f], dtype=np.float64) for f in trained],
        )
        for f, values in zip(trained, m, strict=True):
            estimates[f].append(values)
        sessions.append({"rule": list(rule), "pairs": pairs, "iterations": rounds, "lambda": share})
    m_out: dict[str, list[float]] = {}
    for f in fields:
        if estimates[f]:
            mean = np.mean(np.vstack(estimates[f]), axis=0)
            m_out[f] = [float(v) for v in mean]
        else:
            m_out[f] = [level.m for level in levels[f]]
    return Training(m_out, sessions)


def _session(
    gamma: np.ndarray,
    count: np.ndarray,
    levels: Sequence[Sequence[Level]],
    u: Sequence[np.ndarray],
) -> tuple[list[np.ndarray], float, int]:
    """One EM session over the given fields: (m per field, lambda, iterations)."""
    neutral = [np.array([lv.is_neutral for lv in field]) for field in levels]
    m = [_normalized(np.array([lv.m for lv in field]), un, nt)
         for field, un, nt in zip(levels, u, neutral, strict=True)]  # fmt: skip
    share = 0.3
    rounds = 0
    for rounds in range(1, ITERATIONS + 1):  # noqa: B007 (the count is reported)
        log_factor = np.zeros(len(count))
        for j in range(gamma.shape[1]):
            g = gamma[:, j]
            present = g >= 0
            ratio = np.log(m[j]) - np.log(u[j])
            log_factor[present] += ratio[g[present]]
        odds = np.exp(np.clip(log_factor, -700, 700)) * share / (1 - share)
        weight = odds / (1 + odds)
        matched = count * weight
        share = float(np.clip(matched.sum() / count.sum(), 1e-9, 1 - 1e-9))
        moved = 0.0
        for j in range(gamma.shape[1]):
            g = gamma[:, j]
            totals = np.bincount(g[g >= 0], weights=matched[g >= 0], minlength=len(m[j]))
            if totals.sum() <= 0:
                continue
            new = _normalized(totals / totals.sum(), u[j], neutral[j])
            moved = max(moved, float(np.abs(new - m[j]).max()))
            m[j] = new
        if moved < TOLERANCE:
            break
    return m, share, rounds


def _normalized(m: np.ndarray, u: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """m with a neutral level's m set to its u (weight 0) and the others scaled to share
    the rest, each at least :data:`M_FLOOR`."""
    out = np.maximum(m.astype(np.float64), M_FLOOR)
    rest = 1.0 - float(u[neutral].sum())
    others = out[~neutral]
    out[~neutral] = others / others.sum() * rest
    out[neutral] = u[neutral]
    return out
