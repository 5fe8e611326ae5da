"""Reading sources into the warehouse as raw relations with exact file/line lineage.

Each reader produces a *staged* relation holding ``_file``, ``_line`` and the source's raw
columns, plus the rows it could not read at all (malformed CSV lines, bad encoding, invalid
JSON), which go to the quarantine with their physical line number. Nothing read is
dropped: ``read = staged rows + structural rejects``.
"""

from __future__ import annotations

import codecs
import csv
import glob
import gzip
import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import pyarrow as pa

from tagwise.errors import EngineError, SourceError, did_you_mean
from tagwise.ingest.csvlines import records_of
from tagwise.spec.sources import SourceFormat, SourceSpec
from tagwise.store.sql import ident, lit
from tagwise.store.warehouse import Warehouse

__all__ = ["REJECTS_TABLE", "Staged", "resolve_files", "stage_source"]

STAGED_TABLE = "tw_staged"
REJECTS_TABLE = "tw_structural_rejects"
_DUCKDB_ENCODINGS = {"utf-8", "utf8", "utf-8-sig", "utf-16", "utf16", "latin-1", "latin1"}
_REJECT_REASONS = {
    "MISSING COLUMNS": "malformed line: too few columns",
    "TOO MANY COLUMNS": "malformed line: too many columns",
    "UNQUOTED VALUE": "malformed line: unterminated or misplaced quote",
    "INVALID ENCODING": "bad encoding: not valid UTF-8",
    "INVALID UNICODE": "bad encoding: not valid UTF-8",
    "LINE SIZE OVER MAXIMUM": "malformed line: longer than the maximum line size",
}


@dataclass(slots=True)
class Staged:
    """A source read into the warehouse, before validation."""

    relation: str
    """SQL relation with ``_file``, ``_line`` and the raw columns (by their names in the file)."""
    physical: dict[str, str]
    """Engine type of each raw column."""
    files: list[str]
    staged_rows: int = 0
    structural_rejects: int = 0

    @property
    def read(self) -> int:
        """Every record read, good or bad."""
        return self.staged_rows + self.structural_rejects


def resolve_files(spec: SourceSpec, data_dir: Path, root: Path) -> list[Path]:
    """The files a file source declares, in a stable order.

    Raises:
        SourceError: a pattern matches no file.
    """
    files: list[Path] = []
    for pattern in spec.paths:
        base = Path(pattern) if Path(pattern).is_absolute() else data_dir / pattern
        matches = sorted(Path(p) for p in glob.glob(str(base), recursive=True))
        matches = [m for m in matches if m.is_file()]
        if not matches:
            raise SourceError(
                f"source `{spec.name}`: no file matches `{pattern}`",
                hint=f"paths are relative to {_display(data_dir, root)}/; fix `path` in "
                "sources.yaml or put the file there",
            )
        files.extend(matches)
    return files


def stage_source(
    wh: Warehouse,
    spec: SourceSpec,
    *,
    data_dir: Path,
    root: Path,
) -> Staged:
    """Read a source into a temporary relation of raw values.

    Raises:
        SourceError: the source cannot be read at all.
    """
    _reset(wh)
    fmt = spec.resolved_format
    if fmt is None:
        raise SourceError(
            f"source `{spec.name}`: cannot tell the format of `{spec.paths[0]}`",
            hint="set `format:` to csv, parquet or jsonl in sources.yaml",
        )
    if fmt is SourceFormat.SQL:
        return _stage_sql(wh, spec)
    files = resolve_files(spec, data_dir, root)
    if fmt is SourceFormat.PARQUET:
        return _stage_parquet(wh, spec, files, root)
    staged = Staged(relation=STAGED_TABLE, physical={}, files=[_display(f, root) for f in files])
    for i, path in enumerate(files):
        if fmt is SourceFormat.CSV:
            _stage_csv_file(wh, spec, path, index=i, staged=staged, root=root)
        else:
            _stage_jsonl_file(wh, spec, path, index=i, staged=staged, root=root)
    staged.staged_rows = int(wh.scalar(f"SELECT count(*) FROM {STAGED_TABLE}"))  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
    staged.structural_rejects = int(wh.scalar(f"SELECT count(*) FROM {REJECTS_TABLE}"))  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
    return staged


def _reset(wh: Warehouse) -> None:
    kinds = wh.rows(
        "SELECT 'TABLE' FROM duckdb_tables() WHERE temporary AND table_name = ? UNION ALL "
        "SELECT 'VIEW' FROM duckdb_views() WHERE temporary AND view_name = ?",
        [STAGED_TABLE, STAGED_TABLE],
    )
    for (kind,) in kinds:
        wh.execute(f"DROP {kind} IF EXISTS {STAGED_TABLE}")
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE {REJECTS_TABLE} (_file VARCHAR, _line BIGINT, "
        "_column VARCHAR, _raw VARCHAR, _reason VARCHAR, _record VARCHAR)"
    )


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


# -- CSV ---------------------------------------------------------------------------------


def _stage_csv_file(
    wh: Warehouse, spec: SourceSpec, path: Path, *, index: int, staged: Staged, root: Path
) -> None:
    display = _display(path, root)
    header = _csv_header(path, spec)
    _check_columns(spec, header, display)
    readable, bad_lines = _utf8_copy(path, spec.encoding, root)
    raw = f"tw_raw_{index}"
    rejects = f"tw_rej_{index}"
    columns = "{" + ", ".join(f"{lit(h)}: 'VARCHAR'" for h in header) + "}"

    def read(file: Path) -> None:
        wh.execute(
            f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM read_csv({lit(str(file))}, "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            f"columns={columns}, header=true, auto_detect=false, delim={lit(spec.delimiter)}, "
            f"quote='\"', escape='\"', store_rejects=true, rejects_table={lit(rejects)}, "
            f"rejects_scan={lit(rejects + '_scan')}, max_line_size=10000000)"
        )

    try:
        read(readable)
    except EngineError as exc:
        if "invalid state" not in str(exc) or not _mixes_line_endings(readable):
            raise SourceError(
                f"source `{spec.name}`: `{display}` cannot be read as CSV: "
                f"{str(exc).removeprefix('warehouse query failed: ')}",
                hint="check the delimiter and quoting (`delimiter:` in sources.yaml)",
            ) from exc
        # DuckDB's reader takes one kind of line break per file: CRLF becomes LF, as the
        # standardization of values does anyway, and every line keeps its number
        readable = _lf_copy(readable, root)
        read(readable)
    relation = _numbered(wh, readable, raw, rejects, display=display, index=index)
    for line in bad_lines:
        wh.execute(
            f"INSERT INTO {REJECTS_TABLE} VALUES (?, ?, NULL, ?, ?, NULL)",  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            [display, line[0], line[1], f"bad encoding: not valid {spec.encoding}"],
        )
    keep = [spec.file_column(c) for c in spec.columns]
    select = ", ".join(ident(c) for c in keep)
    exclude = _bad_line_filter(bad_lines)
    _append(
        wh,
        f"SELECT {lit(display)} AS _file, _line, {select} FROM {relation} {exclude}",  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
    )
    staged.physical = dict.fromkeys(keep, "VARCHAR")
    wh.execute(f"DROP TABLE IF EXISTS {raw}")


def _csv_header(path: Path, spec: SourceSpec) -> list[str]:
    encoding = (
        "utf-8-sig"
        if spec.encoding.lower().replace("_", "-") in ("utf-8", "utf8")
        else (spec.encoding)
    )
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise SourceError(
            f"source `{spec.name}`: unknown encoding `{spec.encoding}`",
            hint="use utf-8, gb18030, gbk, big5, utf-16 or another Python codec name",
        ) from exc
    try:
        with _open_bytes(path) as fh:
            head = fh.read(1 << 16)
    except OSError as exc:
        raise SourceError(f"source `{spec.name}`: cannot read `{path}`: {exc}") from exc
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = first.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"source `{spec.name}`: the header of `{path.name}` is not {spec.encoding} text",
            hint="set `encoding:` of the source in sources.yaml (e.g. gb18030)",
        ) from exc
    row = next(csv.reader(io.StringIO(text), delimiter=spec.delimiter), [])
    names = [c.strip().lstrip("\ufeff") for c in row]
    if not names or not any(names):
        raise SourceError(f"source `{spec.name}`: `{path.name}` has no header line")
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise SourceError(
            f"source `{spec.name}`: `{path.name}` repeats the header column `{duplicated[0]}`"
        )
    return names


def _check_columns(spec: SourceSpec, found: list[str], display: str) -> None:
    for name in spec.columns:
        wanted = spec.file_column(name)
        if wanted not in found:
            close = did_you_mean(wanted, found, cutoff=0.5)
            hint = f"{close} " if close else ""
            raise SourceError(
                f"source `{spec.name}`: column `{wanted}` is missing from `{display}`",
                hint=f"{hint}the file has: {', '.join(found)}; set `from:` in sources.yaml",
            )


def _utf8_copy(path: Path, encoding: str, root: Path) -> tuple[Path, list[tuple[int, str]]]:
    """A UTF-8 version of a file in another encoding, and its undecodable lines.

    Lines that do not decode are kept in the copy (with U+FFFD) so line numbers stay
    exact; they are reported as rejects and excluded from the staged rows.
    """
    if encoding.lower().replace("_", "-") in _DUCKDB_ENCODINGS:
        return path, []
    tmp_dir = root / ".tagwise" / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    bad: list[tuple[int, str]] = []
    decoder = codecs.getdecoder(encoding)
    with (
        _open_bytes(path) as src,
        tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=tmp_dir, suffix=".csv", delete=False, newline=""
        ) as out,
    ):
        for number, line in enumerate(src, start=1):
            try:
                text = decoder(line)[0]
            except UnicodeDecodeError:
                text = line.decode(encoding, errors="replace")
                bad.append((number, line.hex()))
            out.write(text)
    return Path(out.name), bad


def _mixes_line_endings(path: Path) -> bool:
    """Whether a file has lines ending in CRLF and lines ending in LF alone."""
    crlf = lf = 0
    with _open_bytes(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 24), b""):
            pairs = chunk.count(b"\r\n")
            crlf, lf = crlf + pairs, lf + chunk.count(b"\n") - pairs
            if crlf and lf:
                return True
    return False


def _lf_copy(path: Path, root: Path) -> Path:
    """A copy of a file with CRLF line breaks written as LF (a CR at a chunk's end waits
    for the next chunk)."""
    tmp_dir = root / ".tagwise" / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with (
        _open_bytes(path) as src,
        tempfile.NamedTemporaryFile("wb", dir=tmp_dir, suffix=".csv", delete=False) as out,
    ):
        carry = b""
        for chunk in iter(lambda: src.read(1 << 24), b""):
            data = carry + chunk
            carry = data[-1:] if data.endswith(b"\r") else b""
            out.write(data[: len(data) - len(carry)].replace(b"\r\n", b"\n"))
        out.write(carry)
    return Path(out.name)


def _open_bytes(path: Path) -> IO[bytes]:
    """A file's bytes, gunzipped when it ends in .gz (DuckDB reads those directly too)."""
    if path.suffix.lower() == ".gz":
        return cast("IO[bytes]", gzip.open(path, "rb"))
    return path.open("rb")


def _numbered(
    wh: Warehouse, path: Path, raw: str, rejects: str, *, display: str, index: int
) -> str:
    """``raw`` with ``_line``, the physical line where each staged row starts; the rejected
    records go to the quarantine with theirs (see :mod:`tagwise.ingest.csvlines`)."""
    found = wh.rows(
        f"SELECT line, min(line_byte_position), any_value(error_type ORDER BY column_idx), "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"any_value(csv_line) FROM {rejects} GROUP BY line ORDER BY line"
    )
    wh.execute(f"DROP TABLE IF EXISTS {rejects}")
    wh.execute(f"DROP TABLE IF EXISTS {rejects + '_scan'}")
    rows = int(wh.scalar(f"SELECT count(*) FROM {raw}"))  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
    if _physical_lines(path) == rows + len(found) + 1:  # one line per record, none blank
        _quarantine_rejects(wh, display, [(int(r[0]), r[2], r[3]) for r in found])
        return _with_lines(wh, raw, [int(r[0]) for r in found], header_lines=1, index=index)
    records = records_of(lambda: _open_bytes(path))
    placed = records.placed([int(r[1]) for r in found])
    staged = records.staged_lines(placed)
    lines = [int(records.start_line[i]) for i in placed]
    _quarantine_rejects(wh, display, [(n, r[2], r[3]) for n, r in zip(lines, found, strict=True)])
    if len(staged) != rows:  # the reader split the file otherwise: number by lines alone
        blank = [int(n) for n in records.start_line[records.blank]]
        return _with_lines(wh, raw, sorted(set(lines) | set(blank)), header_lines=1, index=index)
    table_name = f"tw_lines_{index}"
    wh.execute(f"CREATE OR REPLACE TEMP TABLE {table_name} (k BIGINT, line BIGINT)")
    numbered = pa.table({"k": np.arange(1, len(staged) + 1, dtype=np.int64), "line": staged})
    with wh.registered("tw_staged_lines", numbered):
        wh.execute(f"INSERT INTO {table_name} SELECT k, line FROM tw_staged_lines")  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
    return (
        f"(SELECT r.*, l.line AS _line FROM {raw} r "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"JOIN {table_name} l ON l.k = r.rowid + 1)"
    )


def _quarantine_rejects(wh: Warehouse, display: str, found: list[tuple[int, Any, Any]]) -> None:
    """The records the CSV reader could not read, with their line and reason."""
    for line, error_type, csv_line in found:
        reason = _REJECT_REASONS.get(str(error_type), f"malformed line: {error_type}".lower())
        wh.execute(
            f"INSERT INTO {REJECTS_TABLE} VALUES (?, ?, NULL, ?, ?, NULL)",  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            [display, line, csv_line, reason],
        )


def _physical_lines(path: Path) -> int:
    """The number of lines of a file (a last line without a newline counts)."""
    newlines, last = 0, b""
    with _open_bytes(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 24), b""):
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    return newlines + (0 if last in (b"\n", b"") else 1)


def _with_lines(
    wh: Warehouse, raw: str, skipped: list[int], *, header_lines: int, index: int
) -> str:
    """A relation over ``raw`` adding ``_line``: the physical line of each staged row.

    Staged rows are numbered in file order (``rowid``); the k-th staged row sits on the
    k-th physical line that is neither a header nor a skipped (rejected or blank) line.
    """
    offsets = f"tw_skip_{index}"
    wh.execute(f"CREATE OR REPLACE TEMP TABLE {offsets} (a BIGINT, k BIGINT)")
    points: dict[int, int] = {}
    for j, line in enumerate(skipped, start=1):
        points[line - header_lines - j] = j
    if points:
        wh.con.executemany(f"INSERT INTO {offsets} VALUES (?, ?)", list(points.items()))  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
    return (
        f"(SELECT r.*, r.rowid + 1 + {header_lines} + coalesce(s.k, 0) AS _line "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"FROM {raw} r ASOF LEFT JOIN {offsets} s ON r.rowid + 1 > s.a)"
    )


def _bad_line_filter(bad_lines: list[tuple[int, str]]) -> str:
    if not bad_lines:
        return ""
    return "WHERE _line NOT IN (" + ", ".join(str(n) for n, _ in bad_lines) + ")"


def _append(wh: Warehouse, select: str) -> None:
    if _temp_exists(wh, STAGED_TABLE):
        wh.execute(f"INSERT INTO {STAGED_TABLE} BY NAME {select}")
    else:
        wh.execute(f"CREATE TEMP TABLE {STAGED_TABLE} AS {select}")


def _temp_exists(wh: Warehouse, name: str) -> bool:
    sql = "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?"
    return bool(wh.scalar(sql, [name]))


# -- JSON lines ----------------------------------------------------------------------------


def _stage_jsonl_file(
    wh: Warehouse, spec: SourceSpec, path: Path, *, index: int, staged: Staged, root: Path
) -> None:
    display = _display(path, root)
    readable, bad_lines = _utf8_copy(path, spec.encoding, root)
    lines = f"tw_lines_{index}"
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE {lines} AS SELECT row_number() OVER () AS _line, l "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"FROM read_csv({lit(str(readable))}, columns={{'l': 'VARCHAR'}}, header=false, "
        "auto_detect=false, delim=chr(31), quote='', escape='', max_line_size=10000000, "
        "parallel=false)"
    )
    for line in bad_lines:
        wh.execute(
            f"INSERT INTO {REJECTS_TABLE} VALUES (?, ?, NULL, ?, ?, NULL)",  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
            [display, line[0], line[1], f"bad encoding: not valid {spec.encoding}"],
        )
    exclude = _bad_line_filter(bad_lines).replace("WHERE", "AND")
    # json functions raise on invalid input, so they only ever see valid JSON (CASE guards)
    kind = "CASE WHEN json_valid(l) THEN json_type(l) END"
    wh.execute(
        f"INSERT INTO {REJECTS_TABLE} SELECT {lit(display)}, _line, NULL, l, "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        "CASE WHEN json_valid(l) THEN 'not a JSON object' ELSE 'bad json: not valid JSON' END, "
        f"NULL FROM {lines} WHERE trim(l) <> '' AND coalesce({kind}, '') <> 'OBJECT' {exclude}"
    )
    keep = [spec.file_column(c) for c in spec.columns]
    paths = "[" + ", ".join(lit("$." + _json_key(k)) for k in keep) + "]"
    values = ", ".join(f"_v[{i + 1}] AS {ident(k)}" for i, k in enumerate(keep))
    _append(
        wh,
        f"SELECT {lit(display)} AS _file, _line, {values} FROM (SELECT _line, "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"CASE WHEN {kind} = 'OBJECT' THEN json_extract_string(l, {paths}) END AS _v "
        f"FROM {lines} WHERE trim(l) <> '' AND {kind} = 'OBJECT' {exclude})",
    )
    staged.physical = dict.fromkeys(keep, "VARCHAR")
    wh.execute(f"DROP TABLE IF EXISTS {lines}")


def _json_key(key: str) -> str:
    """A JSON path step for a key, quoted so dots and spaces in keys are safe."""
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- Parquet -------------------------------------------------------------------------------


def _stage_parquet(wh: Warehouse, spec: SourceSpec, files: list[Path], root: Path) -> Staged:
    listing = "[" + ", ".join(lit(str(f)) for f in files) + "]"
    scan = f"read_parquet({listing}, filename=true, file_row_number=true, union_by_name=true)"
    try:
        described = dict(wh.columns(f"SELECT * FROM {scan}"))  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
    except EngineError as exc:
        raise SourceError(f"source `{spec.name}`: cannot read Parquet: {exc.message}") from exc
    found = [c for c in described if c not in ("filename", "file_row_number")]
    display = _display(files[0], root)
    _check_columns(spec, found, display)
    keep = [spec.file_column(c) for c in spec.columns]
    names = {str(f): _display(f, root) for f in files}
    file_expr = (
        "CASE filename "
        + " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in names.items())
        + " END"
    )
    select = ", ".join(ident(c) for c in keep)
    wh.execute(
        f"CREATE OR REPLACE TEMP VIEW {STAGED_TABLE} AS SELECT {file_expr} AS _file, "  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
        f"file_row_number + 1 AS _line, {select} FROM {scan}"
    )
    staged = Staged(
        relation=STAGED_TABLE,
        physical={c: described[c] for c in keep},
        files=list(names.values()),
    )
    staged.staged_rows = int(wh.scalar(f"SELECT count(*) FROM {scan}"))  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
    return staged


# -- SQL tables ----------------------------------------------------------------------------

_BATCH = 50_000


def _stage_sql(wh: Warehouse, spec: SourceSpec) -> Staged:
    """Stream a table or query of another database (any SQLAlchemy URL) into the warehouse.

    Values arrive as text and go through the same standardization as file sources.
    """
    import pyarrow as pa  # noqa: PLC0415
    import sqlalchemy as sa  # noqa: PLC0415
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

    keep = [spec.file_column(c) for c in spec.columns]
    label = spec.table or "query"
    try:
        engine = sa.create_engine(spec.url or "")
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise SourceError(f"source `{spec.name}`: cannot use url: {exc}") from exc
    schema = pa.schema(
        [("_file", pa.string()), ("_line", pa.int64())] + [(k, pa.string()) for k in keep]
    )
    wh.execute(
        f"CREATE TEMP TABLE {STAGED_TABLE} (_file VARCHAR, _line BIGINT, "
        + ", ".join(f"{ident(k)} VARCHAR" for k in keep)
        + ")"
    )
    line = 0
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True).execute(_sql_query(sa, spec))
            missing = [k for k in keep if k not in result.keys()]  # noqa: SIM118 (a Result, not a dict)
            if missing:
                raise SourceError(
                    f"source `{spec.name}`: column `{missing[0]}` is missing from `{label}`",
                    hint=f"it has: {', '.join(result.keys())}; set `from:` in sources.yaml",
                )
            for batch in _batches(result.mappings(), keep):
                lines = list(range(line + 1, line + 1 + len(batch[keep[0]])))
                line = lines[-1]
                arrays = [pa.array([label] * len(lines)), pa.array(lines, pa.int64())]
                arrays += [pa.array(batch[k], pa.string()) for k in keep]
                wh.con.register("tw_batch", pa.Table.from_arrays(arrays, schema=schema))
                wh.execute(f"INSERT INTO {STAGED_TABLE} SELECT * FROM tw_batch")  # noqa: S608 (names quoted by ident()/table()/lit(), fixed tables)
                wh.con.unregister("tw_batch")
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise SourceError(f"source `{spec.name}`: cannot read `{label}`: {first}") from exc
    finally:
        engine.dispose()
    return Staged(
        relation=STAGED_TABLE,
        physical=dict.fromkeys(keep, "VARCHAR"),
        files=[label],
        staged_rows=line,
    )


def _sql_query(sa: Any, spec: SourceSpec) -> Any:
    if spec.query:
        return sa.text(spec.query)
    schema, _, name = (spec.table or "").rpartition(".")
    return sa.select(sa.text("*")).select_from(sa.table(name, schema=schema or None))


def _batches(rows: Iterator[Any], keep: list[str]) -> Iterator[dict[str, list[str | None]]]:
    batch: dict[str, list[str | None]] = {k: [] for k in keep}
    for row in rows:
        for k in keep:
            batch[k].append(_as_text(row[k]))
        if len(batch[keep[0]]) >= _BATCH:
            yield batch
            batch = {k: [] for k in keep}
    if batch[keep[0]]:
        yield batch


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    return str(value)
