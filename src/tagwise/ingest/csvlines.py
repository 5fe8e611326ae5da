"""Where each record of a CSV file starts: physical line numbers that quoted newlines keep.

DuckDB's CSV reader gives the staged rows in file order but no line of their own, and its
rejects table counts a record with a quoted newline as one line. When every record of a
file is one physical line and no line is blank (the usual case, found by counting newlines
alone), the k-th staged row sits on the k-th line that was not rejected and
:mod:`tagwise.ingest.sources` numbers rows with that rule. Otherwise this module reads the
file once, vectorised (numpy over 16 MB chunks): a newline ends a record when the number
of quote characters before it is even (RFC 4180: a doubled quote inside a quoted field
keeps the count even), so a newline inside a quoted field does not, and a blank record
is one whose bytes are only ``\\r``. Each record gets its start byte and start line; the
rejects are placed by the byte position DuckDB reports, and every other non-blank record
is a staged row, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

import numpy as np
import numpy.typing as npt

__all__ = ["Records", "records_of"]

_CHUNK = 1 << 24
_NEWLINE, _QUOTE, _CR = 10, 34, 13


@dataclass(frozen=True, slots=True)
class Records:
    """The records of a CSV file (the header is record 0)."""

    start_byte: npt.NDArray[np.int64]
    """Byte offset where each record starts."""
    start_line: npt.NDArray[np.int64]
    """Physical line (1-based) where each record starts."""
    blank: npt.NDArray[np.bool_]
    """Whether a record is an empty line (the CSV reader skips it)."""

    def placed(self, offsets: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """The record at each byte offset DuckDB reports for a reject: the record holding
        it or, when that is a blank line, the next record that is not (DuckDB counts the
        blank lines before a rejected record as part of it)."""
        found = np.searchsorted(self.start_byte, np.asarray(offsets, dtype=np.int64), "right") - 1
        filled = np.flatnonzero(~self.blank)
        if len(filled) == 0:
            return np.asarray(found, dtype=np.int64)
        after = np.minimum(np.searchsorted(filled, found), len(filled) - 1)
        return np.asarray(filled[after], dtype=np.int64)

    def staged_lines(self, rejected: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Start lines of the records the reader staged: neither the header, nor blank,
        nor one of ``rejected`` (record numbers), in file order."""
        keep = ~self.blank
        keep[0] = False
        keep[np.asarray(rejected, dtype=np.int64)] = False
        return self.start_line[keep]


def records_of(open_bytes: Callable[[], IO[bytes]], *, quote: int = _QUOTE) -> Records:
    """Split a file into records by its quote-aware record separators (see the module)."""
    ends: list[npt.NDArray[np.int64]] = []
    lines: list[npt.NDArray[np.int64]] = []
    blank_ends: list[npt.NDArray[np.bool_]] = []
    offset, newlines, odd, size = 0, 0, 0, 0
    previous_end = -1
    chunk_tail = b""
    with open_bytes() as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            data = np.frombuffer(chunk, dtype=np.uint8)
            at = np.flatnonzero(data == _NEWLINE)
            parity = (odd + np.cumsum(data == quote, dtype=np.int64)[at]) % 2 if len(at) else at
            separators = at[parity == 0]
            ordinal = newlines + np.flatnonzero(parity == 0) + 1  # the line each one ends
            absolute = separators.astype(np.int64) + offset
            starts = np.concatenate(([previous_end], absolute[:-1])) + 1
            length = absolute - starts
            # a blank record: nothing, or a lone \r, between two separators
            lone_cr = np.zeros(len(length), dtype=bool)
            one = np.flatnonzero(length == 1)
            if len(one):
                local = starts[one] - offset
                inside = local >= 0
                lone_cr[one[inside]] = data[local[inside]] == _CR
                lone_cr[one[~inside]] = _last_byte_cr(chunk_tail, one[~inside])
            ends.append(absolute)
            lines.append(ordinal.astype(np.int64))
            blank_ends.append((length == 0) | lone_cr)
            if len(absolute):
                previous_end = int(absolute[-1])
            odd = int((odd + np.count_nonzero(data == quote)) % 2)
            newlines += len(at)
            offset += len(chunk)
            chunk_tail = chunk[-1:]
            size = offset
    return _records(ends, lines, blank_ends, size=size)


def _last_byte_cr(tail: bytes, positions: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """A one-byte record that began in the previous chunk: its byte is that chunk's last."""
    return np.full(len(positions), tail == b"\r", dtype=bool)


def _records(
    ends: list[npt.NDArray[np.int64]],
    lines: list[npt.NDArray[np.int64]],
    blank_ends: list[npt.NDArray[np.bool_]],
    *,
    size: int,
) -> Records:
    end = np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64)
    line = np.concatenate(lines) if lines else np.zeros(0, dtype=np.int64)
    blank = np.concatenate(blank_ends) if blank_ends else np.zeros(0, dtype=bool)
    start_byte = np.concatenate(([0], end + 1))
    start_line = np.concatenate(([1], line + 1))
    # the record after the last separator exists only when bytes follow it
    last_blank = np.array([True])
    if len(start_byte) and start_byte[-1] < size:
        last_blank = np.array([False])
    is_blank = np.concatenate((blank, last_blank))
    if is_blank[-1] and (len(start_byte) == 0 or start_byte[-1] >= size):
        start_byte, start_line, is_blank = start_byte[:-1], start_line[:-1], is_blank[:-1]
    return Records(start_byte=start_byte, start_line=start_line, blank=is_blank)
