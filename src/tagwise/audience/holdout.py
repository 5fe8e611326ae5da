"""The holdout split: a deterministic hash of the customer id and a seed.

A customer's *position* is a number in [0, 1) that depends only on its ``customer_id``
and the seed: FNV-1a (64-bit) over the UTF-8 bytes of ``seed``, one separator byte 0x1f
and ``customer_id``, then the splitmix64 finalizer, whose top 53 bits divided by 2**53 give
the position. A customer is in the control group when its position is below the asked
share. So a customer stays in the same group across exports, runs and machines for one
seed, a larger share only adds customers to the control group, and over many customers
the control group's size is close to the share (positions are uniform).

The hash runs over whole Arrow string arrays in numpy: one vectorised step per byte
position of the longest id, never a Python loop over customers.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tagwise.errors import ConfigError

__all__ = ["control_mask", "parse_share", "positions"]

_OFFSET = 0xCBF29CE484222325
_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1
_SEPARATOR = b"\x1f"


def parse_share(text: str) -> float:
    """The share of a ``--holdout`` option: ``10%`` or ``0.1``, strictly between 0 and 1.

    Raises:
        ConfigError: not a share.
    """
    raw = text.strip()
    try:
        share = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError as exc:
        raise ConfigError(
            f"--holdout `{text}` is not a share", hint="write it as 10% or 0.1"
        ) from exc
    if not 0 < share < 1:
        raise ConfigError(
            f"--holdout `{text}` must be more than 0% and less than 100%",
            hint="write it as 10% or 0.1",
        )
    return share


def positions(customer_ids: pa.Array | pa.ChunkedArray, *, seed: str) -> np.ndarray:
    """Each customer's position in [0, 1) for ``seed`` (float64, same order)."""
    if isinstance(customer_ids, pa.ChunkedArray):
        customer_ids = customer_ids.combine_chunks()
    ids = pc.cast(customer_ids, pa.large_string()).fill_null("")
    n = len(ids)
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    offsets_buffer, data_buffer = ids.buffers()[1], ids.buffers()[2]
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[ids.offset : ids.offset + n + 1]
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)
        if data_buffer is not None and data_buffer.size
        else np.zeros(1, dtype=np.uint8)
    )
    starts, lengths = offsets[:-1], offsets[1:] - offsets[:-1]
    state = np.full(n, _seed_state(seed), dtype=np.uint64)
    prime = np.uint64(_PRIME)
    last = max(len(data) - 1, 0)
    for j in range(int(lengths.max(initial=0))):
        byte = data[np.minimum(starts + j, last)].astype(np.uint64)
        stepped = (state ^ byte) * prime
        state = np.where(lengths > j, stepped, state)
    return (_finalize(state) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def control_mask(
    customer_ids: pa.Array | pa.ChunkedArray, *, share: float, seed: str
) -> np.ndarray:
    """Which customers are in the control group (a boolean array, same order)."""
    return np.asarray(positions(customer_ids, seed=seed) < share, dtype=np.bool_)


def _seed_state(seed: str) -> int:
    """The FNV-1a state after the seed's bytes and the separator (computed once)."""
    state = _OFFSET
    for byte in seed.encode("utf-8") + _SEPARATOR:
        state = ((state ^ byte) * _PRIME) & _MASK
    return state


def _finalize(z: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: every input bit reaches every output bit."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    out: np.ndarray = np.bitwise_xor(z, z >> np.uint64(31))
    return out
