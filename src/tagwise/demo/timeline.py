"""The demo's calendar: the history window, its shopping seasonality, and dates as text."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tagwise.demo.arrays import CELLS, STR, BoolArray, FloatArray, IntArray, join, pick

DEMO_AS_OF = date(2026, 11, 1)
"""The demo's "today": every timestamp lies before it."""

HISTORY_START = date(2023, 11, 1)
"""First day of the order and event history."""
HISTORY_DAYS = (DEMO_AS_OF - HISTORY_START).days
"""Length of the history; history days count from 0 at `HISTORY_START`."""
START_DAY = (HISTORY_START - date(1970, 1, 1)).days
"""`HISTORY_START` in days since 1970-01-01."""
DAY_S = 86_400
US = 1_000_000
"""Microseconds per second."""
_HOUR_WEIGHTS = np.array(
    [6, 3, 1.5, 1, 0.8, 1, 2, 5, 9, 11, 12, 12, 13, 11, 10, 10, 10, 11, 12, 14, 17, 19, 17, 11]
)


def _intensity() -> FloatArray:
    """Cumulative shopping intensity per history day, in years (length `HISTORY_DAYS` + 1).

    The daily weight grows over time and peaks at weekends, 618, 双11 and 双12, and dips
    over the Spring Festival; sampling days through it gives orders realistic seasonality.
    """
    days = np.datetime64(HISTORY_START.isoformat()) + np.arange(HISTORY_DAYS)
    months = days.astype("datetime64[M]")
    month = months.astype(np.int64) % 12 + 1
    dom = (days - months).astype(np.int64) + 1
    weekday = (days.astype(np.int64) + 3) % 7
    w = 1.0 + 0.3 * np.arange(HISTORY_DAYS) / HISTORY_DAYS
    w *= np.where(weekday >= 5, 1.15, 1.0)
    w *= np.where((month == 11) & (dom <= 11), 2.0, 1.0)
    w *= np.where((month == 11) & (dom == 11), 3.0, 1.0)
    w *= np.where((month == 6) & (dom <= 18), 1.5, 1.0)
    w *= np.where((month == 12) & (dom == 12), 1.8, 1.0)
    for festival in ("2024-02-10", "2025-01-29", "2026-02-17"):
        offset = (days - np.datetime64(festival)).astype(np.int64)
        w *= np.where((offset >= -2) & (offset <= 6), 0.5, 1.0)
    cumulative = np.concatenate([[0.0], np.cumsum(w)])
    years: FloatArray = cumulative * (HISTORY_DAYS / 365.25) / cumulative[-1]
    return years


INTENSITY = _intensity()
"""`INTENSITY[hi] - INTENSITY[lo]`: the shopping exposure between two history days, in years."""


def _day_grid() -> IntArray:
    """History day at each of `CELLS` equal steps of cumulative intensity."""
    targets = (np.arange(CELLS) + 0.5) / CELLS * INTENSITY[-1]
    days: IntArray = np.searchsorted(INTENSITY, targets, side="right").astype(np.int64) - 1
    return days


_DAY_GRID = _day_grid()


def days_between(rng: np.random.Generator, lo: IntArray, hi: IntArray) -> IntArray:
    """One history day per element, in [lo, hi), following the shopping intensity."""
    target = INTENSITY[lo] + rng.random(len(lo)) * (INTENSITY[hi] - INTENSITY[lo])
    day = _DAY_GRID[np.minimum(target * (CELLS / INTENSITY[-1]), CELLS - 1).astype(np.int64)]
    clipped: IntArray = np.clip(day, lo, np.maximum(hi - 1, lo))
    return clipped


def moments(rng: np.random.Generator, day: IntArray) -> IntArray:
    """Local timestamps in microseconds: the given days at a realistic time of day."""
    hour = pick(rng, _HOUR_WEIGHTS, len(day))
    within = rng.integers(0, 3600 * US, len(day))
    return ((START_DAY + day) * DAY_S + hour * 3600) * US + within


def timestamps(micros: IntArray) -> pa.Array:
    """Microsecond timestamps as an Arrow timestamp array."""
    return pa.array(micros.astype("datetime64[us]"), type=pa.timestamp("us"))


def iso_seconds(micros: IntArray) -> pa.Array:
    """`YYYY-MM-DD HH:MM:SS` strings (a cast is 30 times faster than `strftime`)."""
    seconds = pa.array((micros // US).astype("datetime64[s]"), type=pa.timestamp("s"))
    return pc.cast(seconds, STR)


def _date_parts(day: IntArray) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """`YYYY-MM-DD` text, and year, month and day without zero padding, of days since 1970."""
    d = day.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = months.astype(np.int64) % 12 + 1
    dd = (d - months).astype(np.int64) + 1
    iso = pc.cast(pa.array(d, type=pa.date32()), STR)
    return iso, *(pc.cast(pa.array(v), STR) for v in (y, m, dd))


def mixed_dates(rng: np.random.Generator, day: IntArray, empty: BoolArray) -> pa.Array:
    """Dates as `1990-01-05`, `1990/1/5`, `19900105` or `1990年1月5日`; null where empty."""
    iso, y, m, d = _date_parts(day)
    forms = (
        iso,
        join(y, "/", m, "/", d),
        pc.replace_substring(iso, "-", ""),
        join(y, "年", m, "月", d, "日"),
    )
    fmt = pick(rng, np.array([0.6, 0.15, 0.12, 0.13]), len(day))
    return pc.choose(pa.array(fmt, mask=empty), *forms)


def mixed_datetimes(rng: np.random.Generator, seconds: IntArray) -> pa.Array:
    """Datetimes as `2024-03-05 14:22:10`, `2024/3/5 14:22`, `2024年3月5日` or ISO."""
    _, y, m, d = _date_parts(seconds // DAY_S)
    iso = iso_seconds(seconds * US)
    forms = (
        iso,
        join(y, "/", m, "/", d, " ", pc.utf8_slice_codeunits(iso, 11, 16)),
        join(y, "年", m, "月", d, "日"),
        pc.replace_substring(iso, " ", "T"),
    )
    fmt = pick(rng, np.array([0.5, 0.2, 0.15, 0.15]), len(seconds))
    return pc.choose(pa.array(fmt), *forms)
