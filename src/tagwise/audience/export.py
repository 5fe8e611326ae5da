"""Member lists written to files: CSV (optionally with a UTF-8 BOM for Excel) or Parquet.

Every file is first written in full to a temporary file beside its destination, then all
of an export's files are renamed into place together, so an export that fails or is
interrupted (Ctrl-C) leaves no partial file and no changed one: the temporary files are
removed and the destinations keep what they held. The tables come in as Arrow and are
written by pyarrow's writers, never row by row in Python.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tagwise.errors import ConfigError, EngineError

__all__ = ["FORMATS", "MemberList", "control_path", "file_format", "write_lists"]

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
"""File suffix → format."""

_BOM = "\ufeff".encode()


@dataclass(frozen=True, slots=True)
class MemberList:
    """One file to write: where, and the rows (``customer_id`` first)."""

    path: Path
    table: pa.Table


def file_format(path: Path) -> str:
    """The format a destination's suffix asks for.

    Raises:
        ConfigError: an unknown suffix.
    """
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(
            f"cannot export to `{path.name}`: unknown file type `{path.suffix or '(none)'}`",
            hint="name the file FILE.csv or FILE.parquet",
        )
    return fmt


def control_path(path: Path) -> Path:
    """Where the control group of an export to ``path`` goes: ``FILE.control.csv``."""
    return path.with_name(f"{path.stem}.control{path.suffix}")


def write_lists(
    lists: Sequence[MemberList],
    *,
    bom: bool = False,
    before_rename: Callable[[], object] | None = None,
) -> None:
    """Write every list to its path, all or nothing.

    Args:
        lists: the files to write.
        bom: start CSV files with a UTF-8 BOM.
        before_rename: called once every file is written in full, before any rename (the
            export log); when it raises, nothing is renamed and the error goes on.

    Raises:
        ConfigError: a destination folder does not exist, or a file cannot be written.
    """
    for item in lists:
        file_format(item.path)
        if not item.path.parent.is_dir():
            raise ConfigError(
                f"cannot export to `{item.path}`: the folder `{item.path.parent}` does not exist",
                hint="create it first, or choose another --out",
            )
    temporaries: list[Path] = []
    try:
        for item in lists:
            temporaries.append(_temporary(item.path))
            _write(item, temporaries[-1], bom=bom)
        if before_rename is not None:
            before_rename()
        for item, tmp in zip(lists, temporaries, strict=True):
            tmp.replace(item.path)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the export: {exc.strerror or exc}",
            hint="check the folder's permissions and free space",
        ) from exc
    except pa.ArrowException as exc:
        raise EngineError(f"cannot write the export: {exc}") from exc
    finally:
        for tmp in temporaries:
            tmp.unlink(missing_ok=True)


def _temporary(path: Path) -> Path:
    """A fresh, empty file beside ``path`` (same folder, so the rename is atomic)."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        # mkstemp makes the file private (0600); an export gets the mode any new file of the
        # user gets (0644 under the usual umask 022), as `> file` would give it
        mask = os.umask(0)
        os.umask(mask)
        os.fchmod(fd, 0o666 & ~mask)
    finally:
        os.close(fd)
    return Path(name)


def _write(item: MemberList, tmp: Path, *, bom: bool) -> None:
    if file_format(item.path) == "parquet":
        # snappy (pyarrow's default) writes 1M ids in about half zstd's time; customer ids
        # are unique, so a dictionary would only cost (tag columns keep theirs)
        dictionary = [n for n in item.table.column_names if n != "customer_id"]
        pq.write_table(item.table, tmp, compression="snappy", use_dictionary=dictionary)
        return
    with tmp.open("wb") as handle:
        if bom:
            handle.write(_BOM)
        pacsv.write_csv(_csv_ready(item.table), handle)


def _csv_ready(table: pa.Table) -> pa.Table:
    """Lists (multi tags) as ``a|b`` text: CSV has no lists."""
    columns = [
        pc.binary_join(c, "|") if pa.types.is_list(c.type) or pa.types.is_large_list(c.type) else c
        for c in table.columns
    ]
    return pa.table(columns, names=table.column_names)
