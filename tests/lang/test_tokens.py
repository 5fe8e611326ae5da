"""The tokenizer: every lexical rule of docs/language.md, with exact spans."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tagwise.errors import Span, TokenizeError
from tagwise.lang.ast import DurationUnit
from tagwise.lang.tokens import Token, TokenType, is_bare_name, tokenize

T = TokenType


def kinds(source: str) -> list[TokenType]:
    return [token.type for token in tokenize(source)][:-1]


def only(source: str) -> Token:
    tokens = tokenize(source)
    assert len(tokens) == 2, tokens
    assert tokens[1].type is T.EOF
    return tokens[0]


def error(source: str) -> TokenizeError:
    with pytest.raises(TokenizeError) as info:
        tokenize(source)
    assert info.value.source == source
    return info.value


@pytest.mark.parametrize(
    ("source", "kind", "value"),
    [
        ("0", T.INTEGER, 0),
        ("100000", T.INTEGER, 100000),
        ("1_000_000", T.INTEGER, 1000000),
        ("007", T.INTEGER, 7),
        ("0.5", T.DECIMAL, 0.5),
        ("12.", T.DECIMAL, 12.0),
        (".5", T.DECIMAL, 0.5),
        ("1e3", T.DECIMAL, 1000.0),
        ("2.5E-2", T.DECIMAL, 0.025),
        ("1e+20", T.DECIMAL, 1e20),
        ("1_000.5", T.DECIMAL, 1000.5),
        ("'上海'", T.STRING, "上海"),
        ("'it''s'", T.STRING, "it's"),
        ("''", T.STRING, ""),
        ("''''", T.STRING, "'"),
        ("'-- no comment'", T.STRING, "-- no comment"),
        ("'a`b\"c'", T.STRING, 'a`b"c'),
        ("date '2024-01-05'", T.DATE, date(2024, 1, 5)),
        ("DATE '2024-02-29'", T.DATE, date(2024, 2, 29)),
        ("timestamp '2024-01-05 10:00:00'", T.TIMESTAMP, datetime(2024, 1, 5, 10)),
        ("timestamp '2024-01-05T10:30'", T.TIMESTAMP, datetime(2024, 1, 5, 10, 30)),
        ("Timestamp '2024-01-05 10:00:01.5'", T.TIMESTAMP, datetime(2024, 1, 5, 10, 0, 1, 500000)),
        ("30d", T.DURATION, (30, DurationUnit.DAYS)),
        ("12h", T.DURATION, (12, DurationUnit.HOURS)),
        ("2w", T.DURATION, (2, DurationUnit.WEEKS)),
        ("1_000d", T.DURATION, (1000, DurationUnit.DAYS)),
        ("spend_365d", T.NAME, "spend_365d"),
        ("_x", T.NAME, "_x"),
        ("城市", T.NAME, "城市"),
        ("会员等级2", T.NAME, "会员等级2"),
        ("Ünïcode", T.NAME, "Ünïcode"),
        ("`会员等级`", T.QUOTED_NAME, "会员等级"),
        ("`order count`", T.QUOTED_NAME, "order count"),
        ("`a``b`", T.QUOTED_NAME, "a`b"),
        ("`and`", T.QUOTED_NAME, "and"),
        ("`it's`", T.QUOTED_NAME, "it's"),
    ],
)
def test_literal_and_name_values(source: str, kind: TokenType, value: object) -> None:
    token = only(source)
    assert (token.type, token.value, token.text) == (kind, value, source)
    assert type(token.value) is type(value)
    assert token.span == Span(0, len(source), 1, 1)


@pytest.mark.parametrize(
    "word",
    ["and", "AND", "And", "or", "NOT", "in", "Is", "null", "between", "LIKE", "true", "False"],
)
def test_keywords_are_case_insensitive(word: str) -> None:
    token = only(word)
    assert token.type is T[word.upper()]
    assert token.value is None


def test_operators() -> None:
    source = "= != <> < <= > >= + - * / % ( ) ,"
    assert kinds(source) == [
        T.EQ, T.NE, T.NE, T.LT, T.LE, T.GT, T.GE,
        T.PLUS, T.MINUS, T.STAR, T.SLASH, T.PERCENT, T.LPAREN, T.RPAREN, T.COMMA,
    ]  # fmt: skip
    assert [token.text for token in tokenize("a<>b")] == ["a", "<>", "b", ""]


def test_operators_need_no_spaces() -> None:
    assert kinds("a>=1 and-b") == [T.NAME, T.GE, T.INTEGER, T.AND, T.MINUS, T.NAME]
    assert kinds("x<=-1") == [T.NAME, T.LE, T.MINUS, T.INTEGER]
    assert kinds("a--b") == [T.NAME]


def test_comments_and_whitespace() -> None:
    source = "a -- 注释 = 1\n\t=\r\n 1\u3000-- end"
    tokens = tokenize(source)
    assert [token.type for token in tokens] == [T.NAME, T.EQ, T.INTEGER, T.EOF]
    assert tokens[1].span == Span(13, 14, 2, 2)
    assert tokens[2].span == Span(17, 18, 3, 2)
    assert tokens[3].span == Span(len(source), len(source), 3, 10)


def test_empty_and_blank_sources_give_only_eof() -> None:
    assert tokenize("") == [Token(T.EOF, "", None, Span(0, 0, 1, 1))]
    assert tokenize("  -- nothing\n") == [Token(T.EOF, "", None, Span(13, 13, 2, 1))]


def test_spans_count_characters_not_bytes() -> None:
    source = "城市 = '上海' and\n  `会员 等级` >= 30d"
    spans = {token.text: token.span for token in tokenize(source)}
    assert spans["城市"] == Span(0, 2, 1, 1)
    assert spans["'上海'"] == Span(5, 9, 1, 6)
    assert spans["and"] == Span(10, 13, 1, 11)
    assert spans["`会员 等级`"] == Span(16, 23, 2, 3)
    assert spans["30d"] == Span(27, 30, 2, 14)


def test_temporal_literal_spans_keyword_and_string() -> None:
    token = only("date\n  '2024-01-05'")
    assert token.type is T.DATE
    assert token.span == Span(0, 19, 1, 1)


def test_backquoted_names_may_hold_anything_but_a_backquote() -> None:
    assert only("`a\nb -- c`").value == "a\nb -- c"


def test_number_followed_by_operator_or_paren() -> None:
    assert kinds("30d)") == [T.DURATION, T.RPAREN]
    assert kinds("1.5*2") == [T.DECIMAL, T.STAR, T.INTEGER]
    assert kinds("1..5") == [T.DECIMAL, T.DECIMAL]


DURATION_HINT = "a duration is a whole number directly followed by `h`, `d` or `w`, like `30d`"
DIGIT_NAME_HINT = "a name cannot start with a digit; write such a name in backquotes"


@pytest.mark.parametrize(
    ("source", "message", "span", "hint"),
    [
        ("'abc", "unterminated string", Span(0, 1, 1, 1), "close the string with '"),
        ("x = 'a\nb'", "unterminated string", Span(4, 5, 1, 5), "close the string with '"),
        ("`abc", "unterminated name", Span(0, 1, 1, 1), "close the name with `"),
        ("``", "empty name ``", Span(0, 2, 1, 1), "a backquoted name needs at least one character"),
        ("a == b", "unexpected `==`", Span(2, 4, 1, 3), "use `=`"),
        ("30days", "invalid duration `30days`", Span(0, 6, 1, 1), "write `30d`"),
        ("3天", "invalid duration `3天`", Span(0, 2, 1, 1), "write `3d`"),
        ("2 weeks", None, None, None),
        ("30D", "invalid duration `30D`", Span(0, 3, 1, 1), DURATION_HINT),
        ("1.5d", "invalid duration `1.5d`", Span(0, 4, 1, 1), DURATION_HINT),
        ("5x", "invalid number `5x`", Span(0, 2, 1, 1), DIGIT_NAME_HINT),
        ("1_", "invalid number `1_`", Span(0, 2, 1, 1), DIGIT_NAME_HINT),
        ("1e", "invalid number `1e`", Span(0, 2, 1, 1), DIGIT_NAME_HINT),
        ("30d5", "invalid duration `30d5`", Span(0, 4, 1, 1), DURATION_HINT),
        ("1e400", "number `1e400` is too large", Span(0, 5, 1, 1), None),
        (
            "date '2024-13-01'",
            "invalid date `'2024-13-01'`: month must be in 1..12",
            Span(5, 17, 1, 6),
            None,
        ),
        (
            "date '2024-1-5'",
            "invalid date `'2024-1-5'`",
            Span(5, 15, 1, 6),
            "write a date as date '2024-01-05'",
        ),
        (
            "date '２０２４-01-05'",
            "invalid date `'２０２４-01-05'`",
            Span(5, 17, 1, 6),
            "write a date as date '2024-01-05'",
        ),
        (
            "timestamp '2024-01-05+08:00'",
            "invalid timestamp `'2024-01-05+08:00'`",
            Span(10, 28, 1, 11),
            "write a timestamp as timestamp '2024-01-05 10:00:00'",
        ),
        (
            "date 1",
            "expected a string after `date`",
            Span(0, 4, 1, 1),
            "write a date as date '2024-01-05', or write a name `date` in backquotes",
        ),
        (
            "x = timestamp",
            "expected a string after `timestamp`",
            Span(4, 13, 1, 5),
            "write a timestamp as timestamp '2024-01-05 10:00:00', or write a name `timestamp`"
            " in backquotes",
        ),
        (
            "a（",
            "unexpected full-width `（` outside a string",
            Span(1, 2, 1, 2),
            "use the ASCII `(`",
        ),
        (
            "a）",
            "unexpected full-width `）` outside a string",
            Span(1, 2, 1, 2),
            "use the ASCII `)`",
        ),
        (
            "a，b",
            "unexpected full-width `，` outside a string",
            Span(1, 2, 1, 2),
            "use the ASCII `,`",
        ),
        (
            "a、b",
            "unexpected full-width `、` outside a string",
            Span(1, 2, 1, 2),
            "use the ASCII `,`",
        ),
        (
            "a ＝ b",
            "unexpected full-width `＝` outside a string",
            Span(2, 3, 1, 3),
            "use the ASCII `=`",
        ),
        (
            "a ＜ b",
            "unexpected full-width `＜` outside a string",
            Span(2, 3, 1, 3),
            "use the ASCII `<`",
        ),
        (
            "a ＞ b",
            "unexpected full-width `＞` outside a string",
            Span(2, 3, 1, 3),
            "use the ASCII `>`",
        ),
        (
            "x = １",
            "unexpected full-width `１` outside a string",
            Span(4, 5, 1, 5),
            "use the ASCII `1`",
        ),
        (
            "x = ‘a’",
            "unexpected full-width `‘` outside a string",
            Span(4, 5, 1, 5),
            "use the ASCII `'`",
        ),
        ("a\u00a0= b", "unexpected character U+00A0", Span(1, 2, 1, 2), "use an ordinary space"),
        ("a; b", "unexpected character `;`", Span(1, 2, 1, 2), None),
        ("a && b", "unexpected character `&`", Span(2, 3, 1, 3), "use `and`"),
        ("x\n  ! y", "unexpected character `!`", Span(4, 5, 2, 3), "use `!=` or `not`"),
    ],
)
def test_errors(source: str, message: str | None, span: Span | None, hint: str | None) -> None:
    if message is None:  # a number then a name is fine for the tokenizer
        assert kinds(source) == [T.INTEGER, T.NAME]
        return
    err = error(source)
    assert err.code == "tokenize"
    assert err.message == message
    assert err.span == span
    assert err.hint == hint


def test_full_width_characters_inside_strings_and_names_are_fine() -> None:
    assert only("'（上海，北京）'").value == "（上海，北京）"
    assert only("`会员（等级）`").value == "会员（等级）"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("spend_365d", True),
        ("城市", True),
        ("_", True),
        ("x1", True),
        ("", False),
        ("1x", False),
        ("order count", False),
        ("and", False),
        ("Date", False),
        ("a-b", False),
        ("a`b", False),
        ("（", False),
        ("ＡＮＤ", True),  # full-width letters are letters, not the keyword
    ],
)
def test_is_bare_name(text: str, expected: bool) -> None:
    assert is_bare_name(text) is expected
    if expected:
        assert only(text).type is T.NAME
