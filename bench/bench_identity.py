"""Benchmark: identity resolution of 1M customer records with about 10 % duplicates (#6).

One demo workspace (``tagwise demo --customers N --duplicates 0.10``, default seed; built
once under ``bench/out/identity/`` and reused; its generation, ingestion, tag run and the
first resolution inside its ingest are timed apart as preparation). Its warehouse is
copied once and, in the copy, identity is reset to "ingested but never resolved": every
record is its own customer again (``meta.customer_keys.cid = rid``, the ``cid`` of every
customer-keyed ``src.*`` table and of ``ident.records`` back to the record's rid), the
golden record ``src.<master>`` is dropped and the ``ident.*`` outputs are emptied.

Each repetition runs, interleaved and each in a fresh process (wall time and the peak RSS
of the whole process tree, sampled from /proc every 0.1 s as in ``bench_engines.py``):

* **baseline**: a straightforward Python version of the deterministic part: DuckDB reads
  the same (rid, type, value) identifiers into Python lists, then dicts apply the same
  caps and conflict rules (two birthdays; two names at least ``identity.name_distance``
  edits apart) and a dict-based union-find (path compression, the smaller rid wins)
  labels each record with the smallest rid of its component, the same cid rule as
  tagwise; the mapping is written to a Parquet file;
* ``tagwise resolve --json`` with probabilistic matching off
  (``TAGWISE_IDENTITY__MATCHING__ENABLED=false``), from the reset warehouse, when the
  setting exists;
* ``tagwise resolve --json`` with the workspace's settings, from the reset warehouse;
* ``tagwise resolve --json`` again on the resolved warehouse (a daily ingest's
  idempotent re-resolution: must report ``changed = 0``).

Quality is computed here, independently of tagwise, against the generator's ground truth
(``data/_truth/persons.csv``: the person behind each valid row; ``duplicates.csv``: every
extra account, its person's first account and how the two can be linked): pairwise
precision and recall over the records in ``ident.records`` (pairs in one customer vs pairs
of one person), recall per link kind (share of extra accounts placed with their first
account), capped identifiers, the review queue and the sizes of merged customers. The
baseline's customers are compared record by record with tagwise's deterministic result.

    python bench/bench_identity.py --customers 100000 --repeat 1   # a quick check
    python bench/bench_identity.py --customers 1000000 --repeat 3  # → bench/identity_results.json
    python bench/bench_identity.py --quality-only   # re-check the quality of the last run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_engines  # noqa: E402 (tree-RSS sampler)
import bench_run  # noqa: E402 (tagwise_bin, warehouse, code_version)

STEPS = (
    "records",
    "identifiers",
    "caps",
    "matching",
    "links",
    "components",
    "golden record",
    "writing",
)
"""``ResolveReport.timings`` keys, in order."""
DETERMINISTIC_STEPS = ("records", "identifiers", "caps", "links", "components")
"""The steps the baseline does too (it writes only the rid → cid mapping)."""
IDENT_OUTPUTS = (
    "events",
    "resolutions",
    "decisions",
    "lineage",
    "matches",
    "review",
    "capped",
    "identifiers",
)
NO_MATCHING = {"TAGWISE_IDENTITY__MATCHING__ENABLED": "false"}
GOAL = {"seconds": 60.0, "precision": 0.99, "recall": 0.95}


# ------------------------------------------------------------------------- preparation


def sources_yaml(ws: Path) -> dict[str, Any]:
    import yaml

    return yaml.safe_load((ws / "sources.yaml").read_text(encoding="utf-8"))["sources"]


def master_of(sources: dict[str, Any]) -> tuple[str, str]:
    """(name, customer key) of the customer master."""
    for name, spec in sources.items():
        if spec.get("role") == "customers":
            return name, spec["customer_key"]
    raise SystemExit("sources.yaml declares no customers source")


def prepare(out: Path, customers: int, duplicates: float) -> tuple[Path, Path, dict[str, Any]]:
    """The demo workspace (built once), and a copy of its warehouse with identity reset."""
    tag = f"{customers}-dup{round(duplicates * 100)}"
    ws, clean, info = out / f"ws{tag}", out / f"clean{tag}.duckdb", out / f"prepared{tag}.json"
    if not _is_current(ws) or not info.exists():
        shutil.rmtree(ws, ignore_errors=True)
        clean.unlink(missing_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        print(f"building the demo workspace {ws} …", file=sys.stderr, flush=True)
        args = [bench_run.tagwise_bin(), "demo", str(ws), "--customers", str(customers)]
        args += ["--duplicates", str(duplicates), "--json"]
        result = bench_engines.measure(args, dict(os.environ))
        report = result["report"]
        prepared = {
            "seconds": round(result["seconds"], 1),
            "peak_mib": round(result["peak_mib"]),
            "timings": report.get("timings"),
            "customers": report.get("customers"),
            "generated": report.get("generated"),
            "identity_in_ingest": report.get("identity"),
            "built_at": time.strftime("%Y-%m-%d %H:%M"),
            "code": bench_run.code_version(),
        }
        info.write_text(json.dumps(prepared, indent=2, ensure_ascii=False) + "\n")
    if not clean.exists():
        print(f"resetting identity in {clean} …", file=sys.stderr, flush=True)
        tmp = clean.with_suffix(".tmp")
        shutil.copy(bench_run.warehouse(ws), tmp)
        reset_identity(tmp, sources_yaml(ws))
        tmp.rename(clean)
    return ws, clean, json.loads(info.read_text())


def _is_current(ws: Path) -> bool:
    """Whether the cached workspace exists and was made from today's sources template (the
    demo's identity columns and ``match_on`` change with the generator)."""
    from importlib import resources

    if not (ws / "tagwise.toml").exists():
        return False
    template = resources.files("tagwise.demo").joinpath("templates", "sources.yaml")
    if (ws / "sources.yaml").read_text(encoding="utf-8") == template.read_text("utf-8"):
        return True
    print(f"{ws} was built from another sources template: rebuilding", file=sys.stderr)
    return False


def reset_identity(db: Path, sources: dict[str, Any]) -> None:
    """Put a resolved warehouse back to "ingested, never resolved"."""
    import duckdb

    con = duckdb.connect(str(db))
    master, key = master_of(sources)
    src = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'src'"
        ).fetchall()
    }
    moved = "k.cid <> k.rid"
    for name, spec in sources.items():
        if name == master or name not in src or not spec.get("customer_key"):
            continue
        ck = spec["customer_key"]
        con.execute(
            f'UPDATE src."{name}" SET cid = k.rid FROM meta.customer_keys k '
            f'WHERE src."{name}"."{ck}" = k.customer_id AND {moved}'
        )
    con.execute(
        f"UPDATE ident.records SET cid = k.rid FROM meta.customer_keys k "
        f'WHERE ident.records."{key}" = k.customer_id AND {moved}'
    )
    con.execute("UPDATE meta.customer_keys SET cid = rid WHERE cid <> rid")
    con.execute(f'DROP TABLE IF EXISTS src."{master}"')
    for name in IDENT_OUTPUTS:
        con.execute(f"DELETE FROM ident.{name}")
    con.execute("DELETE FROM ident.state")
    con.execute("INSERT INTO ident.state VALUES (TRUE)")
    # the fingerprint of the pairs just deleted: left behind, resolve would "reuse" no pairs
    con.execute("DROP TABLE IF EXISTS ident.matched")
    left = con.execute(
        f"SELECT (SELECT count(*) FROM meta.customer_keys WHERE cid <> rid) + (SELECT count(*) "
        f'FROM ident.records r JOIN meta.customer_keys k ON k.customer_id = r."{key}" '
        "WHERE r.cid <> k.rid)"
    ).fetchone()
    if left is None or left[0]:
        raise SystemExit(f"identity reset left {left} records with another cid")
    con.execute("CHECKPOINT")
    con.close()


def restore(ws: Path, clean: Path) -> None:
    """Put the warehouse back to the reset copy."""
    wh = bench_run.warehouse(ws)
    Path(str(wh) + ".wal").unlink(missing_ok=True)
    shutil.copy(clean, wh)


# ------------------------------------------------------------------------- baseline


def baseline_config() -> dict[str, Any]:
    """The identity settings tagwise uses (its defaults; the demo's tagwise.toml sets none)."""
    from tagwise.settings import IdentitySettings

    s = IdentitySettings()
    return {
        "strong": list(s.strong),
        "caps": dict(s.max_records),
        "default_cap": s.default_max_records,
        "conflict": list(s.conflict_columns),
        "name_distance": getattr(s, "name_distance", 0),
    }


def _identifier_queries(sources: dict[str, Any], master: str) -> list[tuple[str, str]]:
    """(type, SQL of DISTINCT (rid, value)) per identity column: what tagwise collects."""
    queries = []
    for name, spec in sources.items():
        if not spec.get("identity") or not spec.get("customer_key"):
            continue
        relation = "ident.records" if name == master else f'src."{name}"'
        for column, kind in spec["identity"].items():
            typ = spec["columns"][column]["type"]
            value = (
                f'CAST("{column}" AS VARCHAR)'
                if typ in {"phone", "email"}
                else f"replace(trim(CAST(\"{column}\" AS VARCHAR)), ' ', '')"
            )
            queries.append(
                (
                    kind,
                    f'SELECT DISTINCT k.rid, s.v FROM (SELECT "{spec["customer_key"]}" AS key, '
                    f"{value} AS v FROM {relation}) s JOIN meta.customer_keys k "
                    "ON k.customer_id = s.key WHERE s.v IS NOT NULL AND s.v <> ''",
                )
            )
    return queries


def worker_baseline(db: Path, ws: Path, dest: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Read identifiers with DuckDB, then caps, conflicts and union-find in pure Python."""
    stages: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stages[name] = round(now - clock, 3)
        clock = now

    conflict_of, identifiers = _baseline_read(db, ws, config)
    lap("read")
    linking, capped = _baseline_groups(conflict_of, identifiers, config)
    lap("caps")
    cid = _union_find(conflict_of, linking)
    lap("union-find")
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"rid": pa.array(list(cid), pa.int32()), "cid": pa.array(list(cid.values()))})
    pq.write_table(table, dest)
    lap("write")
    return {
        "stages": stages,
        "records": len(cid),
        "identifiers": sum(len(rows) for _, rows in identifiers),
        "linking": len(linking),
        "capped": capped,
        "customers": len(set(cid.values())),
    }


Identifiers = list[tuple[str, list[tuple[int, str]]]]
"""(type, [(rid, value), …]) per identity column."""


def _baseline_read(
    db: Path, ws: Path, config: dict[str, Any]
) -> tuple[dict[int, tuple[Any, ...]], Identifiers]:
    """Records (rid → conflict column values, then the name without spaces when names are
    compared) and identifiers, as Python objects."""
    import duckdb

    sources = sources_yaml(ws)
    master, key = master_of(sources)
    con = duckdb.connect(str(db), read_only=True)
    cols = "".join(f', r."{c}"' for c in config["conflict"])
    name = (sources[master].get("match_on") or {}).get("name")
    config["compare_names"] = bool(name and config["name_distance"])
    if config["compare_names"]:
        cols += f""", replace(CAST(r."{name}" AS VARCHAR), ' ', '')"""
    records = con.execute(
        f"SELECT k.rid{cols} FROM ident.records r "
        f'JOIN meta.customer_keys k ON k.customer_id = r."{key}"'
    ).fetchall()
    identifiers = [
        (kind, con.execute(sql).fetchall()) for kind, sql in _identifier_queries(sources, master)
    ]
    con.close()
    return {row[0]: row[1:] for row in records}, identifiers


def _baseline_groups(
    conflict_of: dict[int, tuple[Any, ...]], identifiers: Identifiers, config: dict[str, Any]
) -> tuple[list[set[int]], int]:
    """The rid sets of usable shared values, and how many shared values are capped."""
    strong, caps, default_cap = set(config["strong"]), config["caps"], config["default_cap"]
    groups: dict[tuple[str, str], set[int]] = {}
    for kind, rows in identifiers:
        if kind not in strong:
            continue
        for rid, value in rows:
            if rid in conflict_of:
                groups.setdefault((kind, value), set()).add(rid)
    width = len(config["conflict"])
    distance = config["name_distance"] if config["compare_names"] else 0
    linking: list[set[int]] = []
    capped = 0
    for (kind, _value), rids in groups.items():
        if len(rids) < 2:
            continue
        if (
            len(rids) > caps.get(kind, default_cap)
            or any(len({conflict_of[r][i] for r in rids} - {None}) > 1 for i in range(width))
            or (distance and _names_differ([conflict_of[r][width] for r in rids], distance))
        ):
            capped += 1
        else:
            linking.append(rids)
    return linking, capped


def _names_differ(names: list[str | None], distance: int) -> bool:
    """Whether two of the (non-null) names are at least ``distance`` edits apart."""
    known = [n for n in names if n is not None]
    return any(_levenshtein(a, b) >= distance for i, a in enumerate(known) for b in known[i + 1 :])


def _levenshtein(a: str, b: str) -> int:
    """Edit distance in characters (insert, delete, substitute)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _union_find(records: dict[int, Any], linking: list[set[int]]) -> dict[int, int]:
    """rid → smallest rid of its component (dict-based union-find, path compression)."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while x != root:
            parent[x], x = root, parent[x]
        return root

    for rids in linking:
        it = iter(rids)
        first = find(next(it))
        for other in it:
            second = find(other)
            if first != second:
                first, second = min(first, second), max(first, second)
                parent[second] = first
    return {rid: find(rid) for rid in records}


# ------------------------------------------------------------------------- measured runs


def resolve(ws: Path, env: dict[str, str]) -> dict[str, Any]:
    args = [bench_run.tagwise_bin(), "-w", str(ws), "resolve", "--json"]
    result = bench_engines.measure(args, env)
    report = result.pop("report")
    return {**result, "report": report}


def baseline(clean: Path, ws: Path, dest: Path, config: dict[str, Any]) -> dict[str, Any]:
    dest.unlink(missing_ok=True)
    args = [sys.executable, str(Path(__file__).resolve()), "--worker", "baseline"]
    args += ["--db", str(clean), "--ws", str(ws), "--dest", str(dest)]
    args += ["--config", json.dumps(config)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = bench_engines.measure(args, env)
    report = result.pop("report")
    return {**result, **report}


def has_matching_setting() -> bool:
    from tagwise.settings import IdentitySettings

    return "matching" in IdentitySettings.model_fields


def uncommitted() -> list[str]:
    """Files under src/ that differ from the commit measured (other work in the tree)."""
    status = subprocess.run(
        ["git", "-C", str(HERE.parent), "status", "--porcelain", "src"],
        capture_output=True,
        text=True,
        check=False,
    )
    return [line[3:] for line in status.stdout.splitlines()]


def machine() -> dict[str, Any]:
    """Load average and the busiest other processes (what ran beside the benchmark)."""
    ps = subprocess.run(
        ["ps", "-eo", "pid,pcpu,rss,etime,args", "--sort=-pcpu", "--no-headers"],
        capture_output=True,
        text=True,
        check=False,
    )
    me = os.getpid()
    busy = []
    for line in ps.stdout.splitlines():
        pid, pcpu, rss, etime, cmd = line.split(None, 4)
        if int(pid) == me or float(pcpu) < 5:
            continue
        busy.append(
            {"pcpu": float(pcpu), "rss_mib": int(rss) // 1024, "etime": etime, "cmd": cmd[:160]}
        )
    return {"loadavg": [round(x, 2) for x in os.getloadavg()], "busy": busy[:8]}


# ------------------------------------------------------------------------- quality


def quality(ws: Path) -> dict[str, Any]:
    """Precision and recall of the resolved warehouse against the generator's truth."""
    import duckdb

    truth = ws / "data" / "_truth"
    _, key = master_of(sources_yaml(ws))
    con = duckdb.connect()
    con.execute(f"ATTACH '{bench_run.warehouse(ws)}' AS wh (READ_ONLY)")
    con.execute(
        "CREATE TEMP TABLE t AS SELECT k.customer_id, k.rid, k.cid, p.person_id AS person "
        f'FROM wh.ident.records r JOIN wh.meta.customer_keys k ON k.customer_id = r."{key}" '
        f"LEFT JOIN read_csv('{truth / 'persons.csv'}', all_varchar = true) p "
        "ON p.customer_id = k.customer_id"
    )
    records, without = con.execute("SELECT count(*), count(*) - count(person) FROM t").fetchone()
    con.execute("DELETE FROM t WHERE person IS NULL")
    pairs = con.execute(
        "WITH c AS (SELECT count(*) AS n FROM t GROUP BY cid), "
        "p AS (SELECT count(*) AS n FROM t GROUP BY person), "
        "b AS (SELECT count(*) AS n FROM t GROUP BY cid, person) "
        "SELECT (SELECT sum(n * (n - 1) // 2) FROM c), (SELECT sum(n * (n - 1) // 2) FROM p), "
        "(SELECT sum(n * (n - 1) // 2) FROM b)"
    ).fetchone()
    predicted, true, correct = (int(x or 0) for x in pairs)
    result: dict[str, Any] = {
        "records": int(records),
        "records_without_truth": int(without),
        "customers": _one(con, "SELECT count(DISTINCT cid) FROM t"),
        "persons": _one(con, "SELECT count(DISTINCT person) FROM t"),
        "pairs": {"predicted": predicted, "true": true, "correct": correct},
        "precision": round(correct / predicted, 5) if predicted else 1.0,
        "recall": round(correct / true, 5) if true else 1.0,
        "customers_mixing_persons": _one(con, _MIXING),
        "persons_split": _one(con, _SPLIT),
        "merged_customer_sizes": {
            str(n): int(c)
            for n, c in con.execute(
                "SELECT n, count(*) FROM (SELECT count(*) AS n FROM t GROUP BY cid) "
                "WHERE n > 1 GROUP BY n ORDER BY n"
            ).fetchall()
        },
        "person_sizes": {
            str(n): int(c)
            for n, c in con.execute(
                "SELECT n, count(*) FROM (SELECT count(*) AS n FROM t GROUP BY person) "
                "WHERE n > 1 GROUP BY n ORDER BY n"
            ).fetchall()
        },
        "capped": _capped(con, truth),
        "false_merges_by_link": _false_merges(con),
        "review": _one(con, "SELECT count(*) FROM wh.ident.review"),
        "review_same_person": _one(con, _REVIEW_SAME),
        "matches": _one(con, "SELECT count(*) FROM wh.ident.matches"),
    }
    if (truth / "duplicates.csv").exists():
        result["per_link"] = _per_link(con, truth)
        result["missed_by_identifier"] = _misses(con)
    con.close()
    return result


_MIXING = "SELECT count(*) FROM (SELECT cid FROM t GROUP BY cid HAVING count(DISTINCT person) > 1)"
_SPLIT = (
    "SELECT count(*) FROM (SELECT person FROM t GROUP BY person HAVING count(DISTINCT cid) > 1)"
)


_REVIEW_SAME = (
    "SELECT count(*) FROM wh.ident.review v JOIN t a ON a.rid = v.rid_l "
    "JOIN t b ON b.rid = v.rid_r WHERE a.person = b.person"
)


def _false_merges(con: Any) -> dict[str, int]:
    """Customers holding several persons, by what joined them: a probabilistic match among
    the links of their records (``ident.events`` reasons), or identifiers alone."""
    rows = con.execute(
        "WITH m AS (SELECT cid FROM t GROUP BY cid HAVING count(DISTINCT person) > 1) "
        "SELECT kind, count(*) FROM (SELECT CASE WHEN bool_or(e.reason LIKE '%match %') "
        "THEN 'match' ELSE 'identifier' END AS kind FROM m "
        "LEFT JOIN wh.ident.events e ON e.new_cid = m.cid GROUP BY m.cid) GROUP BY kind"
    ).fetchall()
    return {str(kind): int(n) for kind, n in rows}


def _one(con: Any, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0] or 0) if row else 0


def _per_link(con: Any, truth: Path) -> dict[str, Any]:
    """Share of the extra accounts placed with their person's first account, per link."""
    con.execute(
        "CREATE TEMP TABLE d AS SELECT d.link, d.name_typo, a.rid AS a, c.rid AS c, "
        "(a.cid = b.cid) AS placed, (a.cid = c.cid) AS with_linked "
        f"FROM read_csv('{truth / 'duplicates.csv'}', all_varchar = true) d "
        "JOIN t a ON a.customer_id = d.customer_id JOIN t b ON b.customer_id = d.first_customer_id "
        "JOIN t c ON c.customer_id = coalesce(d.linked_customer_id, d.first_customer_id)"
    )
    per: dict[str, Any] = {}
    for link, typo, n, placed, linked in con.execute(
        "SELECT link, name_typo, count(*), count(*) FILTER (WHERE placed), "
        "count(*) FILTER (WHERE with_linked) FROM d "
        "GROUP BY ROLLUP (link, name_typo) ORDER BY link NULLS LAST, name_typo NULLS FIRST"
    ).fetchall():
        name = "all" if link is None else link if typo is None else f"{link} (name_typo={typo})"
        per[name] = {
            "accounts": int(n),
            "placed": int(placed),
            "recall": round(placed / n, 5),
            "recall_with_linked": round(linked / n, 5),
        }
    return per


def _misses(con: Any) -> dict[str, Any]:
    """Why extra accounts were not placed with the account their identifier links them to:
    the two records hold no common value of that type in ``ident.identifiers``, or the
    value they share is capped."""
    rows = con.execute(
        "WITH m AS (SELECT link, a, c AS b FROM d WHERE NOT with_linked AND link <> 'fuzzy'), "
        "s AS (SELECT DISTINCT m.link, m.a, i.value FROM m "
        "JOIN wh.ident.identifiers i ON i.rid = m.a "
        "JOIN wh.ident.identifiers j ON j.rid = m.b AND j.type = i.type AND j.value = i.value "
        "WHERE i.type = CASE m.link WHEN 'unionid' THEN 'wechat_unionid' ELSE m.link END) "
        "SELECT m.link, count(*), count(DISTINCT s.a), "
        "count(DISTINCT s.a) FILTER (WHERE c.value IS NOT NULL) "
        "FROM m LEFT JOIN s ON s.a = m.a AND s.link = m.link "
        "LEFT JOIN wh.ident.capped c ON c.value = s.value GROUP BY m.link ORDER BY m.link"
    ).fetchall()
    return {
        link: {"missed": int(n), "share_identifier": int(shared), "identifier_capped": int(c)}
        for link, n, shared, c in rows
    }


def _capped(con: Any, truth: Path) -> dict[str, Any]:
    """Capped identifiers by type and reason; the truth's shared phones that were capped."""
    rows = con.execute(
        "SELECT type, CASE WHEN reason LIKE 'shared by%' THEN 'over cap' "
        "ELSE 'conflict on ' || regexp_extract(reason, 'disagree on (\\w+)', 1) END, "
        "count(*) FROM wh.ident.capped GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    out: dict[str, Any] = {
        "total": sum(int(r[2]) for r in rows),
        "by_type_reason": {f"{t} {r}": int(n) for t, r, n in rows},
    }
    shared = truth / "shared_identifiers.csv"
    if shared.exists():
        out["truth_shared"] = {
            kind: {"values": int(n), "capped": int(c), "multi_record": int(m)}
            for kind, n, c, m in con.execute(
                f"SELECT s.kind, count(*), count(c.value), count(*) FILTER (WHERE s.records > 1) "
                f"FROM read_csv('{shared}', all_varchar = true, "
                "types = {'records': 'BIGINT'}) s "
                "LEFT JOIN wh.ident.capped c ON c.type = s.type AND c.value = s.value "
                "GROUP BY s.kind ORDER BY s.kind"
            ).fetchall()
        }
    return out


def agreement(ws: Path, mapping: Path) -> dict[str, Any]:
    """Records whose customer differs between the baseline and the resolved warehouse."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{bench_run.warehouse(ws)}' AS wh (READ_ONLY)")
    row = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE b.cid IS DISTINCT FROM k.cid) "
        f"FROM '{mapping}' b LEFT JOIN wh.meta.customer_keys k ON k.rid = b.rid"
    ).fetchone()
    con.close()
    assert row is not None  # noqa: S101
    return {"records": int(row[0]), "differing": int(row[1])}


# ------------------------------------------------------------------------- summary


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def summarize_resolve(runs: list[dict[str, Any]]) -> dict[str, Any]:
    timings = {s: median([r["report"]["timings"].get(s, 0.0) for r in runs]) for s in STEPS}
    return {
        "seconds": median([r["seconds"] for r in runs]),
        "peak_mib": median([r["peak_mib"] for r in runs]),
        "resolve_seconds": median([r["report"]["seconds"] for r in runs]),
        "timings": timings,
        "changed": [r["report"]["changed"] for r in runs],
    }


def summarize(runs: dict[str, list[dict[str, Any]]], extra: dict[str, Any]) -> dict[str, Any]:
    approaches: dict[str, Any] = {}
    for name in ("resolve", "resolve_no_matching", "rerun"):
        if runs.get(name):
            approaches[name] = summarize_resolve(runs[name])
    base = runs["baseline"]
    approaches["baseline"] = {
        "seconds": median([r["seconds"] for r in base]),
        "peak_mib": median([r["peak_mib"] for r in base]),
        "stages": {s: median([r["stages"][s] for r in base]) for s in base[0]["stages"]},
    }
    deterministic = approaches.get("resolve_no_matching", approaches["resolve"])
    det_steps = round(sum(deterministic["timings"][s] for s in DETERMINISTIC_STEPS), 2)
    ratios = {
        "baseline_over_resolve": round(
            approaches["baseline"]["seconds"] / approaches["resolve"]["seconds"], 2
        ),
        "baseline_over_deterministic_resolve": round(
            approaches["baseline"]["seconds"] / deterministic["seconds"], 2
        ),
        "deterministic_steps_seconds": det_steps,
        "baseline_over_deterministic_steps": round(
            approaches["baseline"]["seconds"] / det_steps, 2
        ),
    }
    q = extra["quality"]
    goal = {
        "seconds": approaches["resolve"]["seconds"] < GOAL["seconds"],
        "precision": q["precision"] >= GOAL["precision"],
        "recall": q["recall"] >= GOAL["recall"],
    }
    return {"approaches": approaches, "ratios": ratios, "goal": goal, **extra}


def print_summary(s: dict[str, Any]) -> None:
    print(f"\nidentity resolution, {s['records']:,} records (code {s['code']})")
    for name, a in s["approaches"].items():
        line = f"  {name:20} {a['seconds']:7.2f} s  peak {a['peak_mib'] / 1024:5.2f} GiB"
        steps = a.get("timings") or a.get("stages")
        print(line + "  " + ", ".join(f"{k} {v}" for k, v in steps.items()))
    for label, q in (("", s["quality"]), (" (matching off)", s.get("quality_no_matching"))):
        if q:
            print(f"  precision {q['precision']}, recall {q['recall']}{label}")
            for link, p in q.get("per_link", {}).items():
                print(
                    f"    {link:28} {p['recall']:.4f} of {p['accounts']:,} "
                    f"(with the linked account {p['recall_with_linked']:.4f})"
                )
    print(f"  ratios {s['ratios']}")
    print(f"  goal met {s['goal']}")


# ------------------------------------------------------------------------- main


def bench(args: argparse.Namespace) -> None:
    ws, clean, prepared = prepare(args.out, args.customers, args.duplicates)
    config = baseline_config()
    if "[identity" in (ws / "tagwise.toml").read_text(encoding="utf-8"):
        print("warning: tagwise.toml sets identity options; the baseline uses the defaults")
    matching_setting = has_matching_setting()
    env = dict(os.environ)
    mapping = args.out / "baseline_mapping.parquet"
    runs: dict[str, list[dict[str, Any]]] = {
        "baseline": [],
        "resolve_no_matching": [],
        "resolve": [],
        "rerun": [],
    }
    conditions: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    for rep in range(args.repeat):
        last = rep == args.repeat - 1
        conditions.append(machine())
        runs["baseline"].append(baseline(clean, ws, mapping, config))
        if matching_setting:
            restore(ws, clean)
            runs["resolve_no_matching"].append(resolve(ws, {**env, **NO_MATCHING}))
            if last:
                extra["quality_no_matching"] = quality(ws)
                extra["baseline_agreement"] = agreement(ws, mapping)
        restore(ws, clean)
        runs["resolve"].append(resolve(ws, env))
        if runs["resolve"][-1]["report"].get("matching") == "reused":
            raise SystemExit("the reset warehouse reused earlier pairs: its reset is incomplete")
        if last:
            extra["quality"] = quality(ws)
            if not matching_setting:
                extra["baseline_agreement"] = agreement(ws, mapping)
        runs["rerun"].append(resolve(ws, env))
        line = ", ".join(f"{n} {r[-1]['seconds']:.1f} s" for n, r in runs.items() if r)
        print(f"rep {rep}: {line}", file=sys.stderr, flush=True)
    conditions.append(machine())
    extra.update(
        {
            "customers": args.customers,
            "duplicates": args.duplicates,
            "records": runs["resolve"][-1]["report"]["records"],
            "prepare": prepared,
            "matching_setting": matching_setting,
            "repeat": args.repeat,
            "conditions": conditions,
            "runs": runs,
            "measured_at": time.strftime("%Y-%m-%d %H:%M"),
            "code": bench_run.code_version(),
            "uncommitted_in_src": uncommitted(),
        }
    )
    summary = summarize(runs, extra)
    args.results.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    print_summary(summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--duplicates", type=float, default=0.10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "identity")
    parser.add_argument("--results", type=Path, default=HERE / "identity_results.json")
    parser.add_argument(
        "--quality-only",
        action="store_true",
        help="recompute the quality section of --results from the warehouse the last run "
        "resolved (no timing)",
    )
    parser.add_argument("--worker", choices=["baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ws", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dest", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker_baseline(args.db, args.ws, args.dest, json.loads(args.config))
        print(json.dumps(result))
        return
    if args.quality_only:
        requalify(args)
        return
    bench(args)


def requalify(args: argparse.Namespace) -> None:
    """Recompute ``quality`` in the results file from the resolved warehouse."""
    ws, _, _ = prepare(args.out, args.customers, args.duplicates)
    summary = json.loads(args.results.read_text())
    summary["quality"] = quality(ws)
    summary["quality_computed_at"] = time.strftime("%Y-%m-%d %H:%M")
    args.results.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    print_summary(summary)


if __name__ == "__main__":
    main()
