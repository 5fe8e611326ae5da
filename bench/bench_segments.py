"""Benchmark of the segment index (issue #14): counts with 2, 5 and 20 predicates on
roaring bitmaps, side by side in one run with DuckDB (wide and long tables) and
PostgreSQL (a wide table with indexes); the bit-sliced range; index size, load time,
following a 1% change against a full rebuild; profile lookup.

The data is synthetic and built vectorised with numpy: ``--customers`` customers (10M by
default), 40 enum tags of 5 values each (200 tag values; skewed shares, about 10% without
a value), a score tag with 100 distinct numbers and a spend feature with about 10^5
distinct numbers (both number columns of the bit-sliced index). Every engine answers the
same three expressions, compiled from the same Tagwise text (``lang.to_sql``) for the wide
tables, and written by hand for the long table; the counts must agree or the run stops.

    flock /work/bench.lock nice -n 5 python bench/bench_segments.py          # 10M
    python bench/bench_segments.py --customers 200000 --repeat 5 --no-pg      # a quick look
    python bench/bench_segments.py --workspace bench/out/seg100k --customers 100000 \
        --out bench/segments_follow_results.json     # follow vs rebuild on a demo workspace

Results go to ``bench/segments_results.json``; bench/README.md has the table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from pyroaring import BitMap

from tagwise.index import storage
from tagwise.index.bitmap import NumberColumn, SegmentIndex, ValueColumn, bitmap_of
from tagwise.index.evaluate import Evaluation
from tagwise.index.profile import Profile
from tagwise.lang import Column, Schema, Type, check_condition, parse, to_sql

HERE = Path(__file__).resolve().parent
TAGS = 40
VALUES = ["高", "中", "低", "无", "其他"]
SHARES = np.array([0.35, 0.25, 0.15, 0.10, 0.05])  # + 10% without a value
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"

SCHEMA = Schema(
    [
        *(Column(f"t{i:02d}", Type.STRING, "tag", "enum") for i in range(TAGS)),
        Column("score", Type.NUMBER, "tag", "score"),
        Column("spend", Type.NUMBER, "feature"),
    ]
)

Leaf = tuple[str, str]
"""(tag, condition on the long table's ``value``/``score``) for one predicate."""
Tree = Any
"""A long-table query tree: ``("and" | "or", [subtrees])`` or a :data:`Leaf`."""


def _v(tag: str, condition: str) -> Leaf:
    return (tag, condition)


EXPRESSIONS: dict[str, tuple[str, Tree]] = {
    # name: (Tagwise text, the same question over the long table: a tree of leaves that
    # become SELECT cid … WHERE tag = … AND <condition>, joined by INTERSECT (and) and UNION
    # (or); negations are pushed into the leaves, which three-valued logic allows here
    # because no `not` stands above an `or`/`and` that could turn a null into true)
    "2 predicates": (
        "t00 = '高' and t01 in ('中', '低')",
        ("and", [_v("t00", "value = '高'"), _v("t01", "value IN ('中', '低')")]),
    ),
    "5 predicates": (
        "t00 = '高' and (t01 in ('中', '低') or t02 = '高') and not (t03 = '无') and score >= 40",
        (
            "and",
            [
                _v("t00", "value = '高'"),
                ("or", [_v("t01", "value IN ('中', '低')"), _v("t02", "value = '高'")]),
                _v("t03", "value <> '无'"),
                _v("score", "score >= 40"),
            ],
        ),
    ),
    "20 predicates": (
        " and ".join(
            [
                "(t00 = '高' or t01 = '高' or t02 = '中')",
                "not (t03 in ('无', '其他'))",
                "(t04 != '低' or t05 = '中')",
                "t06 in ('高', '中', '低')",
                "(t07 = '高' or not (t08 = '高'))",
                "t09 != '其他'",
                "(t10 in ('高', '中') or t11 = '高' or t12 = '低')",
                "t13 != '无'",
                "(t14 = '高' or t15 = '中')",
                "spend between 50 and 20000",
                "score > 5",
            ]
        ),
        (
            "and",
            [
                (
                    "or",
                    [
                        _v("t00", "value = '高'"),
                        _v("t01", "value = '高'"),
                        _v("t02", "value = '中'"),
                    ],
                ),
                _v("t03", "value NOT IN ('无', '其他')"),
                ("or", [_v("t04", "value <> '低'"), _v("t05", "value = '中'")]),
                _v("t06", "value IN ('高', '中', '低')"),
                ("or", [_v("t07", "value = '高'"), _v("t08", "value <> '高'")]),
                _v("t09", "value <> '其他'"),
                (
                    "or",
                    [
                        _v("t10", "value IN ('高', '中')"),
                        _v("t11", "value = '高'"),
                        _v("t12", "value = '低'"),
                    ],
                ),
                _v("t13", "value <> '无'"),
                ("or", [_v("t14", "value = '高'"), _v("t15", "value = '中'")]),
                _v("spend", "score BETWEEN 50 AND 20000"),
                _v("score", "score > 5"),
            ],
        ),
    ),
}
RANGE = "spend between 5000 and 20000"
"""The numeric range on the bit-sliced index alone."""


# --------------------------------------------------------------------------- data


def make_data(customers: int, seed: int = 14) -> dict[str, np.ndarray]:
    """Codes per enum tag (-1: no value), the score and the spend (NaN: none)."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}
    edges = np.cumsum(SHARES)
    for i in range(TAGS):
        draw = rng.random(customers)
        codes = np.searchsorted(edges, draw, side="right").astype(np.int8)
        codes[codes >= len(VALUES)] = -1
        data[f"t{i:02d}"] = codes
    score = rng.integers(1, 101, customers).astype(np.float64)
    score[rng.random(customers) < 0.05] = np.nan
    spend = np.round(rng.lognormal(7, 1.5, customers), 0)
    spend[rng.random(customers) < 0.2] = np.nan
    data["score"], data["spend"] = score, spend
    return data


def build_index(data: dict[str, np.ndarray], customers: int) -> SegmentIndex:
    cids = np.arange(customers, dtype=np.uint32)
    universe = BitMap()
    universe.add_range(0, customers)
    index = SegmentIndex(universe=universe)
    for i in range(TAGS):
        name = f"t{i:02d}"
        column = ValueColumn(name, "tag", "enum")
        column.add(cids, data[name], VALUES)
        index.columns[name] = column
    index.columns["score"] = NumberColumn.build("score", "tag", "score", cids, data["score"])
    index.columns["spend"] = NumberColumn.build("spend", "feature", "number", cids, data["spend"])
    return index


def wide_table(data: dict[str, np.ndarray], customers: int) -> pa.Table:
    """The wide customer x tag table: enum tags as dictionary (ENUM in DuckDB)."""
    dictionary = pa.array(VALUES, pa.string())
    columns: dict[str, pa.Array] = {"cid": pa.array(np.arange(customers, dtype=np.int32))}
    for i in range(TAGS):
        codes = data[f"t{i:02d}"]
        indices = pa.array(codes, mask=codes < 0)
        columns[f"t{i:02d}"] = pa.DictionaryArray.from_arrays(indices, dictionary)
    columns["score"] = pa.array(data["score"], mask=np.isnan(data["score"]))
    columns["spend"] = pa.array(data["spend"], mask=np.isnan(data["spend"]))
    return pa.table(columns)


LONG_TABLE = (
    "CREATE TABLE long_values AS "
    + " UNION ALL ".join(
        f"SELECT cid, 't{i:02d}' AS tag, CAST(t{i:02d} AS VARCHAR) AS value, "
        f"CAST(NULL AS DOUBLE) AS score FROM wide WHERE t{i:02d} IS NOT NULL"
        for i in range(TAGS)
    )
    + " UNION ALL SELECT cid, 'score', NULL, score FROM wide WHERE score IS NOT NULL"
    + " UNION ALL SELECT cid, 'spend', NULL, spend FROM wide WHERE spend IS NOT NULL"
)
"""The long (cid, tag, value, score) table: one row per customer and tag with a value,
written tag by tag (insertion order is kept), so a tag's rows are one range of row groups
and the zonemaps skip the others."""


# --------------------------------------------------------------------------- timing


def check(holds: bool, what: object) -> None:
    """Stop the benchmark when engines disagree (a wrong count is no measurement)."""
    if not holds:
        raise SystemExit(f"engines disagree: {what}")


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def evaluation(index: SegmentIndex, text: str) -> Evaluation:
    typed = check_condition(parse(text), SCHEMA, source=text)
    return Evaluation(typed, index, profile=Profile(None, None, {}), wh=None, as_of=date.today())


def bitmap_count(index: SegmentIndex, text: str) -> int:
    """The whole in-process path: parse, check, bitmap algebra, count."""
    return len(evaluation(index, text).members())


def wide_sql(text: str, dialect: str, table: str) -> str:
    typed = check_condition(parse(text), SCHEMA, source=text)
    condition = to_sql(typed, as_of=date.today()).sql(dialect=dialect)
    return f"SELECT count(*) FROM {table} WHERE {condition}"


def long_query(tree: Tree) -> str:
    """The set of cids of a long-table tree (INTERSECT for and, UNION for or)."""
    if tree[0] in ("and", "or"):
        joiner = " INTERSECT " if tree[0] == "and" else " UNION "
        return "(" + joiner.join(long_query(t) for t in tree[1]) + ")"
    tag, condition = tree
    return f"(SELECT cid FROM long_values WHERE tag = '{tag}' AND {condition})"


def long_sql(tree: Tree) -> str:
    return f"SELECT count(*) FROM {long_query(tree)}"


# --------------------------------------------------------------------------- PostgreSQL


def pg_load(wide: pa.Table, folder: Path) -> Any:
    import psycopg  # optional: only with PostgreSQL

    csv = folder / "wide.csv"
    con = duckdb.connect()
    con.register("wide", wide)
    con.execute(f"COPY (SELECT * FROM wide) TO '{csv}' (HEADER false)")
    con.close()
    admin = psycopg.connect(PG_URL, autocommit=True)
    admin.execute("DROP DATABASE IF EXISTS tagwise_bench_segments")
    admin.execute("CREATE DATABASE tagwise_bench_segments")
    admin.close()
    pg = psycopg.connect(PG_URL.replace("/test", "/tagwise_bench_segments"), autocommit=True)
    columns = ", ".join(
        ["cid integer"] + [f"t{i:02d} text" for i in range(TAGS)] + ["score float8", "spend float8"]
    )
    pg.execute(f"CREATE TABLE wide ({columns})")
    started = time.perf_counter()
    with (
        pg.cursor() as cur,
        cur.copy("COPY wide FROM STDIN (FORMAT csv)") as copy,
        csv.open("rb") as fh,
    ):
        while chunk := fh.read(1 << 20):
            copy.write(chunk)
    loaded = time.perf_counter() - started
    used = [f"t{i:02d}" for i in range(16)] + ["score", "spend"]
    started = time.perf_counter()
    for name in used:
        pg.execute(f"CREATE INDEX ON wide ({name})")
    pg.execute("VACUUM ANALYZE wide")
    indexed = time.perf_counter() - started
    csv.unlink()
    return pg, {"load_s": loaded, "index_s": indexed, "indexed_columns": len(used)}


# --------------------------------------------------------------------------- main


def main() -> None:  # noqa: PLR0915 (one benchmark, step by step)
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=15, help="repetitions of the bitmaps")
    parser.add_argument("--baseline-repeat", type=int, default=3)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-long", action="store_true", help="skip the DuckDB long table")
    parser.add_argument("--out", type=Path, default=HERE / "segments_results.json")
    parser.add_argument(
        "--workspace",
        type=Path,
        help="instead: follow a 1%% edit on this demo workspace (built with --customers)",
    )
    args = parser.parse_args()
    if args.workspace is not None:
        found = follow_workspace(args.workspace, args.customers, max(args.baseline_repeat, 1))
        args.out.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(found, indent=2))
        return
    n, out = args.customers, {"customers": args.customers, "tag_values": TAGS * len(VALUES)}
    print(f"data: {n:,} customers", flush=True)
    data = make_data(n)

    seconds, index = timed(lambda: build_index(data, n), 1)
    out["build_s"] = seconds
    print(f"index built in {seconds:.2f} s", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        path = storage.save(index, folder)
        out["save_s"] = time.perf_counter() - started
        out["file_bytes"] = path.stat().st_size
        out["pyroaring_bytes"] = index.size()
        out["size_ratio"] = out["file_bytes"] / out["pyroaring_bytes"]
        out["load_s"], loaded = timed(lambda: storage.load(folder), 3)
        check(loaded.equal(index), "the loaded index differs from the saved one")
        print(
            f"file {out['file_bytes'] / 2**20:.1f} MiB, ratio {out['size_ratio']:.4f}, "
            f"load {out['load_s']:.3f} s",
            flush=True,
        )
        del loaded

    # counts: bitmaps first, then the baselines
    counts: dict[str, dict[str, Any]] = {}
    for name, (text, _) in EXPRESSIONS.items():
        p50, count = timed(lambda t=text: bitmap_count(index, t), args.repeat)
        ev = evaluation(index, text)
        eval_only, _ = timed(lambda e=ev: len(e.members()), args.repeat)
        counts[name] = {"count": count, "bitmap_s": p50, "bitmap_eval_only_s": eval_only}
        print(f"{name}: {count:,} customers, bitmaps p50 {p50 * 1000:.2f} ms", flush=True)
    p50, count = timed(lambda: bitmap_count(index, RANGE), args.repeat)
    out["range"] = {"expression": RANGE, "count": count, "bitmap_s": p50}
    print(f"range: {count:,}, p50 {p50 * 1000:.2f} ms", flush=True)

    wide = wide_table(data, n)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET memory_limit = '6GB'")  # a shared machine: spill rather than hog
    spill = tempfile.TemporaryDirectory(prefix="bench_segments_")  # not the current folder
    con.execute(f"SET temp_directory = '{spill.name}'")
    con.register("wide_arrow", wide)
    con.execute("CREATE TABLE wide AS SELECT * FROM wide_arrow")
    con.unregister("wide_arrow")
    del wide
    if not args.no_long:
        started = time.perf_counter()
        con.execute(LONG_TABLE)
        out["long_build_s"] = time.perf_counter() - started
        out["long_rows"] = con.execute("SELECT count(*) FROM long_values").fetchone()[0]  # type: ignore[index]
    for name, (text, tree) in EXPRESSIONS.items():
        sql = wide_sql(text, "duckdb", "wide")
        p50, (found,) = timed(lambda s=sql: con.execute(s).fetchone(), args.baseline_repeat)
        check(found == counts[name]["count"], (name, "duckdb wide", found))
        counts[name]["duckdb_wide_s"] = p50
        if not args.no_long:
            p50, (found,) = timed(
                lambda t=tree: con.execute(long_sql(t)).fetchone(), args.baseline_repeat
            )
            check(found == counts[name]["count"], (name, "duckdb long", found))
            counts[name]["duckdb_long_s"] = p50
        print(
            f"{name}: duckdb wide {counts[name]['duckdb_wide_s'] * 1000:.1f} ms, "
            f"long {counts[name].get('duckdb_long_s', float('nan')) * 1000:.1f} ms",
            flush=True,
        )
    sql = wide_sql(RANGE, "duckdb", "wide")
    out["range"]["duckdb_wide_s"], (found,) = timed(
        lambda: con.execute(sql).fetchone(), args.baseline_repeat
    )
    check(found == out["range"]["count"], ("range", found))

    if not args.no_pg:
        with tempfile.TemporaryDirectory() as tmp:
            con.complete()  # the last fetchone() left its result open (DuckDB 2.0)
            wide = con.sql("SELECT * FROM wide").to_arrow_table()
            pg, out["postgres_load"] = pg_load(wide, Path(tmp))
            del wide
        for name, (text, _) in EXPRESSIONS.items():
            sql = wide_sql(text, "postgres", "wide")
            p50, (found,) = timed(lambda s=sql: pg.execute(s).fetchone(), args.baseline_repeat)
            check(found == counts[name]["count"], (name, "postgres", found))
            counts[name]["postgres_s"] = p50
            print(f"{name}: postgres {p50 * 1000:.1f} ms", flush=True)
        sql = wide_sql(RANGE, "postgres", "wide")
        out["range"]["postgres_s"], (found,) = timed(
            lambda: pg.execute(sql).fetchone(), args.baseline_repeat
        )
        check(found == out["range"]["count"], ("range", found))
        pg.close()
    con.close()
    out["counts"] = counts

    # following 1% of the values changed vs a rebuild (the bits the follower moves)
    rng = np.random.default_rng(5)
    changed = rng.choice(n, size=max(n // 100, 1), replace=False).astype(np.uint32)
    changed.sort()
    touched = bitmap_of(changed)
    new_codes = {
        f"t{i:02d}": rng.integers(-1, len(VALUES), len(changed)).astype(np.int8)
        for i in range(TAGS)
    }

    def follow_one_percent() -> None:
        for name, codes in new_codes.items():
            column = index.columns[name]
            if not isinstance(column, ValueColumn):
                raise TypeError(name)
            column.remove(touched)
            column.add(changed, codes, VALUES)

    out["follow_1pct_s"], _ = timed(follow_one_percent, 3)
    out["follow_ratio"] = out["follow_1pct_s"] / out["build_s"]
    print(
        f"follow 1%: {out['follow_1pct_s']:.3f} s = {out['follow_ratio']:.2%} of a build",
        flush=True,
    )

    # profile lookup: one customer's tags from the bitmaps
    probes = rng.integers(0, n, 5000).tolist()
    lookups = []
    for cid in probes:
        started = time.perf_counter()
        index.profile(cid)
        lookups.append(time.perf_counter() - started)
    lookups.sort()
    out["profile_p50_s"] = lookups[len(lookups) // 2]
    out["profile_p99_s"] = lookups[int(len(lookups) * 0.99)]
    print(
        f"profile lookup p50 {out['profile_p50_s'] * 1e3:.3f} ms, "
        f"p99 {out['profile_p99_s'] * 1e3:.3f} ms",
        flush=True,
    )
    args.out.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2, ensure_ascii=False))


# --------------------------------------------------------------------------- a workspace


def follow_workspace(root: Path, customers: int, repeat: int) -> dict[str, Any]:
    """On a demo workspace: a full build from the tag store against catching up after an
    edit commit that changed 1% of the values (the whole path: the feed's pairs, their
    current values re-read, the bits moved, the file saved)."""
    import subprocess
    import sys

    import tagwise
    from tagwise.index.follow import build, catch_up, open_index
    from tagwise.store.tags import Edit

    if not (root / "tagwise.toml").exists():
        tool = Path(sys.executable).with_name("tagwise")
        subprocess.run(
            [str(tool), "demo", str(root), "--customers", str(customers), "--json"],
            check=True,
            capture_output=True,
        )
    out: dict[str, Any] = {"customers": customers, "rebuild_s": [], "follow_s": [], "pairs": []}
    rng = np.random.default_rng(3)
    with tagwise.open(root) as ws:
        segments = ws.segment_evaluator
        sources = segments._sources(segments.profile())
        open_index(segments.folder, sources)
        values = ws.tag_store.current_table()
        enum = pa.compute.equal(values.column("kind"), "enum")
        pool = values.filter(enum)
        out["values"] = values.num_rows
        for _ in range(repeat):
            started = time.perf_counter()
            build(sources)
            out["rebuild_s"].append(time.perf_counter() - started)
            picks = rng.choice(pool.num_rows, size=values.num_rows // 100, replace=False)
            rows = pool.take(pa.array(picks)).to_pylist()
            edits = [Edit(cid=r["cid"], tag=r["tag"], values=(f"{r['value']}·改",)) for r in rows]
            ws.tag_store.apply(edits, source="manual", actor="bench")
            index = storage.load(segments.folder)
            started = time.perf_counter()
            catch_up(index, sources)
            storage.save(index, segments.folder)
            out["follow_s"].append(time.perf_counter() - started)
            out["pairs"].append(len(edits))
    out["rebuild_median_s"] = statistics.median(out["rebuild_s"])
    out["follow_median_s"] = statistics.median(out["follow_s"])
    out["follow_ratio"] = out["follow_median_s"] / out["rebuild_median_s"]
    return out


if __name__ == "__main__":
    main()
