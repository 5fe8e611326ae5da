"""The index follows the tag store's change feed: after any random sequence of runs and
edits, the index caught up from the file (incrementally) equals a fresh build and equals
the current values read without the index; stale, foreign and damaged files are caught up
or rebuilt, never wrong; a process killed while saving leaves a valid index."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyroaring import BitMap

from tagwise.identity.layout import layout as identity_layout
from tagwise.index import storage
from tagwise.index.bitmap import NumberColumn, SegmentIndex, ValueColumn
from tagwise.index.follow import Sources, build, open_index
from tagwise.index.profile import Profile
from tagwise.store.layout import upgrade
from tagwise.store.tags import LAYOUT, Edit, RunTag, TagStore, tag_ids
from tagwise.store.warehouse import Warehouse

TAGS = [
    RunTag("level", "enum", 1),
    RunTag("vip", "flag", 1),
    RunTag("likes", "multi", 1),
    RunTag("score", "score", 1),
]
KINDS = {t.code: t.kind for t in TAGS}
CUSTOMERS = range(1, 9)


def new_warehouse(path: Path) -> Warehouse:
    wh = Warehouse(path)
    upgrade(wh, [LAYOUT, identity_layout(lambda: None)])
    wh.con.executemany(
        "INSERT INTO meta.customer_keys VALUES (?, ?, now(), ?)",
        [(f"C{c:03d}", c, c) for c in CUSTOMERS],
    )
    return wh


def sources(wh: Warehouse) -> Sources:
    return Sources(TagStore(wh), wh, Profile(None, None, {}), ())


def run(wh: Warehouse, rows: list[tuple], *, run_id: int, day: date) -> None:
    ids = tag_ids(wh, list(KINDS), kinds=KINDS)
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE new_values "
        "(cid INTEGER, tag_id INTEGER, value VARCHAR, score DOUBLE)"
    )
    single: dict[tuple, tuple] = {}
    multi: set[tuple] = set()
    for cid, tag, value, score in rows:
        if KINDS[tag] == "multi":
            multi.add((cid, ids[tag], value, None))
        elif KINDS[tag] == "score":
            single[(cid, tag)] = (cid, ids[tag], None, score)
        elif KINDS[tag] == "flag":
            single[(cid, tag)] = (cid, ids[tag], "true", None)
        else:
            single[(cid, tag)] = (cid, ids[tag], value, None)
    chosen = sorted(set(single.values()) | multi, key=repr)
    if chosen:
        wh.con.executemany("INSERT INTO new_values VALUES (?, ?, ?, ?)", chosen)
    TagStore(wh).swap_run(new="new_values", tags=TAGS, run_id=run_id, as_of=day)


def expected(wh: Warehouse) -> dict[str, dict]:
    """The current values read without the index: tag → value → cids (score: number)."""
    out: dict[str, dict] = {}
    for v in TagStore(wh).current():
        key = v.score if KINDS.get(v.tag) == "score" else v.value
        if key is None:
            continue
        out.setdefault(v.tag, {}).setdefault(key, set()).add(v.cid)
    return out


def indexed(index: SegmentIndex) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for column in index.tags():
        if isinstance(column, ValueColumn):
            found = {v: set(bm) for v, bm in column.bitmaps.items() if bm}
        else:
            assert isinstance(column, NumberColumn)
            found = {}
            for rank, key in enumerate(column.keys.tolist()):
                members = set(column.rank_between(rank, rank))
                if members:
                    found[key] = members
        if found:
            out[column.name] = found
    return out


rows = st.lists(
    st.tuples(
        st.sampled_from(list(CUSTOMERS)),
        st.sampled_from(list(KINDS)),
        st.sampled_from(["a", "b", "中"]),
        st.sampled_from([1.0, 2.5, 7.0, 11.0]),
    ),
    max_size=30,
)
edits = st.lists(
    st.one_of(
        st.builds(
            lambda cid, tag, value: Edit(cid=cid, tag=tag, values=(value,)),
            st.sampled_from(list(CUSTOMERS)),
            st.sampled_from(["level", "vip"]),
            st.sampled_from(["a", "人工"]),
        ),
        st.builds(
            lambda cid, values: Edit(cid=cid, tag="likes", values=tuple(sorted(values))),
            st.sampled_from(list(CUSTOMERS)),
            st.sets(st.sampled_from(["a", "b", "z"]), min_size=1),
        ),
        st.builds(
            lambda cid, score: Edit(cid=cid, tag="score", score=score),
            st.sampled_from(list(CUSTOMERS)),
            st.sampled_from([2.5, 99.0]),  # 99.0: outside the dictionary, a column rebuild
        ),
        st.builds(
            lambda cid, tag: Edit(cid=cid, tag=tag, release=True),
            st.sampled_from(list(CUSTOMERS)),
            st.sampled_from(list(KINDS)),
        ),
    ),
    min_size=1,
    max_size=4,
)
steps = st.lists(
    st.one_of(st.tuples(st.just("run"), rows), st.tuples(st.just("edit"), edits)),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps, st.data())
def test_the_followed_index_equals_a_rebuild_after_any_runs_and_edits(
    tmp_path_factory, steps, data
) -> None:
    root = tmp_path_factory.mktemp("follow")
    wh = new_warehouse(root / "w.duckdb")
    folder = root / "index"
    day, run_id = date(2026, 1, 1), 0
    open_index(folder, sources(wh))  # the follower starts early, at an empty store
    for kind, payload in steps:
        if kind == "run":
            run_id += 1
            run(wh, payload, run_id=run_id, day=day)
            day += timedelta(days=7)
        else:
            TagStore(wh).apply(payload, source="manual", actor="t", kinds=KINDS)
        if data.draw(st.booleans(), label="follow now"):
            opened = open_index(folder, sources(wh))
            assert opened.how in {"caught up", "loaded"}
            assert indexed(opened.index) == expected(wh)
    opened = open_index(folder, sources(wh))
    assert opened.how in {"caught up", "loaded"}
    assert opened.index.stamps.seq == TagStore(wh).last_seq()
    assert indexed(opened.index) == expected(wh)
    assert opened.index.equal(build(sources(wh)))
    assert open_index(folder, sources(wh)).how == "loaded"  # nothing left to do
    wh.close()


def test_a_lock_that_expires_leaves_the_index_without_a_commit(tmp_path: Path) -> None:
    wh = new_warehouse(tmp_path / "w.duckdb")
    run(wh, [(1, "level", "a", None)], run_id=1, day=date(2026, 1, 1))
    soon = datetime.now() + timedelta(seconds=1)
    TagStore(wh).apply(
        [Edit(cid=1, tag="level", values=("人工",), expires_at=soon)], source="manual", actor="t"
    )
    first = open_index(tmp_path / "index", sources(wh)).index
    assert first.columns["level"].bitmaps == {"人工": BitMap([1])}  # type: ignore[union-attr]
    while datetime.now() <= soon:
        pass
    later = open_index(tmp_path / "index", sources(wh))
    assert later.how == "caught up"  # the clock passed the lock's expiry
    assert later.index.columns["level"].bitmaps == {"a": BitMap([1])}  # type: ignore[union-attr]


def test_new_customers_join_the_universe(tmp_path: Path) -> None:
    wh = new_warehouse(tmp_path / "w.duckdb")
    assert open_index(tmp_path / "i", sources(wh)).index.universe == BitMap(CUSTOMERS)
    wh.execute("INSERT INTO meta.customer_keys VALUES ('C100', 100, now(), 100)")
    opened = open_index(tmp_path / "i", sources(wh))
    assert opened.how == "caught up"
    assert opened.index.universe == BitMap([*CUSTOMERS, 100])


@pytest.mark.parametrize("damage", ["torn", "ahead", "foreign"])
def test_a_damaged_stale_or_foreign_index_is_rebuilt(tmp_path: Path, damage: str) -> None:
    wh = new_warehouse(tmp_path / "w.duckdb")
    run(wh, [(1, "level", "a", None), (2, "score", "", 2.5)], run_id=1, day=date(2026, 1, 1))
    folder = tmp_path / "index"
    open_index(folder, sources(wh))
    path = folder / storage.FILE_NAME
    if damage == "torn":
        path.write_bytes(path.read_bytes()[:-10])
    elif damage == "ahead":  # an index from a store that went further (a restored backup)
        index = storage.load(folder)
        index.stamps = replace(index.stamps, seq=99)
        storage.save(index, folder)
    else:  # the warehouse was recreated: commit 1 is another commit
        index = storage.load(folder)
        index.stamps = replace(index.stamps, seq_recorded_at="2000-01-01T00:00:00")
        index.columns["level"].bitmaps = {"b": BitMap([1])}  # type: ignore[union-attr]
        storage.save(index, folder)
    opened = open_index(folder, sources(wh))
    assert opened.how == "rebuilt"
    assert opened.reason
    assert indexed(opened.index) == expected(wh)


KILLER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from tagwise.index import follow, storage
    from tagwise.index.profile import Profile
    from tagwise.store.tags import Edit, TagStore
    from tagwise.store.warehouse import Warehouse

    wh = Warehouse(Path(sys.argv[1]))
    store = TagStore(wh)
    store.apply([Edit(cid=c, tag="level", values=("killed",)) for c in range(1, 9)],
                source="manual", actor="t")
    real = os.replace
    def die(src, dst):  # the temporary file is written and synced: die before the rename
        os._exit(9)
    os.replace = die
    follow.open_index(Path(sys.argv[2]), follow.Sources(store, wh, Profile(None, None, {}), ()))
    """
)


def test_a_process_killed_while_saving_leaves_a_valid_index(tmp_path: Path) -> None:
    wh = new_warehouse(tmp_path / "w.duckdb")
    run(wh, [(c, "level", "a", None) for c in CUSTOMERS], run_id=1, day=date(2026, 1, 1))
    folder = tmp_path / "index"
    before = open_index(folder, sources(wh)).index
    wh.close()
    done = subprocess.run(
        [sys.executable, "-c", KILLER, str(tmp_path / "w.duckdb"), str(folder)],
        check=False,
        capture_output=True,
    )
    assert done.returncode == 9, done.stderr
    assert storage.load(folder).equal(before)  # the old index, whole
    assert [p.name for p in folder.glob("*.partial")]  # what the killed save left behind
    wh = Warehouse(tmp_path / "w.duckdb")
    opened = open_index(folder, sources(wh))
    assert opened.how == "caught up"
    assert indexed(opened.index) == expected(wh)
    assert opened.index.columns["level"].bitmaps == {"killed": BitMap(CUSTOMERS)}  # type: ignore[union-attr]
    assert [p.name for p in folder.iterdir()] == [storage.FILE_NAME]  # the leftover is gone
    wh.close()
