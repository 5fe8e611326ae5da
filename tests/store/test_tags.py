"""The tag store: diff, change log, intervals, locks and the change feed, against references."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tagwise.errors import Conflict
from tagwise.store.layout import upgrade
from tagwise.store.tags import LAYOUT, Change, Edit, RunTag, TagStore, tag_ids
from tagwise.store.warehouse import Warehouse

TAGS = [
    RunTag("level", "enum", 1),
    RunTag("vip", "flag", 1),
    RunTag("likes", "multi", 2),
    RunTag("score", "score", 1),
]
KINDS = {t.code: t.kind for t in TAGS}


def ensure_tables(wh: Warehouse) -> None:
    upgrade(wh, [LAYOUT])


def swap_values(wh: Warehouse, **kwargs):
    return TagStore(wh).swap_run(**kwargs)


@pytest.fixture
def wh(tmp_path: Path):
    warehouse = Warehouse(tmp_path / "w.duckdb")
    ensure_tables(warehouse)
    yield warehouse
    warehouse.close()


def load(wh: Warehouse, rows: list[tuple]) -> str:
    """A run's long form: (cid, tag_id, value, score), tags given by code."""
    ids = tag_ids(wh, list(KINDS), kinds=KINDS)
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE new_values "
        "(cid INTEGER, tag_id INTEGER, value VARCHAR, score DOUBLE)"
    )
    if rows:
        wh.con.executemany(
            "INSERT INTO new_values VALUES (?, ?, ?, ?)",
            [(cid, ids[tag], value, score) for cid, tag, value, score in rows],
        )
    return "new_values"


def current(wh: Warehouse) -> set[tuple]:
    return set(wh.rows("SELECT cid, tag, value, score FROM tags.current WHERE NOT locked"))


def at(wh: Warehouse, day: date) -> set[tuple]:
    return set(
        wh.rows(
            "SELECT cid, tag, value, score FROM tags.history WHERE valid_from <= ? "
            "AND (valid_to IS NULL OR valid_to > ?)",
            [day, day],
        )
    )


def test_first_run_adds_everything_and_second_run_only_changes(wh) -> None:
    first = [
        (1, "level", "高", None),
        (1, "likes", "运动", None),
        (1, "likes", "旅行", None),
        (2, "level", "低", None),
        (2, "score", None, 3.0),
    ]
    r1 = swap_values(wh, new=load(wh, first), tags=TAGS, run_id=1, as_of=date(2026, 1, 1))
    assert (r1.tag_values, r1.changes) == (5, 5)
    second = [
        (1, "level", "中", None),
        (1, "likes", "运动", None),
        (1, "likes", "美食", None),
        (2, "score", None, 4.0),
        (3, "vip", "true", None),
    ]
    r2 = swap_values(wh, new=load(wh, second), tags=TAGS, run_id=2, as_of=date(2026, 2, 1))
    assert current(wh) == set(second)
    changes = set(
        wh.rows(
            "SELECT cid, tag, old_value, new_value, old_score, new_score FROM tags.changes WHERE run_id = 2"
        )
    )
    assert changes == {
        (1, "level", "高", "中", None, None),
        (1, "likes", "旅行", None, None, None),
        (1, "likes", None, "美食", None, None),
        (2, "level", "低", None, None, None),
        (2, "score", None, None, 3.0, 4.0),
        (3, "vip", None, "true", None, None),
    }
    assert r2.changes == 6
    assert r2.per_tag["likes"] == (2, 2)
    assert at(wh, date(2026, 1, 15)) == set(first)
    assert at(wh, date(2026, 2, 1)) == set(second)
    assert at(wh, date(2025, 12, 31)) == set()
    # unchanged values keep the date they first appeared
    since = dict(wh.rows("SELECT value, valid_from FROM tags.current WHERE tag = 'likes'"))
    assert since == {"运动": datetime(2026, 1, 1), "美食": datetime(2026, 2, 1)}


def lock(wh: Warehouse, cid: int, tag: str, value: str, expires: datetime | None = None) -> None:
    edit = Edit(cid=cid, tag=tag, values=(value,), expires_at=expires)
    TagStore(wh).apply([edit], source="manual", actor="tester")


def test_locked_values_win_and_the_computed_value_is_the_shadow(wh) -> None:
    swap_values(
        wh,
        new=load(wh, [(1, "level", "高", None), (2, "level", "高", None)]),
        tags=TAGS,
        run_id=1,
        as_of=date(2026, 1, 1),
    )
    lock(wh, 1, "level", "人工")
    lock(wh, 2, "level", "过期", expires=datetime(2000, 1, 1))
    result = swap_values(
        wh,
        new=load(wh, [(1, "level", "低", None), (2, "level", "低", None)]),
        tags=TAGS,
        run_id=2,
        as_of=date(2026, 2, 1),
    )
    assert set(wh.rows("SELECT cid, value, locked, shadow_value, source FROM tags.current")) == {
        (1, "人工", True, "低", "manual"),
        (2, "低", False, None, "rule"),  # an expired lock no longer wins
    }
    # the change log records what the rule computed, for both customers
    assert result.changes == 2
    assert set(wh.rows("SELECT cid, old_value, new_value FROM tags.changes WHERE run_id = 2")) == {
        (1, "高", "低"),
        (2, "高", "低"),
    }


def test_retired_tags_end_and_leave_history(wh) -> None:
    swap_values(
        wh, new=load(wh, [(1, "vip", "true", None)]), tags=TAGS, run_id=1, as_of=date(2026, 1, 1)
    )
    swap_values(wh, new=load(wh, []), tags=[], run_id=2, as_of=date(2026, 3, 1), retire=["vip"])
    assert current(wh) == set()
    assert at(wh, date(2026, 2, 1)) == {(1, "vip", "true", None)}
    assert wh.scalar("SELECT count(*) FROM tags.changes WHERE run_id = 2") == 1


values = st.lists(
    st.tuples(
        st.integers(1, 6),
        st.sampled_from(list(KINDS)),
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from([None, 1.0, 2.0]),
    ),
    max_size=25,
)


def normalize(rows: list[tuple]) -> set[tuple]:
    """One value per single-valued tag (the last wins), several for multi; like a rule run."""
    single: dict[tuple, tuple] = {}
    multi: set[tuple] = set()
    for cid, tag, value, score in rows:
        if KINDS[tag] == "multi":
            multi.add((cid, tag, value, None))
        elif KINDS[tag] == "score":
            single[(cid, tag)] = (cid, tag, None, score if score is not None else 0.0)
        else:
            single[(cid, tag)] = (cid, tag, value, None)
    return set(single.values()) | multi


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(values, min_size=1, max_size=5))
def test_history_replays_every_run(tmp_path_factory, runs) -> None:
    wh = Warehouse(tmp_path_factory.mktemp("h") / "w.duckdb")
    ensure_tables(wh)
    day = date(2026, 1, 1)
    expected: list[tuple[date, set[tuple]]] = []
    previous: set[tuple] = set()
    for run_id, rows in enumerate(runs, start=1):
        state = normalize(rows)
        result = swap_values(
            wh, new=load(wh, sorted(state, key=repr)), tags=TAGS, run_id=run_id, as_of=day
        )
        assert current(wh) == state
        single_keys = lambda s: {(c, t) for c, t, _, _ in s if KINDS[t] != "multi"}  # noqa: E731
        single_changed = {
            k
            for k in single_keys(state) | single_keys(previous)
            if {r for r in state if r[:2] == k} != {r for r in previous if r[:2] == k}
        }
        multi_changed = {r for r in state ^ previous if KINDS[r[1]] == "multi"}
        assert result.changes == len(single_changed) + len(multi_changed)
        expected.append((day, state))
        previous = state
        day += timedelta(days=10)
    for when, state in expected:
        assert at(wh, when) == state
        assert at(wh, when + timedelta(days=5)) == state
    wh.close()


OLD_LAYOUT = """
CREATE SCHEMA tags;
CREATE TABLE tags.current (
    cid INTEGER NOT NULL, tag VARCHAR NOT NULL, value VARCHAR, score DOUBLE,
    source VARCHAR NOT NULL, confidence DOUBLE, version INTEGER, run_id BIGINT,
    valid_from TIMESTAMP NOT NULL, expires_at TIMESTAMP, locked BOOLEAN NOT NULL DEFAULT FALSE,
    shadow_value VARCHAR, shadow_score DOUBLE
);
CREATE TABLE tags.history (
    cid INTEGER NOT NULL, tag VARCHAR NOT NULL, value VARCHAR, score DOUBLE,
    source VARCHAR NOT NULL, version INTEGER, run_id BIGINT,
    valid_from TIMESTAMP NOT NULL, valid_to TIMESTAMP
);
CREATE TABLE tags.changes (
    run_id BIGINT, cid INTEGER NOT NULL, tag VARCHAR NOT NULL,
    old_value VARCHAR, new_value VARCHAR, old_score DOUBLE, new_score DOUBLE,
    source VARCHAR NOT NULL, version INTEGER, as_of DATE NOT NULL, changed_at TIMESTAMP NOT NULL
);
CREATE TABLE meta.runs (
    run_id BIGINT PRIMARY KEY, as_of DATE NOT NULL, committed_at TIMESTAMP NOT NULL,
    tags VARCHAR[] NOT NULL, tag_values BIGINT NOT NULL, changes BIGINT NOT NULL
);
INSERT INTO meta.runs VALUES
    (1, DATE '2026-01-01', TIMESTAMP '2026-01-01 08:00', ['level', 'likes'], 4, 4),
    (2, DATE '2026-02-01', TIMESTAMP '2026-02-01 08:00', ['level', 'likes'], 3, 2);
INSERT INTO tags.current VALUES
    (1, 'level', '中', NULL, 'rule', NULL, 1, 2, '2026-02-01', NULL, FALSE, NULL, NULL),
    (1, 'likes', '运动', NULL, 'rule', NULL, 1, 1, '2026-01-01', NULL, FALSE, NULL, NULL),
    (2, 'level', '人工', NULL, 'manual', NULL, NULL, NULL, '2026-01-15', NULL, TRUE, '低', NULL);
INSERT INTO tags.history VALUES
    (1, 'level', '高', NULL, 'rule', 1, 1, '2026-01-01', '2026-02-01'),
    (1, 'level', '中', NULL, 'rule', 1, 2, '2026-02-01', NULL),
    (1, 'likes', '运动', NULL, 'rule', 1, 1, '2026-01-01', NULL),
    (1, 'likes', '旅行', NULL, 'rule', 1, 1, '2026-01-01', '2026-02-01'),
    (2, 'level', '低', NULL, 'rule', 1, 1, '2026-01-01', NULL);
INSERT INTO tags.changes VALUES
    (1, 1, 'level', NULL, '高', NULL, NULL, 'rule', 1, '2026-01-01', '2026-01-01 08:00'),
    (1, 1, 'likes', NULL, '运动', NULL, NULL, 'rule', 1, '2026-01-01', '2026-01-01 08:00'),
    (1, 1, 'likes', NULL, '旅行', NULL, NULL, 'rule', 1, '2026-01-01', '2026-01-01 08:00'),
    (1, 2, 'level', NULL, '低', NULL, NULL, 'rule', 1, '2026-01-01', '2026-01-01 08:00'),
    (2, 1, 'level', '高', '中', NULL, NULL, 'rule', 1, '2026-02-01', '2026-02-01 08:00'),
    (2, 1, 'likes', '旅行', NULL, NULL, NULL, 'rule', 1, '2026-02-01', '2026-02-01 08:00');
"""


def test_a_warehouse_of_the_earlier_layout_is_upgraded_with_its_history(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "old.duckdb")
    wh.execute(OLD_LAYOUT)
    old_changes = set(
        wh.rows("SELECT run_id, cid, tag, old_value, new_value, as_of FROM tags.changes")
    )
    ensure_tables(wh)
    # every earlier answer survives: current values (the lock wins), time travel, changes
    assert set(wh.rows("SELECT cid, tag, value, locked, source FROM tags.current")) == {
        (1, "level", "中", False, "rule"),
        (1, "likes", "运动", False, "rule"),
        (2, "level", "人工", True, "manual"),
    }
    assert wh.scalar("SELECT shadow_value FROM tags.current WHERE cid = 2") == "低"
    assert at(wh, date(2026, 1, 15)) == {
        (1, "level", "高", None),
        (1, "likes", "运动", None),
        (1, "likes", "旅行", None),
        (2, "level", "低", None),
    }
    assert at(wh, date(2026, 2, 1)) == {
        (1, "level", "中", None),
        (1, "likes", "运动", None),
        (2, "level", "低", None),
    }
    new_changes = set(
        wh.rows("SELECT run_id, cid, tag, old_value, new_value, as_of FROM tags.changes")
    )
    assert new_changes == old_changes
    assert wh.scalar("SELECT kind FROM tags.defs WHERE tag = 'likes'") == "multi"
    # and the next run works on top of it
    result = swap_values(
        wh,
        new=load(
            wh, [(1, "level", "中", None), (1, "likes", "运动", None), (2, "level", "低", None)]
        ),
        tags=TAGS,
        run_id=3,
        as_of=date(2026, 3, 1),
    )
    assert result.changes == 0
    wh.close()


# --------------------------------------------------------------------------- history moves forward


def test_a_run_as_of_an_earlier_date_is_refused_and_changes_nothing(wh) -> None:
    store = TagStore(wh)
    level = [t for t in TAGS if t.code == "level"]
    swap_values(
        wh, new=load(wh, [(1, "level", "高", None)]), tags=level, run_id=1, as_of=date(2026, 3, 1)
    )
    before = (store.current(), store.history(), store.last_seq())
    with pytest.raises(Conflict) as err:
        swap_values(
            wh,
            new=load(wh, [(1, "level", "低", None)]),
            tags=TAGS,
            run_id=2,
            as_of=date(2026, 1, 1),
        )
    assert err.value.message == (
        "cannot run as of 2026-01-01: tag `level` already has values as of 2026-03-01, "
        "and history only moves forward"
    )
    assert "--as-of" in (err.value.hint or "")
    assert (store.current(), store.history(), store.last_seq()) == before
    # the same date again, or later, is a normal run
    swap_values(
        wh, new=load(wh, [(1, "level", "中", None)]), tags=level, run_id=3, as_of=date(2026, 3, 1)
    )
    assert [v.value for v in store.current(tag="level")] == ["中"]
    # a tag never computed has no watermark: an earlier date is fine for it alone
    only_vip = [t for t in TAGS if t.code == "vip"]
    swap_values(
        wh,
        new=load(wh, [(1, "vip", "true", None)]),
        tags=only_vip,
        run_id=4,
        as_of=date(2026, 1, 1),
    )
    assert all(i.valid_to is None or i.valid_to >= i.valid_from for i in store.history())


# --------------------------------------------------------------------------- the change feed


def replay(changes) -> set[tuple]:
    """The current values rebuilt from feed changes alone (independent of the store's SQL):
    per layer a map (cid, tag) → {value: score}; a lock, when present, wins."""
    layers: dict[str, dict[tuple, dict]] = {"computed": {}, "lock": {}}
    for c in changes:
        held = layers[c.layer].setdefault((c.cid, c.tag), {})
        if c.old_value is not None or c.old_score is not None:
            assert held.pop(c.old_value) == c.old_score, c
        if c.new_value is not None or c.new_score is not None:
            assert c.new_value not in held, c
            held[c.new_value] = c.new_score
    out = set()
    for key in layers["computed"].keys() | layers["lock"].keys():
        chosen = layers["lock"].get(key) or layers["computed"].get(key, {})
        out |= {(*key, value, score) for value, score in chosen.items()}
    return out


def effective(wh: Warehouse) -> set[tuple]:
    return {(v.cid, v.tag, v.value, v.score) for v in TagStore(wh).current()}


def feed(store: TagStore, after: int = 0, upto: int | None = None) -> list:
    return [
        change
        for commit in store.commits_since(after)
        if upto is None or commit.seq <= upto
        for change in store.commit_changes(commit)
    ]


edit_strategy = st.one_of(
    st.builds(
        lambda cid, tag, value: Edit(cid=cid, tag=tag, values=(value,)),
        st.integers(1, 6),
        st.sampled_from(["level", "vip"]),
        st.sampled_from(["a", "b", "人工"]),
    ),
    st.builds(
        lambda cid, values: Edit(cid=cid, tag="likes", values=tuple(sorted(values))),
        st.integers(1, 6),
        st.sets(st.sampled_from(["a", "b", "c"]), min_size=1),
    ),
    st.builds(
        lambda cid, score: Edit(cid=cid, tag="score", score=score),
        st.integers(1, 6),
        st.sampled_from([1.0, 5.0]),
    ),
    st.builds(
        lambda cid, tag: Edit(cid=cid, tag=tag, release=True),
        st.integers(1, 6),
        st.sampled_from(list(KINDS)),
    ),
)
step_strategy = st.one_of(
    st.tuples(st.just("run"), values),
    st.tuples(st.just("edit"), st.lists(edit_strategy, min_size=1, max_size=4)),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(step_strategy, min_size=1, max_size=6), st.data())
def test_the_feed_replayed_from_zero_equals_the_current_values(tmp_path_factory, steps, data):
    wh = Warehouse(tmp_path_factory.mktemp("f") / "w.duckdb")
    ensure_tables(wh)
    store = TagStore(wh)
    day, run_id = date(2026, 1, 1), 0
    seqs = [0]
    for kind, payload in steps:
        if kind == "run":
            run_id += 1
            rows = sorted(normalize(payload), key=repr)
            result = swap_values(wh, new=load(wh, rows), tags=TAGS, run_id=run_id, as_of=day)
            assert result.seq == store.last_seq()
            day += timedelta(days=7)
        else:
            commit = store.apply(payload, source="manual", actor="tester", kinds=KINDS)
            assert commit is None or commit.seq == store.last_seq()
        seqs.append(store.last_seq())
        # after every step: the feed from 0 rebuilds exactly the current values
        assert replay(feed(store)) == effective(wh)
    # sequence numbers only grow, one per commit
    assert [c.seq for c in store.commits_since(0)] == list(range(1, store.last_seq() + 1))
    # a follower that stopped after any commit and resumes sees every change exactly once
    cut = data.draw(st.sampled_from(seqs))
    assert feed(store, 0, cut) + feed(store, cut) == feed(store)
    # the Arrow form of each commit holds the same changes
    for commit in store.commits_since(0):
        table = store.commit_changes_table(commit)
        assert [Change(**row) for row in table.to_pylist()] == store.commit_changes(commit)
    assert replay(feed(store, 0, cut) + feed(store, cut)) == effective(wh)
    wh.close()


def test_edits_lock_release_and_expire_through_the_feed(wh) -> None:
    store = TagStore(wh)
    swap_values(
        wh,
        new=load(wh, [(1, "level", "高", None), (2, "likes", "a", None)]),
        tags=TAGS,
        run_id=1,
        as_of=date(2026, 1, 1),
    )
    first = store.apply(
        [
            Edit(cid=1, tag="level", values=("人工",)),
            Edit(cid=2, tag="likes", values=("a", "b")),
            Edit(cid=3, tag="vip", values=("true",), expires_at=datetime(2000, 1, 1)),
        ],
        source="manual",
        actor="alice@cli",
        reason="客户来电确认",
    )
    assert first is not None and first.kind == "edit" and first.actor == "alice@cli"
    assert {(c.cid, c.tag, c.old_value, c.new_value) for c in store.commit_changes(first)} == {
        (1, "level", None, "人工"),
        (2, "likes", None, "a"),
        (2, "likes", None, "b"),
        (3, "vip", None, "true"),
    }
    locked = {(v.cid, v.tag): v for v in store.current() if v.locked}
    assert locked[(1, "level")].shadow_value == "高"
    # the same decision again is no commit
    assert (
        store.apply([Edit(cid=1, tag="level", values=("人工",))], source="manual", actor="a")
        is None
    )
    # expiry releases the lock of customer 3 (its expiry has passed) as its own commit
    expired = store.expire()
    assert expired is not None and expired.source == "expiry"
    assert [(c.cid, c.old_value, c.new_value) for c in store.commit_changes(expired)] == [
        (3, "true", None)
    ]
    released = store.apply([Edit(cid=1, tag="level", release=True)], source="review", actor="bob")
    assert released is not None
    assert replay(feed(store)) == effective(wh)
    assert {(v.cid, v.tag, v.value) for v in store.current()} == {
        (1, "level", "高"),
        (2, "likes", "a"),
        (2, "likes", "b"),
    }
    # the change log of a customer has both layers, newest first
    layers = [(c.layer, c.new_value) for c in store.changes(cid=1)]
    assert layers == [("lock", None), ("lock", "人工"), ("computed", "高")]


def test_a_warehouse_of_layout_3_gets_a_feed_that_replays_to_its_values(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w3.duckdb")
    ensure_tables(wh)
    swap_values(
        wh, new=load(wh, [(1, "level", "高", None)]), tags=TAGS, run_id=1, as_of=date(2026, 1, 1)
    )
    swap_values(
        wh,
        new=load(wh, [(1, "level", "低", None), (2, "vip", "true", None)]),
        tags=TAGS,
        run_id=2,
        as_of=date(2026, 2, 1),
    )
    lock(wh, 2, "vip", "false")
    # back to layout 3: no feed tables, stamp 3
    wh.execute("DROP TABLE tags.commits")
    wh.execute("DROP TABLE tags.edits")
    wh.execute("UPDATE meta.layout SET version = 3 WHERE part = 'tags'")
    assert upgrade(wh, [LAYOUT]) == [("tags", 4), ("tags", 5)]
    store = TagStore(wh)
    commits = store.commits_since(0)
    assert [(c.kind, c.run_id) for c in commits] == [("run", 1), ("run", 2), ("edit", None)]
    assert (
        replay(feed(store))
        == effective(wh)
        == {(1, "level", "低", None), (2, "vip", "false", None)}
    )
    assert upgrade(wh, [LAYOUT]) == []
    wh.close()
