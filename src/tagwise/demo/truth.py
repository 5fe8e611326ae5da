"""`_truth/`: the answers that tests and evaluations compare the cleaned data against.

Files, all UTF-8 CSV with a header unless named otherwise:

- `persons.csv` (customer_id, person_id): the person behind every valid row of
  customers.csv. Accounts of one person share a person_id; a correct identity resolution
  puts exactly these customers together.
- `duplicates.csv` (customer_id, first_customer_id, link, name_typo, linked_customer_id):
  one row per extra account, that is every valid customer that is not the first account of
  its person. `first_customer_id` is the person's first (oldest) account; `link` says how
  this account can be tied to `linked_customer_id`, an earlier account of the same person
  (the first one or, in a chain, the second): `phone` (same number, spelled differently),
  `email` (same address up to case and spaces), `unionid` (same WeChat UnionID) or `fuzzy`
  (no shared identifier: same birthday and city, the address spelled differently, the same
  name or, if `name_typo` is true, the name with one character wrong).
- `shared_identifiers.csv` (type, value, kind, records): identifier values that different
  persons share, which must not merge them: `phone` numbers in E.164 (`+8613800000000`) of
  a `family` (two to four persons, often with one surname and address) or a `placeholder`
  typed in for unrelated persons; `records` counts the valid rows carrying the value.
- `invalid.csv` (file, line, column, kind): every row of the source files made invalid on
  purpose; `line` is the physical line (customers.csv, surveys.jsonl) or the 1-based row
  (orders.parquet).
- `customers.parquet`: latent traits of every valid customer (purchase rate, churn, price
  sensitivity, refund rate, fraud and risk flags, favourite category) that tags and models
  should recover.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tagwise.demo import vocab
from tagwise.demo.arrays import STR, identifiers, join, take, texts
from tagwise.demo.faults import Fault
from tagwise.demo.formats import write_csv
from tagwise.demo.identities import LINKS, SHARED_KINDS
from tagwise.demo.population import Population
from tagwise.demo.timeline import START_DAY


def write_truth(out: Path, pop: Population, ids: pa.Array, faults: list[Fault]) -> int:
    """Persons, extra accounts, shared identifiers, latent traits and invalid rows.

    Returns the number of extra accounts.
    """
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
    _write_shared(out, pop)
    return _write_duplicates(out, pop, ids)


def _write_duplicates(out: Path, pop: Population, ids: pa.Array) -> int:
    extra = np.flatnonzero(pop.links.link >= 0)  # never invalid: faults avoid persons' rows
    write_csv(
        pa.table(
            {
                "customer_id": ids.take(pa.array(extra)),
                "first_customer_id": ids.take(pa.array(pop.person[extra])),
                "link": take(texts(LINKS), pop.links.link[extra]),
                "name_typo": pa.array(pop.links.name_typo[extra]),
                "linked_customer_id": ids.take(pa.array(pop.links.linked[extra])),
            }
        ),
        out / "_truth" / "duplicates.csv",
    )
    return len(extra)


def _write_shared(out: Path, pop: Population) -> None:
    """Phones shared by different persons, with the number of valid rows holding each."""
    rows = np.flatnonzero((pop.identity.shared_phone > 0) & pop.valid)
    phone, first, records = np.unique(pop.phone[rows], return_index=True, return_counts=True)
    kind = pop.identity.shared_phone[rows[first]] - 1
    write_csv(
        pa.table(
            {
                "type": take(texts(("phone",)), np.zeros(len(phone), dtype=np.int64)),
                "value": join("+86", pc.cast(pa.array(phone), STR)),
                "kind": take(texts(SHARED_KINDS), kind),
                "records": pa.array(records.astype(np.int64)),
            }
        ),
        out / "_truth" / "shared_identifiers.csv",
    )
