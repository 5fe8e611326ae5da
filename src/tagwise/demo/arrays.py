"""Random draws and string columns, built from small vocabularies without a loop per row.

Draws take 16-bit integers through lookup tables (`pick`, `chance`, `below`); strings come
from pyarrow compute kernels applied to vocabularies and numbers.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

IntArray: TypeAlias = npt.NDArray[np.int64]
FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

CELLS = 1 << 16
"""Cells of the lookup tables behind 16-bit draws."""
STR = pa.string()
DICT = pa.dictionary(pa.int32(), pa.string())
"""Type of dictionary-encoded string columns in the Parquet files."""


def weights(pairs: tuple[tuple[str, float], ...]) -> FloatArray:
    """The weights of `(name, weight)` pairs, normalised to sum to 1."""
    w: FloatArray = np.array([p[1] for p in pairs], dtype=np.float64)
    return w / float(w.sum())


def pick(rng: np.random.Generator, p: FloatArray, size: int) -> IntArray:
    """Indices drawn with relative weights `p`, to a resolution of 2**-16.

    A 16-bit draw looked up in an inverse-CDF table is ten times faster than `choice(p=…)`
    or `searchsorted` on uniform floats, and the rounding does not matter for demo data.
    """
    return _inverse_cdf(p)[rng.integers(0, CELLS, size, dtype=np.uint16)]


def _inverse_cdf(p: FloatArray) -> IntArray:
    cdf = np.cumsum(p) / np.sum(p)
    table = np.searchsorted(cdf, (np.arange(CELLS) + 0.5) / CELLS, side="right")
    return np.minimum(table, len(p) - 1).astype(np.int64)


def chance(rng: np.random.Generator, p: float | FloatArray, size: int) -> BoolArray:
    """True with probability `p` (per element if an array), to a resolution of 2**-16."""
    return rng.integers(0, CELLS, size, dtype=np.uint16) < np.multiply(p, CELLS)


def below(rng: np.random.Generator, bound: int | IntArray, size: int) -> IntArray:
    """Uniform integers in [0, bound) for small bounds, from 16-bit draws."""
    draw = rng.integers(0, CELLS, size, dtype=np.uint16).astype(np.int64)
    return (draw * bound) >> 16


def texts(values: tuple[str, ...] | list[str]) -> pa.Array:
    """A vocabulary as a string array, for `take` and `encoded`."""
    return pa.array(values, type=STR)


def take(values: pa.Array, idx: IntArray, mask: BoolArray | None = None) -> pa.Array:
    """`values[idx]` as a plain string array, null where `mask` is true."""
    return values.take(pa.array(idx, mask=mask))


def encoded(values: pa.Array, idx: IntArray, mask: BoolArray | None = None) -> pa.Array:
    """`values[idx]` as a dictionary array: cheap to build and to write to Parquet."""
    indices = pa.array(idx.astype(np.int32), mask=mask, type=pa.int32())
    return pa.DictionaryArray.from_arrays(indices, values)


def digits(numbers: IntArray, width: int) -> pa.Array:
    """Non-negative numbers below 10**width as zero-padded text."""
    return pc.utf8_slice_codeunits(pc.cast(pa.array(numbers + 10**width), STR), 1, width + 1)


def identifiers(prefix: str, numbers: IntArray, width: int) -> pa.Array:
    """`prefix` + zero-padded numbers; a leading 1 is cast along and then replaced."""
    return pc.utf8_replace_slice(pc.cast(pa.array(numbers + 10**width), STR), 0, 1, prefix)


def scramble(numbers: IntArray, modulus: int, salt: int = 0) -> IntArray:
    """A bijection of [0, modulus) for decimal moduli: unique, random-looking numbers."""
    return (numbers * 7_919_077 + 4_242_421 + salt) % modulus


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and constant strings."""
    return pc.binary_join_element_wise(*parts, "")


def full_width(values: pa.Array) -> pa.Array:
    """The strings with their ASCII digits in full-width form (`１２３`)."""
    for digit in "0123456789":
        values = pc.replace_substring(values, digit, chr(ord(digit) + 0xFEE0))
    return values


def replace(values: pa.Array, rows: IntArray, options: tuple[str, ...]) -> pa.Array:
    """Overwrite `values[rows]` with `options`, cycling through them."""
    mask = np.zeros(len(values), dtype=np.bool_)
    mask[rows] = True
    new = [options[i % len(options)] for i in range(len(rows))]
    # replace_with_mask consumes the replacements in row order.
    ordered = [new[i] for i in np.argsort(rows).tolist()]
    return pc.replace_with_mask(values, pa.array(mask), pa.array(ordered, type=STR))


def row_mask(n: int, rows: IntArray) -> BoolArray:
    """A mask of length `n`, true at `rows`."""
    mask = np.zeros(n, dtype=np.bool_)
    mask[rows] = True
    return mask
