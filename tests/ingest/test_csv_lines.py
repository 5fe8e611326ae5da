"""Line numbers of CSV rows and rejects when quoted fields hold line breaks.

The oracle is Python's csv module: a record starts on the line after the one where the
previous record ended (``reader.line_num``).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tagwise
from tagwise.ingest import csvlines

SOURCES = (
    "sources:\n  visits:\n    path: v.csv\n    columns:\n      key: {type: string}\n"
    "      note: {type: string}\n      n: {type: integer, on_invalid: reject}\n"
)


def _start_lines(text: str) -> list[tuple[int, list[str]]]:
    """(start line, fields) of every record after the header, blank ones included."""
    reader = csv.reader(io.StringIO(text, newline=""))
    found, previous = [], 0
    for row in reader:
        found.append((previous + 1, row))
        previous = reader.line_num
    return found[1:]


def _ingest(tmp_path: Path, text: str) -> tuple[dict[str, int], set[tuple[int, str | None]]]:
    ws = tagwise.init(tmp_path / "ws")
    (ws.root / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (ws.data_dir / "v.csv").write_bytes(text.encode())
    ws.ingest()
    staged = dict(ws.warehouse.rows("SELECT key, _line FROM src.visits"))
    rejected = {
        (int(line), column)
        for line, column in ws.warehouse.rows(
            "SELECT line, \"column\" FROM meta.quarantine WHERE source = 'visits'"
        )
    }
    ws.close()
    return staged, rejected


def test_rows_after_a_quoted_line_break_keep_their_physical_lines(tmp_path: Path) -> None:
    text = (
        "key,note,n\n"
        'k1,"上海市\n浦东新区",1\n'  # lines 2-3
        "\n"  # 4: blank
        "k2,x,2,extra\n"  # 5: too many columns
        'k3,"a\r\n\r\nb",3\r\n'  # 6-8, a blank line inside the quotes
        "k4,y,not a number\n"  # 9: rejected by validation
        "k5,z,5\n"  # 10
    )
    oracle = {fields[0]: line for line, fields in _start_lines(text) if fields}
    staged, rejected = _ingest(tmp_path, text)
    assert staged == {k: oracle[k] for k in ("k1", "k3", "k5")} == {"k1": 2, "k3": 6, "k5": 10}
    assert rejected == {(oracle["k2"], None), (oracle["k4"], "n")} == {(5, None), (9, "n")}


_TOKENS = st.sampled_from(["a", "b", " ", "中", ",", '"', "\n", "\r\n"])
_FIELD = st.lists(_TOKENS, max_size=6).map("".join)
"""Field text; a line break is LF or CRLF (a lone CR is a line break to the csv module)."""


@st.composite
def _csv_text(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    """A CSV body of good records (notes with quotes, commas and line breaks), blank lines
    and records with a fourth column; the kind of each record by its key."""
    lines, kinds = ["key,note,n"], {}
    for i in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["good", "good", "good", "blank", "extra"]))
        if kind == "blank":
            lines.append("")
            continue
        key = f"k{i}"
        note = '"' + draw(_FIELD).replace('"', '""') + '"'
        row = f"{key},{note},{i}" + (",x" if kind == "extra" else "")
        lines.append(row)
        kinds[key] = kind
    return "\n".join(lines) + "\n", kinds


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=_csv_text())
def test_lines_equal_the_csv_modules_for_random_files(tmp_path_factory, case) -> None:
    text, kinds = case
    oracle = {fields[0]: line for line, fields in _start_lines(text) if fields}
    staged, rejected = _ingest(tmp_path_factory.mktemp("csv"), text)
    assert staged == {k: oracle[k] for k, kind in kinds.items() if kind == "good"}
    assert rejected == {(oracle[k], None) for k, kind in kinds.items() if kind == "extra"}


_PLAIN = st.lists(st.sampled_from(["a", "b", "中", " "]), max_size=3).map("".join)
_QUOTED = _FIELD.map(lambda f: '"' + f.replace('"', '""') + '"')
_RECORD = st.lists(st.one_of(_PLAIN, _QUOTED), min_size=1, max_size=3).map(",".join)
_BREAK = st.sampled_from(["\n", "\r\n"])


@given(
    records=st.lists(st.tuples(_RECORD, _BREAK), max_size=8),
    last=st.booleans(),
    chunk=st.integers(1, 9),
)
def test_records_split_as_the_csv_module_splits_them(records, last: bool, chunk: int) -> None:
    """Well-formed CSV (RFC 4180 quoting), blank records included (a record of one empty
    plain field), with or without a final line break, read in chunks of any size."""
    text = "".join(r + b for r, b in records)
    if records and not last:
        text = text.removesuffix(records[-1][1])
    data = text.encode()
    original = csvlines._CHUNK
    csvlines._CHUNK = chunk
    try:
        found = csvlines.records_of(lambda: io.BytesIO(data))
    finally:
        csvlines._CHUNK = original
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, blank, previous = [], [], 0
    for row in reader:
        starts.append(previous + 1)
        blank.append(row == [])
        previous = reader.line_num
    assert list(found.start_line) == starts
    assert list(found.blank) == blank
