"""How the demo files are written: CSV as exports look, JSON lines, and Parquet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

Progress: TypeAlias = Callable[[str, int], None]
"""Called as `progress(stage, rows_done)` while files are written."""
CHUNK = 20_000
"""Customers whose orders or events are generated and written at a time."""
ROW_GROUP = 1_000_000


def parquet_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """A Parquet writer whose files read back as plain strings, not dictionaries.

    Without the stored Arrow schema, dictionary columns read back as plain strings, while
    the file keeps them dictionary-encoded. Min/max statistics (for row-group pruning) are
    kept for ids and timestamps only: on small dictionaries they cost 40 % of write time.
    """
    strings = [f.name for f in schema if pa.types.is_dictionary(f.type)]
    return pq.ParquetWriter(
        path,
        schema,
        compression="zstd",
        compression_level=1,
        use_dictionary=strings,
        dictionary_pagesize_limit=4 << 20,
        store_schema=False,
        write_statistics=[f.name for f in schema if f.name not in strings] + ["customer_id"],
    )


def write_csv(table: pa.Table, path: Path) -> None:
    """Write `table` as UTF-8 CSV without quoting."""
    path.write_bytes(csv_bytes(table, quoting="none"))


def csv_bytes(table: pa.Table, *, quoting: str, header: bool = True) -> bytes:
    """CSV text as exports look: an unquoted header, values quoted only if `quoting` says."""
    sink = pa.BufferOutputStream()
    options = pacsv.WriteOptions(include_header=False, quoting_style=quoting)
    pacsv.write_csv(table, sink, options)
    head = (",".join(table.column_names) + "\n").encode() if header else b""
    body: bytes = sink.getvalue().to_pybytes()
    return head + body


def write_lines(lines: pa.Array, path: Path) -> None:
    """Write one string per line, joined by pyarrow without Python strings per row."""
    offsets = pa.array([0, len(lines)], type=pa.int64())
    rows = pa.LargeListArray.from_arrays(offsets, lines.cast(pa.large_string()))
    joined = pc.binary_join(rows, pa.scalar("\n", pa.large_string()))
    with path.open("wb") as f:
        f.write(joined[0].as_buffer())
        f.write(b"\n")
