"""Street addresses inside the customer's city, in the spellings people type them in.

An address is a district, a road, a house number and mostly a building, unit and room:
`朝阳区建国路88号3栋2单元502室`. The largest cities draw districts and roads from their own
vocabulary, the others from generic ones. People write the same address in several ways:
with spaces between its parts or around its numbers, in full-width digits, or without the
district.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa

from tagwise.demo import vocab
from tagwise.demo.arrays import IntArray, below, join, pick, texts
from tagwise.demo.identities import FUZZY, Links, respell

STYLES = ("canonical", "spaced", "full_width", "no_district", "spaced_numbers", "no_district_wide")
"""How an address is spelled; `address_styles` draws one per row."""
_STYLE_SHARES = np.array([0.72, 0.08, 0.04, 0.10, 0.05, 0.01])
_TAILS = np.array([0.55, 0.30, 0.15])
"""Shares of `栋…单元…室`, `号楼…室` and a bare house number."""
_NUMBERS, _BUILDINGS, _UNITS, _FLOORS, _DOORS = 299, 30, 6, 32, 4


@dataclass(frozen=True, slots=True)
class _Spelling:
    """Where one style puts spaces, and whether it keeps the district and ASCII digits."""

    part: str
    """Between the parts (district, road and number, building, unit, room)."""
    num: str
    """Around the numbers."""
    district: bool
    wide: bool

    def text(self, value: str) -> str:
        return value.translate(_WIDE) if self.wide else value


_WIDE = str.maketrans("0123456789", "０１２３４５６７８９")
_SPELLINGS = (
    _Spelling("", "", district=True, wide=False),
    _Spelling(" ", "", district=True, wide=False),
    _Spelling("", "", district=True, wide=True),
    _Spelling("", "", district=False, wide=False),
    _Spelling("", " ", district=True, wide=False),
    _Spelling("", "", district=False, wide=True),
)


@dataclass(frozen=True, slots=True)
class _Pieces:
    """Every spelling of every piece of an address, as vocabularies to take from.

    Index `style * size + value`, where `size` is the length of one style's vocabulary.
    """

    streets: pa.Array
    """District and road; values `street_start[city] + district * roads[city] + road`."""
    street_start: IntArray
    districts: IntArray
    roads: IntArray
    numbers: pa.Array
    """House number and 号; values `number - 1`."""
    blocks: pa.Array
    """Building and unit (`3栋2单元`) or building only (`5号楼`); the last value is empty."""
    rooms: pa.Array
    """Room (`502室`); the last value is empty."""


@cache
def _pieces() -> _Pieces:
    """Built once, from the vocabularies: a few ten thousand strings."""
    streets: list[str] = []
    numbers: list[str] = []
    blocks: list[str] = []
    rooms: list[str] = []
    generic = (vocab.GENERIC_DISTRICTS, vocab.GENERIC_ROADS)
    cities = [vocab.STREETS.get(city, generic) for city, *_ in vocab.CITIES]
    for sp in _SPELLINGS:
        gap, num, both = sp.part, sp.num, sp.part or sp.num
        for districts, roads in cities:
            streets += [(d + gap if sp.district else "") + r for d in districts for r in roads]
        numbers += [sp.text(f"{num}{i}{num}号") for i in range(1, _NUMBERS + 1)]
        blocks += [
            sp.text(f"{both}{b}{num}栋{both}{u}{num}单元")
            for b in range(1, _BUILDINGS + 1)
            for u in range(1, _UNITS + 1)
        ]
        blocks += [sp.text(f"{both}{b}{num}号楼") for b in range(1, _BUILDINGS + 1)] + [""]
        rooms += [
            sp.text(f"{both}{f}{d:02d}{num}室")
            for f in range(1, _FLOORS + 1)
            for d in range(1, _DOORS + 1)
        ] + [""]
    sizes = np.array([len(d) * len(r) for d, r in cities], dtype=np.int64)
    return _Pieces(
        streets=texts(streets),
        street_start=np.concatenate([[0], np.cumsum(sizes)[:-1]]),
        districts=np.array([len(d) for d, _ in cities], dtype=np.int64),
        roads=np.array([len(r) for _, r in cities], dtype=np.int64),
        numbers=texts(numbers),
        blocks=texts(blocks),
        rooms=texts(rooms),
    )


def address_styles(rng: np.random.Generator, links: Links) -> IntArray:
    """A spelling per row; a fuzzy extra account spells its address unlike the linked one."""
    style = pick(rng, _STYLE_SHARES, len(links.link))
    respell(rng, style, links, FUZZY, len(STYLES))
    return style


def street_addresses(
    rng: np.random.Generator, city: IntArray, source: IntArray, style: IntArray
) -> pa.Array:
    """The address of row `source[i]` (inside `city[source[i]]`) spelled in `style[i]`.

    Null where `source` is -1. Each piece is taken from a vocabulary of its spellings, so
    the rows cost four takes and one join.
    """
    n = len(city)
    p = _pieces()
    street = p.street_start[city] + below(rng, p.districts[city], n) * p.roads[city]
    street += below(rng, p.roads[city], n)
    number = below(rng, _NUMBERS, n)
    tail = pick(rng, _TAILS, n)
    building = below(rng, _BUILDINGS, n)
    unit = below(rng, _UNITS, n)
    room = below(rng, _FLOORS * _DOORS, n)
    at = np.maximum(source, 0)
    bare = tail[at] == 2
    block_size, room_size = len(p.blocks) // len(STYLES), len(p.rooms) // len(STYLES)
    block = np.where(
        tail[at] == 0,
        building[at] * _UNITS + unit[at],
        np.where(bare, block_size - 1, _BUILDINGS * _UNITS + building[at]),
    )
    return join(
        p.streets.take(pa.array(style * (len(p.streets) // len(STYLES)) + street[at])),
        p.numbers.take(pa.array(style * _NUMBERS + number[at], mask=source < 0)),
        p.blocks.take(pa.array(style * block_size + block)),
        p.rooms.take(pa.array(style * room_size + np.where(bare, room_size - 1, room[at]))),
    )
