"""Frozen member lists: a segment's members under a label, recalled whatever tags do later.

A snapshot keeps the members' cids as a serialized roaring bitmap (``BitMap.serialize``)
and their customer ids as Parquet bytes in the same (cid) order, so a campaign's audience
is recalled exactly, also after later runs, and also its external ids should a customer be
merged into another later. Both are encoded and decoded in bulk.
"""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyroaring import BitMap

from tagwise.errors import CatalogError

__all__ = ["cid_array", "decode", "encode"]


def cid_array(members: BitMap) -> pa.Array:
    """The members' cids in ascending order as an Arrow ``uint32`` array (no Python list)."""
    return pa.array(np.frombuffer(members.to_array(), dtype=np.uint32), type=pa.uint32())


def encode(members: BitMap, customer_ids: pa.Array) -> tuple[bytes, bytes]:
    """The stored form of a member list: (bitmap bytes, customer ids as Parquet bytes)."""
    buffer = io.BytesIO()
    pq.write_table(pa.table({"customer_id": customer_ids}), buffer, compression="zstd")
    return members.serialize(), buffer.getvalue()


def decode(bitmap: bytes, customer_ids: bytes) -> tuple[BitMap, pa.Array]:
    """A stored member list back: the cids and their customer ids (aligned).

    Raises:
        CatalogError: the stored bytes are damaged.
    """
    try:
        members = BitMap.deserialize(bitmap)
        ids = pq.read_table(io.BytesIO(customer_ids)).column("customer_id").combine_chunks()
    except (ValueError, pa.ArrowException) as exc:
        raise CatalogError(f"a stored snapshot cannot be read: {exc}") from exc
    if len(ids) != len(members):
        raise CatalogError(
            f"a stored snapshot is damaged: {len(members)} cids but {len(ids)} customer ids"
        )
    return members, ids
