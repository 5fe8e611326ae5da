"""Tag value history: diff, change log, intervals and locked values, against a reference."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tagwise.store.history import RunTag, ensure_tables, swap_values, tag_ids
from tagwise.store.warehouse import Warehouse

TAGS = [
    RunTag("level", "enum", 1),
    RunTag("vip", "flag", 1),
    RunTag("likes", "multi", 2),
    RunTag("score", "score", 1),
]
KINDS = {t.code: t.kind for t in TAGS}


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
    wh.execute(
        "INSERT INTO tags.locks SELECT ?, tag_id, ?, NULL, 'manual', NULL, now(), ?, 'tester' "
        "FROM tags.defs WHERE tag = ?",
        [cid, value, expires, tag],
    )


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
