"""The index on disk: one file, written atomically, checked on every load.

Layout of ``<index dir>/segments.twidx``::

    b"TWIDX1\\n"  |  header length (8 bytes, little-endian)  |  header (JSON, UTF-8)
    |  body: every bitmap's ``serialize()`` and every dictionary's float64 bytes, back to back
    |  CRC-32 of everything before it (4 bytes, little-endian)

The header lists the stamps and, per column, its kind and the (offset, length) of each
blob in the body. A save writes a temporary file beside the index, fsyncs it, renames it
over the old one and fsyncs the folder, so a process killed at any moment leaves either
the old index or the new one. A load that finds a wrong magic, a short file or a checksum
that does not match raises :class:`DamagedIndex`; :mod:`tagwise.index.follow` then
rebuilds the index from the stores.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from pyroaring import BitMap

from tagwise.index.bitmap import NumberColumn, SegmentIndex, Stamps, ValueColumn

__all__ = ["FILE_NAME", "FORMAT", "DamagedIndex", "load", "save"]

FILE_NAME = "segments.twidx"
FORMAT = 2
"""Version of the file layout; another version is rebuilt, not read (2: a bitmap per
number for number columns with few distinct numbers)."""

_MAGIC = b"TWIDX1\n"


class DamagedIndex(Exception):
    """The index file is missing, torn, of another format or fails its checksum."""


class _Body:
    """Collects blobs and hands out their (offset, length)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offset = 0

    def put(self, blob: bytes) -> list[int]:
        self.parts.append(blob)
        where = [self.offset, len(blob)]
        self.offset += len(blob)
        return where


def _encode(index: SegmentIndex) -> bytes:
    body = _Body()
    columns: list[dict[str, Any]] = []
    for column in index:
        entry: dict[str, Any] = {"name": column.name, "role": column.role, "kind": column.kind}
        if isinstance(column, ValueColumn):
            entry["type"] = "values"
            entry["values"] = [[v, body.put(bm.serialize())] for v, bm in column.bitmaps.items()]
        else:
            entry["type"] = "number"
            entry["keys"] = body.put(column.keys.astype("<f8").tobytes())
            entry["present"] = body.put(column.present.serialize())
            entry["slices"] = [body.put(bm.serialize()) for bm in column.slices]
            if column.by_rank is not None:
                entry["by_rank"] = [body.put(bm.serialize()) for bm in column.by_rank]
        columns.append(entry)
    header = {
        "format": FORMAT,
        "stamps": asdict(index.stamps),
        "universe": body.put(index.universe.serialize()),
        "columns": columns,
    }
    head = json.dumps(header, ensure_ascii=False).encode("utf-8")
    data = b"".join([_MAGIC, struct.pack("<Q", len(head)), head, *body.parts])
    return data + struct.pack("<I", zlib.crc32(data))


def save(index: SegmentIndex, folder: Path) -> Path:
    """Write the index atomically (temporary file, fsync, rename, fsync of the folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    _forget_partials(folder)
    path = folder / FILE_NAME
    partial = folder / f".{FILE_NAME}.{os.getpid()}.partial"
    data = _encode(index)
    try:
        with partial.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def _forget_partials(folder: Path) -> None:
    """Remove the temporary files of saves whose process died (killed before the rename)."""
    for leftover in folder.glob(f".{FILE_NAME}.*.partial"):
        pid = leftover.name.split(".")[-2]
        if pid.isdigit() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def load(folder: Path) -> SegmentIndex:
    """Read the index file.

    Raises:
        DamagedIndex: no file, a torn or foreign file, or a checksum that does not match.
    """
    try:
        data = (folder / FILE_NAME).read_bytes()
    except FileNotFoundError as exc:
        raise DamagedIndex("no index file") from exc
    if len(data) < len(_MAGIC) + 12 or not data.startswith(_MAGIC):
        raise DamagedIndex("not an index file")
    (crc,) = struct.unpack("<I", data[-4:])
    if zlib.crc32(memoryview(data)[:-4]) != crc:
        raise DamagedIndex("checksum mismatch")
    start = len(_MAGIC) + 8
    (length,) = struct.unpack("<Q", data[len(_MAGIC) : start])
    try:
        header = json.loads(data[start : start + length].decode("utf-8"))
        if header.get("format") != FORMAT:
            raise DamagedIndex("another format")
        return _decode(header, memoryview(data)[start + length : -4])
    except (KeyError, TypeError, ValueError) as exc:
        raise DamagedIndex(f"unreadable header: {exc}") from exc


def _decode(header: dict[str, Any], body: memoryview) -> SegmentIndex:
    def blob(where: list[int]) -> bytes:
        offset, length = where
        return bytes(body[offset : offset + length])

    def bitmap(where: list[int]) -> BitMap:
        return BitMap.deserialize(blob(where))

    stamps = header["stamps"]
    stamps["columns"] = tuple(stamps.get("columns", ()))
    index = SegmentIndex(universe=bitmap(header["universe"]), stamps=Stamps(**stamps))
    for entry in header["columns"]:
        name, role, kind = entry["name"], entry["role"], entry["kind"]
        if entry["type"] == "values":
            index.columns[name] = ValueColumn(
                name, role, kind, {v: bitmap(where) for v, where in entry["values"]}
            )
        else:
            index.columns[name] = NumberColumn(
                name,
                role,
                kind,
                np.frombuffer(blob(entry["keys"]), dtype="<f8").astype(np.float64),
                [bitmap(w) for w in entry["slices"]],
                bitmap(entry["present"]),
                [bitmap(w) for w in entry["by_rank"]] if "by_rank" in entry else None,
            )
    return index
