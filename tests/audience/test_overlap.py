"""Overlap counts and Jaccard similarity, against brute force over Python sets."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pyroaring import BitMap

from tagwise.audience.overlap import overlap

member_sets = st.dictionaries(
    st.text(min_size=1, max_size=6),
    st.sets(st.integers(0, 300), max_size=120),
    min_size=1,
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(sets=member_sets)
def test_overlap_equals_brute_force(sets) -> None:
    found = overlap({name: BitMap(members) for name, members in sets.items()})
    names = list(sets)
    assert list(found.names) == names
    assert list(found.sizes) == [len(sets[n]) for n in names]
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            both, either = sets[a] & sets[b], sets[a] | sets[b]
            assert found.shared[i][j] == len(both)
            if i == j:
                assert found.jaccard[i][j] == 1.0
            else:
                assert found.jaccard[i][j] == (len(both) / len(either) if either else 0.0)
