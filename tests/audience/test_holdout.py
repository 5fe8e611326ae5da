"""The holdout split: deterministic per customer id and seed, close to the asked share."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagwise.audience.holdout import control_mask, parse_share, positions
from tagwise.errors import ConfigError

MASK = (1 << 64) - 1


def reference_position(customer_id: str, seed: str) -> float:
    """The documented algorithm, one customer at a time in plain Python: FNV-1a 64 over
    seed, 0x1f, customer id (UTF-8), then splitmix64's finalizer, top 53 bits / 2**53."""
    h = 0xCBF29CE484222325
    for byte in seed.encode() + b"\x1f" + customer_id.encode():
        h = ((h ^ byte) * 0x100000001B3) & MASK
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & MASK
    h ^= h >> 31
    return (h >> 11) / float(1 << 53)


ids = st.lists(st.text(min_size=0, max_size=24), min_size=0, max_size=60)
seeds = st.text(max_size=12)


@settings(max_examples=200, deadline=None)
@given(ids=ids, seed=seeds)
def test_vectorised_positions_equal_the_reference_algorithm(ids, seed) -> None:
    got = positions(pa.array(ids, type=pa.string()), seed=seed)
    assert list(got) == [reference_position(i, seed) for i in ids]


@settings(max_examples=100, deadline=None)
@given(
    ids=st.lists(st.text(max_size=16), min_size=1, max_size=80, unique=True),
    seed=seeds,
    data=st.data(),
)
def test_a_customer_keeps_its_group_whatever_the_other_members(ids, seed, data) -> None:
    # another export (other members, other order, sliced arrays) puts everyone in the same group
    share = data.draw(st.floats(0.01, 0.99))
    whole = dict(zip(ids, control_mask(pa.array(ids), share=share, seed=seed), strict=True))
    subset = data.draw(st.permutations(ids)).copy()[: data.draw(st.integers(1, len(ids)))]
    sliced = pa.array(["padding", *subset, "more"]).slice(1, len(subset))
    again = control_mask(sliced, share=share, seed=seed)
    assert [whole[i] for i in subset] == list(again)


def test_a_larger_share_only_adds_customers_to_the_control_group() -> None:
    customers = pa.array([f"C{i:07d}" for i in range(5000)])
    small = control_mask(customers, share=0.05, seed="双11")
    large = control_mask(customers, share=0.2, seed="双11")
    assert (small & ~large).sum() == 0
    assert large.sum() > small.sum()


def test_another_seed_gives_another_split() -> None:
    customers = pa.array([f"C{i:07d}" for i in range(2000)])
    first = control_mask(customers, share=0.5, seed="a")
    second = control_mask(customers, share=0.5, seed="b")
    assert 0.3 < (first != second).mean() < 0.7  # independent halves disagree about half


@settings(max_examples=40, deadline=None)
@given(share=st.floats(0.01, 0.99), seed=seeds, prefix=st.sampled_from(["C", "会员", "u-"]))
def test_the_control_group_is_close_to_the_asked_share(share, seed, prefix) -> None:
    n = 20_000
    customers = pa.array([f"{prefix}{i:07d}" for i in range(n)])
    observed = control_mask(customers, share=share, seed=seed).mean()
    sigma = math.sqrt(share * (1 - share) / n)
    assert abs(observed - share) <= 5 * sigma + 1 / n


def test_chunked_arrays_and_nulls() -> None:
    chunked = pa.chunked_array([["a", "b"], ["c"]])
    assert list(positions(chunked, seed="s")) == [reference_position(x, "s") for x in "abc"]
    assert positions(pa.array([None], type=pa.string()), seed="s")[0] == reference_position("", "s")
    assert len(positions(pa.array([], type=pa.string()), seed="s")) == 0


@pytest.mark.parametrize(("text", "share"), [("10%", 0.1), ("0.25", 0.25), (" 5 % ", 0.05)])
def test_shares_parse(text: str, share: float) -> None:
    assert parse_share(text) == pytest.approx(share)


@pytest.mark.parametrize("text", ["0", "100%", "1.5", "ten", "-3%", ""])
def test_bad_shares_are_one_line_errors(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_share(text)
    assert info.value.hint == "write it as 10% or 0.1"
