"""Deterministic synthetic retail data for the demo workspace.

`generate` writes the source files a Chinese retailer would hand over (customers, orders,
events, social, surveys, tickets, third-party enrichment, consent) plus `_truth/`, the
answers that tests and evaluations compare against. The data behaves like a business:
Poisson-gamma purchase counts, churn, log-normal amounts, Zipf category popularity, and the
formatting noise, persons with several accounts (linked by phone, email, WeChat UnionID or
only fuzzily), shared phones that must not merge persons, and invalid rows that cleaning and
identity resolution have to deal with.

Everything is vectorised over numpy arrays; strings are built by pyarrow compute kernels
from small vocabularies, so no Python loop runs per row.

The work is split by topic: `population` draws the latent traits of every customer,
`identities` who holds which account and identifier, one module per source file draws from
them (`customers`, `orders`, `events`, `feedback`,
`enrichment`), and `truth` writes the answers. This module seeds the random streams and
runs the writers.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from tagwise.demo.arrays import identifiers
from tagwise.demo.customers import write_consent, write_customers
from tagwise.demo.enrichment import write_social, write_third_party
from tagwise.demo.events import write_events
from tagwise.demo.feedback import write_surveys, write_tickets
from tagwise.demo.formats import Progress
from tagwise.demo.orders import write_orders
from tagwise.demo.population import Population, population
from tagwise.demo.timeline import DEMO_AS_OF
from tagwise.demo.truth import write_truth

__all__ = [
    "DEFAULT_DUPLICATES",
    "DEMO_AS_OF",
    "MAX_DUPLICATES",
    "DemoStats",
    "Progress",
    "generate",
]

DEFAULT_DUPLICATES = 0.02
"""Share of customers.csv rows that are extra accounts of a person, unless told otherwise."""
MAX_DUPLICATES = 0.3

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
    extra_accounts: int
    """Rows of customers.csv that are further accounts of a person (`_truth/duplicates.csv`)."""
    seconds: float


def generate(
    out_dir: Path,
    *,
    customers: int,
    duplicates: float = DEFAULT_DUPLICATES,
    seed: int = 20261125,
    progress: Progress | None = None,
) -> DemoStats:
    """Write the demo source files and their ground truth under `out_dir`.

    Args:
        out_dir: Folder to write into; created if missing, existing files are replaced.
        customers: Rows of customers.csv; every other file scales from it.
        duplicates: Share of the rows of customers.csv that are extra accounts of a person
            who already has one (persons hold two or three accounts), between 0 and 0.3.
        seed: Seed of the random streams; the same seed writes byte-identical files.
        progress: Called as `progress(stage, rows_done)` while files are written, from the
            calling thread or from the one worker thread that writes events.

    Returns:
        Row counts per file and the elapsed time.

    Raises:
        ValueError: `customers` is below 100 (too few to hold every kind of noise) or has
            more than 8 digits, or `duplicates` is outside [0, 0.3].
    """
    if not 100 <= customers < 99_000_000:
        raise ValueError(f"customers must be between 100 and 98,999,999, not {customers}")
    if not 0 <= duplicates <= MAX_DUPLICATES:
        raise ValueError(f"duplicates must be between 0 and {MAX_DUPLICATES}, not {duplicates}")
    began = time.perf_counter()
    report = progress or _ignore
    seeds = np.random.SeedSequence(seed).spawn(len(_STAGES))
    rngs = {
        stage: np.random.Generator(np.random.PCG64(s))
        for stage, s in zip(_STAGES, seeds, strict=True)
    }
    (out_dir / "_truth").mkdir(parents=True, exist_ok=True)
    pop, faults, dup_source = population(rngs["population"], customers, duplicates)
    ids = identifiers("C", np.arange(1, customers + 1), 8)
    # Events are the largest file: a second core writes them (and consent) meanwhile. numpy
    # and pyarrow release the GIL in their kernels, and each file has its own random stream.
    with ThreadPoolExecutor(max_workers=1) as pool:
        worker = pool.submit(_write_events_and_consent, out_dir, rngs, pop, ids, report)
        rng = rngs["customers"]
        write_customers(out_dir, rng, pop, faults=faults, dup_source=dup_source, ids=ids)
        report("customers", customers)
        order_faults, orders = write_orders(out_dir, rngs["orders"], pop, ids, report)
        survey_faults, surveys = write_surveys(out_dir, rngs["surveys"], pop, ids)
        report("surveys", surveys)
        counts = _write_smaller(out_dir, rngs, pop, ids, report) | worker.result()
    all_faults = [*faults, *order_faults, *survey_faults]
    extra_accounts = write_truth(out_dir, pop, ids, all_faults)
    return DemoStats(
        customers=customers,
        orders=orders,
        surveys=surveys,
        **counts,
        invalid_rows=sum(len(f.lines) for f in all_faults),
        extra_accounts=extra_accounts,
        seconds=time.perf_counter() - began,
    )


def _write_events_and_consent(
    out: Path,
    rngs: dict[str, np.random.Generator],
    pop: Population,
    ids: pa.Array,
    report: Progress,
) -> dict[str, int]:
    events = write_events(out, rngs["events"], pop, ids, report)
    consent = write_consent(out, rngs["consent"], pop, ids)
    report("consent", consent)
    return {"events": events, "consent": consent}


def _write_smaller(
    out: Path,
    rngs: dict[str, np.random.Generator],
    pop: Population,
    ids: pa.Array,
    report: Progress,
) -> dict[str, int]:
    """Social, tickets and third-party files; returns their row counts."""
    counts = write_social(out, rngs["social"], pop, ids)
    report("social", counts["social_profiles"] + counts["social_interactions"])
    counts["tickets"] = write_tickets(out, rngs["tickets"], pop, ids)
    report("tickets", counts["tickets"])
    counts["third_party"] = write_third_party(out, rngs["third_party"], pop, ids)
    report("third_party", counts["third_party"])
    return counts


def _ignore(stage: str, rows: int) -> None:
    del stage, rows
