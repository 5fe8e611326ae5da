"""Standardization macros, checked against independent Python references."""

from __future__ import annotations

import calendar
from datetime import date, datetime

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagwise.ingest.normalize import MACROS


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    connection.execute(MACROS)
    yield connection
    connection.close()


def call(con, macro: str, value: str | None, *extra: str):
    args = ", ".join(["?"] + ["?"] * len(extra))
    return con.execute(f"SELECT {macro}({args})", [value, *extra]).fetchone()[0]


CASES = [
    ("tw_text", "  ＡＢＣ　１２３  ", "ABC 123"),
    ("tw_text", "a\t\n b", "a b"),
    ("tw_text", "   ", None),
    ("tw_text", "物流太慢，包装破损！", "物流太慢，包装破损！"),
    ("tw_text", "\ufeff上海", "上海"),
    ("tw_present", None, False),
    ("tw_present", " \u3000\t", False),
    ("tw_present", " x ", True),
    ("tw_date", "2024-01-05", date(2024, 1, 5)),
    ("tw_date", "2024/1/5", date(2024, 1, 5)),
    ("tw_date", "20240105", date(2024, 1, 5)),
    ("tw_date", "2024年1月5日", date(2024, 1, 5)),
    ("tw_date", "2024.01.05", date(2024, 1, 5)),
    ("tw_date", "２０２４－０１－０５", date(2024, 1, 5)),
    ("tw_date", "2024-01-05 10:11:12", date(2024, 1, 5)),
    ("tw_date", "2023-02-29", None),
    ("tw_date", "2024-13-01", None),
    ("tw_date", "01/05/2024", None),
    ("tw_date", "不详", None),
    ("tw_timestamp", "2024/3/5 14:22", datetime(2024, 3, 5, 14, 22)),
    ("tw_timestamp", "2024-03-05T14:22:10", datetime(2024, 3, 5, 14, 22, 10)),
    ("tw_timestamp", "2024-03-05 14:22:10.250", datetime(2024, 3, 5, 14, 22, 10, 250000)),
    ("tw_timestamp", "2024年3月5日 08:00", datetime(2024, 3, 5, 8, 0)),
    ("tw_timestamp", "2024-03-05 25:00", None),
    ("tw_email", " Zhang.Wei@QQ.com ", "zhang.wei@qq.com"),
    ("tw_email", "ＬＩ＠１６３．ＣＯＭ", "li@163.com"),
    ("tw_email", "wu@@qq.com", None),
    ("tw_email", "no-at-sign.com", None),
    ("tw_gender", "男", "M"),
    ("tw_gender", "Female", "F"),
    ("tw_gender", " m ", "M"),
    ("tw_gender", "2", "F"),
    ("tw_gender", "女士", "F"),
    ("tw_gender", "保密", "U"),
    ("tw_gender", "外星人", None),
    ("tw_bool", "是", True),
    ("tw_bool", "否", False),
    ("tw_bool", "TRUE", True),
    ("tw_bool", "0", False),
    ("tw_bool", "也许", None),
    ("tw_number", "1,234.5", 1234.5),
    ("tw_number", "¥99", 99.0),
    ("tw_number", "￥12元", 12.0),
    ("tw_number", "1，200", 1200.0),
    ("tw_number", "nan", None),
    ("tw_number", "inf", None),
    ("tw_number", "abc", None),
    ("tw_integer", "3.0", 3),
    ("tw_integer", "3.5", None),
    ("tw_integer", "-12", -12),
    ("tw_integer", "12,345,678,901", 12345678901),
]


@pytest.mark.parametrize(("macro", "raw", "expected"), CASES, ids=str)
def test_standardizes(con, macro: str, raw: str, expected: object) -> None:
    assert call(con, macro, raw) == expected


PHONES = [
    ("13800138000", "+8613800138000"),
    ("138 0013 8000", "+8613800138000"),
    ("138-0013-8000", "+8613800138000"),
    ("+86 13800138000", "+8613800138000"),
    ("+86-138-0013-8000", "+8613800138000"),
    ("8613800138000", "+8613800138000"),
    ("008613800138000", "+8613800138000"),
    ("(+86) 138 0013 8000", "+8613800138000"),
    ("１３８００１３８０００", "+8613800138000"),
    ("010-12345678", "+861012345678"),
    ("+1 415 555 2671", "+14155552671"),
    ("12345", None),
    ("23800138000", None),
    ("1380013800a", None),
]


@pytest.mark.parametrize(("raw", "expected"), PHONES)
def test_phone_to_e164(con, raw: str, expected: str | None) -> None:
    assert call(con, "tw_phone", raw, "86") == expected


def test_phone_with_another_country_code(con) -> None:
    assert call(con, "tw_phone", "0412 345 678", "61") == "+61412345678"
    assert call(con, "tw_phone", "13800138000", "61") == "+6113800138000"


_FULL = {ord(c): chr(ord(c) + 0xFEE0) for c in "0123456789+-()"}


@st.composite
def formatted_mobiles(draw):
    digits = (
        "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    )
    groups = [digits[:3], digits[3:7], digits[7:]]
    sep = draw(st.sampled_from(["", " ", "-", "  "]))
    body = sep.join(groups)
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "+86-", "86", "0086", "(+86)", "0086 "]))
    text = prefix + body
    if draw(st.booleans()):
        text = text.translate(_FULL)
    pad = draw(st.sampled_from(["", " ", "\t"]))
    return pad + text + pad, "+86" + digits


@settings(max_examples=300, deadline=None)
@given(formatted_mobiles())
def test_any_formatting_of_a_mobile_gives_the_same_e164(con, case) -> None:
    raw, expected = case
    assert call(con, "tw_phone", raw, "86") == expected


@st.composite
def formatted_dates(draw):
    year = draw(st.integers(1900, 2100))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 31))
    pad = draw(st.booleans())
    m, d = (f"{month:02d}", f"{day:02d}") if pad else (str(month), str(day))
    layout = draw(st.sampled_from(["-", "/", ".", "", "cn"]))
    if layout == "":
        m, d = f"{month:02d}", f"{day:02d}"
        text = f"{year}{m}{d}"
    elif layout == "cn":
        text = f"{year}年{m}月{d}日"
    else:
        text = f"{year}{layout}{m}{layout}{d}"
    time = draw(st.sampled_from(["", " 08:30", " 23:59:59", "T12:00:00"]))
    valid = day <= calendar.monthrange(year, month)[1]
    return text + time, date(year, month, day) if valid else None


@settings(max_examples=400, deadline=None)
@given(formatted_dates())
def test_every_date_layout_parses_and_impossible_dates_do_not(con, case) -> None:
    raw, expected = case
    assert call(con, "tw_date", raw) == expected


_ALNUM = "0123456789ABCXYZabcxyz"
_TEXT_ALPHABET = _ALNUM + "".join(chr(ord(c) + 0xFEE0) for c in _ALNUM) + " \t\u3000上海客户，！"


def reference_text(raw: str) -> str | None:
    out = []
    for ch in raw.replace("\ufeff", ""):
        code = ord(ch)
        if ch in ("\u3000", "\u00a0"):
            ch = " "
        elif 0xFF01 <= code <= 0xFF5E and chr(code - 0xFEE0).isalnum():
            ch = chr(code - 0xFEE0)
        out.append(ch)
    text = " ".join("".join(out).replace("\t", " ").split(" "))
    text = " ".join(part for part in text.split(" ") if part)
    return text or None


@settings(max_examples=300, deadline=None)
@given(st.text(_TEXT_ALPHABET, max_size=20))
def test_text_normalization_matches_reference(con, raw: str) -> None:
    assert call(con, "tw_text", raw) == reference_text(raw)


@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**12), 10**12), st.sampled_from(["", ",", "，"]), st.booleans())
def test_integers_with_separators(con, value: int, sep: str, currency: bool) -> None:
    text = f"{abs(value):,}".replace(",", sep)
    text = ("-" if value < 0 else "") + text
    if currency and value >= 0:
        text = "¥" + text
    assert call(con, "tw_integer", text) == value


_LINES_ALPHABET = _TEXT_ALPHABET + "\n\r"


def reference_string(raw: str) -> str | None:
    """A string column's value: line breaks kept (CRLF and CR become LF), every line
    cleaned as a one-line text, blank lines at both ends dropped."""
    if "\n" not in raw and "\r" not in raw:
        return reference_text(raw)
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    text = "\n".join(reference_text(line) or "" for line in lines).strip("\n")
    return text or None


@settings(max_examples=300, deadline=None)
@given(st.text(_LINES_ALPHABET, max_size=24))
def test_strings_keep_their_line_breaks(con, raw: str) -> None:
    assert call(con, "tw_string", raw) == reference_string(raw)
