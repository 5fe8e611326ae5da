"""`_truth/`: the answers that tests and evaluations compare the cleaned data against."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tagwise.demo import vocab
from tagwise.demo.arrays import STR, identifiers, take, texts
from tagwise.demo.faults import Fault
from tagwise.demo.formats import write_csv
from tagwise.demo.population import Population
from tagwise.demo.timeline import START_DAY


def write_truth(out: Path, pop: Population, ids: pa.Array, faults: list[Fault]) -> None:
    """Persons, latent traits (valid customers only) and the list of invalid rows."""
    rows = np.flatnonzero(pop.valid)
    customer_id = ids.take(pa.array(rows))
    person_id = identifiers("P", pop.person[rows] + 1, 8)
    write_csv(
        pa.table({"customer_id": customer_id, "person_id": person_id}),
        out / "_truth" / "persons.csv",
    )
    churn = pa.array(
        (START_DAY + pop.end[rows]).astype("datetime64[D]"),
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
                "favourite_category": take(
                    texts([c[0] for c in vocab.CATEGORIES]), pop.favourite[rows]
                ),
            }
        ),
        out / "_truth" / "customers.parquet",
        compression="zstd",
    )
    write_csv(
        pa.table(
            {
                "file": pa.array([f.file for f in faults for _ in f.lines], type=STR),
                "line": pa.array(np.concatenate([f.lines for f in faults]).astype(np.int64)),
                "column": pa.array([f.column for f in faults for _ in f.lines], type=STR),
                "kind": pa.array([f.kind for f in faults for _ in f.lines], type=STR),
            }
        ).sort_by([("file", "ascending"), ("line", "ascending")]),
        out / "_truth" / "invalid.csv",
    )
