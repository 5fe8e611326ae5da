"""The bitmap columns and the index file: ranges of the bit-sliced index against numpy,
value bitmaps against sets, and a file that survives a round trip and is caught when torn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyroaring import BitMap

from tagwise.index import storage
from tagwise.index.bitmap import NumberColumn, SegmentIndex, Stamps, ValueColumn, bitmap_of

numbers = st.lists(
    st.one_of(st.none(), st.sampled_from([-3.5, -0.0, 0.0, 1.0, 2.0, 2.5, 7.0, 1e9])),
    min_size=0,
    max_size=60,
)
probes = st.sampled_from([-10.0, -3.5, -1.0, 0.0, 1.0, 1.5, 2.0, 2.5, 7.0, 8.0, 1e9, 2e9])


def number_column(values: list[float | None]) -> tuple[NumberColumn, np.ndarray, np.ndarray]:
    cids = np.arange(len(values), dtype=np.uint32) * 3 + 1  # sparse, not starting at 0
    arr = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return NumberColumn.build("x", "tag", "score", cids, arr), cids, arr


def where(cids: np.ndarray, mask: np.ndarray) -> BitMap:
    return BitMap(cids[mask].tolist())


@settings(max_examples=150, deadline=None)
@given(numbers, probes, probes)
def test_ranges_of_the_bit_sliced_index_equal_numpy(values, a, b) -> None:
    column, cids, arr = number_column(values)
    known = ~np.isnan(arr)
    with np.errstate(invalid="ignore"):
        assert column.compare("=", a) == where(cids, known & (arr == a))
        assert column.compare("!=", a) == where(cids, known & (arr != a))
        assert column.compare("<", a) == where(cids, known & (arr < a))
        assert column.compare("<=", a) == where(cids, known & (arr <= a))
        assert column.compare(">", a) == where(cids, known & (arr > a))
        assert column.compare(">=", a) == where(cids, known & (arr >= a))
        assert column.between(a, b) == where(cids, known & (arr >= a) & (arr <= b))
    assert column.present == where(cids, known)
    within = BitMap(cids[::3].tolist()) | BitMap([10**6])  # a restriction, partly outside
    with np.errstate(invalid="ignore"):
        assert column.compare("<=", a, within) == where(cids, known & (arr <= a)) & within
        assert column.compare("!=", a, within) == where(cids, known & (arr != a)) & within
        assert column.between(a, b, within) == (
            where(cids, known & (arr >= a) & (arr <= b)) & within
        )
    for cid, value in zip(cids.tolist(), values, strict=True):
        expected = None if value is None else value + 0.0
        assert column.number_of(cid) == expected
    decoded_cids, decoded = column.numbers()
    assert decoded_cids.tolist() == cids[known].tolist()
    assert decoded.tolist() == (arr[known] + 0.0).tolist()


@settings(max_examples=60, deadline=None)
@given(numbers, st.data())
def test_an_updated_number_column_equals_a_fresh_build(values, data) -> None:
    column, cids, arr = number_column(values)
    if not len(values):
        return
    picks = data.draw(st.lists(st.integers(0, len(values) - 1), unique=True))
    new = arr.copy()
    for i in picks:  # new numbers from the dictionary (or none)
        new[i] = data.draw(st.sampled_from([*column.keys.tolist(), np.nan]))
    touched = bitmap_of(cids[picks])
    column.remove(touched)
    assert column.update(cids[picks], new[picks])
    fresh = NumberColumn.build("x", "tag", "score", cids, new)
    for probe in (-1.0, 0.0, 2.0, 7.0):
        assert column.compare("<=", probe) == fresh.compare("<=", probe)
    assert column.present == fresh.present


def test_an_update_outside_the_dictionary_asks_for_a_rebuild() -> None:
    column, cids, _ = number_column([1.0, 2.0])
    column.remove(bitmap_of(cids[:1]))
    assert not column.update(cids[:1], np.array([3.0]))


def test_value_columns_add_and_remove_by_value() -> None:
    column = ValueColumn("city_tier", "tag", "enum")
    cids = np.array([5, 1, 9, 3], dtype=np.uint32)
    column.add(cids, np.array([0, 1, 0, -1]), ["一线", "新一线"])
    assert column.bitmaps == {"一线": BitMap([5, 9]), "新一线": BitMap([1])}
    column.remove(BitMap([1, 5]))
    assert column.bitmaps == {"一线": BitMap([9])}  # an emptied value is dropped
    many = [f"v{i}" for i in range(100)]  # above the masking limit: sorted codes
    column.add(np.arange(200, dtype=np.uint32), np.arange(200) % 100, many)
    assert column.bitmaps["v7"] == BitMap([7, 107])
    assert column.values_of(107) == ["v7"]


def sample_index() -> SegmentIndex:
    column, _, _ = number_column([1.0, None, 2.5, 2.5, -3.5])
    values = ValueColumn("rfm_segment", "tag", "enum", {"重要价值": BitMap([1, 4]), "x": BitMap()})
    return SegmentIndex(
        universe=BitMap(range(20)),
        columns={"x": column, "rfm_segment": values},
        stamps=Stamps(seq=7, seq_recorded_at="2026-11-01T00:00:00", customers="3:3:0"),
    )


def test_the_index_file_round_trips(tmp_path: Path) -> None:
    index = sample_index()
    storage.save(index, tmp_path)
    loaded = storage.load(tmp_path)
    assert loaded.equal(index)
    assert loaded.stamps == index.stamps
    assert [p.name for p in tmp_path.iterdir()] == [storage.FILE_NAME]  # no temporary left


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "missing"])
def test_a_damaged_index_file_is_caught(tmp_path: Path, damage: str) -> None:
    storage.save(sample_index(), tmp_path)
    path = tmp_path / storage.FILE_NAME
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        data[len(data) // 2] ^= 0x40
        path.write_bytes(bytes(data))
    elif damage == "garbage":
        path.write_bytes(b"not an index at all")
    else:
        path.unlink()
    with pytest.raises(storage.DamagedIndex):
        storage.load(tmp_path)


def test_the_file_is_about_pyroaring_serialized_size(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 5, 100_000)
    column = ValueColumn("t", "tag", "enum")
    column.add(np.arange(100_000, dtype=np.uint32), codes, ["a", "b", "c", "d", "e"])
    index = SegmentIndex(universe=BitMap(range(100_000)), columns={"t": column})
    path = storage.save(index, tmp_path)
    assert path.stat().st_size <= 1.1 * index.size()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(-50, 1050), st.floats(-50, 1050))
def test_ranges_over_many_numbers_equal_numpy(seed, a, b) -> None:
    """Many distinct numbers (skewed, many slices), then numbers moved by an update."""
    rng = np.random.default_rng(seed)
    arr = np.round(rng.lognormal(4, 1.2, 3000), 1)
    arr[rng.random(3000) < 0.1] = np.nan
    cids = np.arange(3000, dtype=np.uint32) * 2
    column = NumberColumn.build("spend", "feature", "number", cids, arr)
    assert len(column.slices) >= 9
    known = ~np.isnan(arr)
    with np.errstate(invalid="ignore"):
        assert column.between(a, b) == where(cids, known & (arr >= a) & (arr <= b))
        assert column.compare(">", a) == where(cids, known & (arr > a))
        assert column.compare("<=", b) == where(cids, known & (arr <= b))
        within = BitMap(cids[1::4].tolist())
        assert column.between(a, b, within) == (
            where(cids, known & (arr >= a) & (arr <= b)) & within
        )
    picks = rng.choice(3000, 300, replace=False)
    column.remove(bitmap_of(cids[picks]))
    new = arr.copy()
    new[picks] = rng.choice(column.keys, 300)
    assert column.update(cids[picks], new[picks])
    known = ~np.isnan(new)
    with np.errstate(invalid="ignore"):
        assert column.between(a, b) == where(cids, known & (new >= a) & (new <= b))
