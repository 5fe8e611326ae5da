"""Tokenizer of the Tagwise expression language (docs/language.md, "Lexical structure").

:func:`tokenize` turns source text into a list of :class:`Token` that ends with an ``EOF``
token. Literals are decoded here (``1_000`` → ``1000``, ``'it''s'`` → ``it's``,
``date '2024-01-05'`` → a ``datetime.date``), so the parser only arranges tokens. Spans
count characters, not bytes, and lines and columns start at 1.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

from tagwise.errors import Span, TokenizeError
from tagwise.lang.ast import DurationUnit

__all__ = ["KEYWORDS", "Token", "TokenType", "TokenValue", "is_bare_name", "tokenize"]


class TokenType(Enum):
    """Kinds of tokens; the value is how messages name the kind."""

    INTEGER = "integer"
    DECIMAL = "decimal"
    STRING = "string"
    DATE = "date"
    TIMESTAMP = "timestamp"
    DURATION = "duration"
    NAME = "name"
    QUOTED_NAME = "backquoted name"
    AND = "and"
    OR = "or"
    NOT = "not"
    IN = "in"
    IS = "is"
    NULL = "null"
    BETWEEN = "between"
    LIKE = "like"
    TRUE = "true"
    FALSE = "false"
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    PLUS = "+"
    MINUS = "-"
    STAR = "*"
    SLASH = "/"
    PERCENT = "%"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    EOF = "end of input"


TokenValue = int | float | str | date | datetime | tuple[int, DurationUnit] | None
"""Decoded value of a literal or name token; ``(amount, unit)`` for a duration."""


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its exact source text, its decoded value and its span."""

    type: TokenType
    text: str
    """The characters of the source, e.g. ``1_000`` or ``'it''s'``."""
    value: TokenValue
    """``1000``, ``"it's"``, the name without backquotes; ``None`` for keywords."""
    span: Span


KEYWORDS: dict[str, TokenType] = {
    "and": TokenType.AND,
    "or": TokenType.OR,
    "not": TokenType.NOT,
    "in": TokenType.IN,
    "is": TokenType.IS,
    "null": TokenType.NULL,
    "between": TokenType.BETWEEN,
    "like": TokenType.LIKE,
    "true": TokenType.TRUE,
    "false": TokenType.FALSE,
    "date": TokenType.DATE,
    "timestamp": TokenType.TIMESTAMP,
}
"""Keywords, lower-case; they match case-insensitively and cannot be bare names."""

_OPERATORS: dict[str, TokenType] = {
    "<=": TokenType.LE,
    ">=": TokenType.GE,
    "<>": TokenType.NE,
    "!=": TokenType.NE,
    "=": TokenType.EQ,
    "<": TokenType.LT,
    ">": TokenType.GT,
    "+": TokenType.PLUS,
    "-": TokenType.MINUS,
    "*": TokenType.STAR,
    "/": TokenType.SLASH,
    "%": TokenType.PERCENT,
    "(": TokenType.LPAREN,
    ")": TokenType.RPAREN,
    ",": TokenType.COMMA,
}

_WHITESPACE = frozenset(" \t\n\r\u3000")
_DIGITS = r"[0-9]+(?:_[0-9]+)*"
_NUMBER = re.compile(rf"(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
)
_UNIT_WORDS = {
    "天": "d", "日": "d", "day": "d", "days": "d",
    "小时": "h", "时": "h", "hour": "h", "hours": "h", "hr": "h", "hrs": "h",
    "周": "w", "星期": "w", "week": "w", "weeks": "w", "wk": "w", "wks": "w",
}  # fmt: skip
_LOOKALIKES = {"、": ",", "。": ".", "‘": "'", "’": "'", "“": "'", "”": "'"}
_ASCII_HINTS = {
    '"': "use single quotes for strings ('上海') and backquotes for names (`order count`)",
    "&": "use `and`",
    "|": "use `or`; the language has no `||` string concatenation",
    "!": "use `!=` or `not`",
}


def tokenize(source: str) -> list[Token]:
    """Split an expression into tokens, ending with an ``EOF`` token.

    Raises:
        TokenizeError: a character or literal that is not part of the language, such as an
            unterminated string, ``==``, ``30days`` or full-width punctuation.
    """
    return _Scanner(source).run()


def is_bare_name(text: str) -> bool:
    """Whether ``text`` can be written as a name without backquotes."""
    if not text or not (text[0].isalpha() or text[0] == "_"):
        return False
    return _word_end(text, 0) == len(text) and _keyword(text) is None


def _keyword(word: str) -> TokenType | None:
    """The keyword ``word`` spells in any case (ASCII only: ``ＡＮＤ`` is a name)."""
    return KEYWORDS.get(word.lower()) if word.isascii() else None


def _word_end(text: str, pos: int) -> int:
    """The end of the run of letters, digits and ``_`` starting at ``pos``."""
    while pos < len(text) and (text[pos].isalnum() or text[pos] == "_"):
        pos += 1
    return pos


class _Scanner:
    """The cursor over the source; each ``_read_*`` consumes one token."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0
        self._line_starts = [0] + [i + 1 for i, ch in enumerate(source) if ch == "\n"]

    def run(self) -> list[Token]:
        tokens = []
        self._skip_blanks()
        while self.pos < len(self.source):
            tokens.append(self._read_token())
            self._skip_blanks()
        end = len(self.source)
        tokens.append(Token(TokenType.EOF, "", None, self._span(end, end)))
        return tokens

    def _span(self, start: int, end: int) -> Span:
        line = bisect.bisect_right(self._line_starts, start)
        return Span(start, end, line, start - self._line_starts[line - 1] + 1)

    def _token(self, type_: TokenType, start: int, value: TokenValue) -> Token:
        return Token(type_, self.source[start : self.pos], value, self._span(start, self.pos))

    def _error(self, message: str, start: int, end: int, hint: str | None) -> TokenizeError:
        return TokenizeError(message, source=self.source, span=self._span(start, end), hint=hint)

    def _skip_blanks(self) -> None:
        source = self.source
        while self.pos < len(source):
            if source[self.pos] in _WHITESPACE:
                self.pos += 1
            elif source.startswith("--", self.pos):
                newline = source.find("\n", self.pos)
                self.pos = len(source) if newline < 0 else newline
            else:
                return

    def _read_token(self) -> Token:
        ch = self.source[self.pos]
        if "0" <= ch <= "9" or (
            ch == "." and "0" <= self.source[self.pos + 1 : self.pos + 2] <= "9"
        ):
            return self._read_number()
        if ch.isalpha() or ch == "_":
            return self._read_word()
        if ch == "'":
            start = self.pos
            return self._token(TokenType.STRING, start, self._read_quoted("'"))
        if ch == "`":
            return self._read_quoted_name()
        return self._read_operator()

    def _read_number(self) -> Token:
        start = self.pos
        match = _NUMBER.match(self.source, start)
        assert match is not None  # noqa: S101 - _read_token saw a digit
        self.pos = match.end()
        number = match.group()
        is_integer = not any(c in number for c in ".eE")
        word_end = _word_end(self.source, self.pos)
        if word_end > self.pos:
            return self._read_duration(start, number, word_end, is_integer=is_integer)
        plain = number.replace("_", "")
        if is_integer:
            return self._token(TokenType.INTEGER, start, int(plain))
        value = float(plain)
        if math.isinf(value):
            raise self._error(f"number `{number}` is too large", start, self.pos, None)
        return self._token(TokenType.DECIMAL, start, value)

    def _read_duration(self, start: int, number: str, end: int, *, is_integer: bool) -> Token:
        """A number directly followed by letters: a duration such as ``30d``, or an error."""
        unit = self.source[self.pos : end]
        if is_integer and unit in ("h", "d", "w"):
            self.pos = end
            return self._token(
                TokenType.DURATION, start, (int(number.replace("_", "")), DurationUnit(unit))
            )
        text = self.source[start:end]
        if unit.lower() in _UNIT_WORDS or unit[0].lower() in "hdw":
            better = _UNIT_WORDS.get(unit.lower())
            hint = (
                f"write `{number}{better}`"
                if is_integer and better
                else "a duration is a whole number directly followed by `h`, `d` or `w`, like `30d`"
            )
            raise self._error(f"invalid duration `{text}`", start, end, hint)
        hint = "a name cannot start with a digit; write such a name in backquotes"
        raise self._error(f"invalid number `{text}`", start, end, hint)

    def _read_word(self) -> Token:
        start = self.pos
        self.pos = _word_end(self.source, start)
        text = self.source[start : self.pos]
        keyword = _keyword(text)
        if keyword in (TokenType.DATE, TokenType.TIMESTAMP):
            return self._read_temporal(start, text.lower())
        if keyword is not None:
            return self._token(keyword, start, None)
        return self._token(TokenType.NAME, start, text)

    def _read_temporal(self, start: int, keyword: str) -> Token:
        keyword_end = self.pos
        self._skip_blanks()
        example = "date '2024-01-05'" if keyword == "date" else "timestamp '2024-01-05 10:00:00'"
        if not self.source.startswith("'", self.pos):
            hint = f"write a {keyword} as {example}, or write a name `{keyword}` in backquotes"
            raise self._error(f"expected a string after `{keyword}`", start, keyword_end, hint)
        string_start = self.pos
        text = self._read_quoted("'")
        try:
            value = _to_date(text) if keyword == "date" else _to_timestamp(text)
        except _FormError:
            raise self._error(
                f"invalid {keyword} `{self.source[string_start : self.pos]}`",
                string_start,
                self.pos,
                f"write a {keyword} as {example}",
            ) from None
        except ValueError as exc:
            message = f"invalid {keyword} `{self.source[string_start : self.pos]}`: {exc}"
            raise self._error(message, string_start, self.pos, None) from None
        return self._token(
            TokenType.DATE if keyword == "date" else TokenType.TIMESTAMP, start, value
        )

    def _read_quoted(self, quote: str) -> str:
        """Read a ``'string'`` or `` `name` `` whose quote is doubled inside; returns the text."""
        start, source = self.pos, self.source
        pos, chars = start + 1, []
        while pos < len(source):
            ch = source[pos]
            if ch == quote and source.startswith(quote * 2, pos):
                chars.append(quote)
                pos += 2
            elif ch == quote:
                self.pos = pos + 1
                return "".join(chars)
            elif quote == "'" and ch in "\r\n":
                break
            else:
                chars.append(ch)
                pos += 1
        what = "string" if quote == "'" else "name"
        raise self._error(
            f"unterminated {what}", start, start + 1, f"close the {what} with {quote}"
        )

    def _read_quoted_name(self) -> Token:
        start = self.pos
        name = self._read_quoted("`")
        if not name:
            hint = "a backquoted name needs at least one character"
            raise self._error("empty name ``", start, self.pos, hint)
        return self._token(TokenType.QUOTED_NAME, start, name)

    def _read_operator(self) -> Token:
        start = self.pos
        if self.source.startswith("==", start):
            raise self._error("unexpected `==`", start, start + 2, "use `=`")
        for text in (self.source[start : start + 2], self.source[start]):
            if text in _OPERATORS:
                self.pos += len(text)
                return self._token(_OPERATORS[text], start, None)
        raise self._bad_character(start)

    def _bad_character(self, pos: int) -> TokenizeError:
        ch = self.source[pos]
        ascii_ = _LOOKALIKES.get(ch) or (
            chr(ord(ch) - 0xFEE0) if "\uff01" <= ch <= "\uff5e" else ""
        )
        if ascii_:
            message = f"unexpected full-width `{ch}` outside a string"
            return self._error(message, pos, pos + 1, f"use the ASCII `{ascii_}`")
        if ch.isspace() or not ch.isprintable():
            message = f"unexpected character U+{ord(ch):04X}"
            hint = "use an ordinary space" if ch.isspace() else None
            return self._error(message, pos, pos + 1, hint)
        return self._error(f"unexpected character `{ch}`", pos, pos + 1, _ASCII_HINTS.get(ch))


class _FormError(ValueError):
    """A date or timestamp string that is not in ISO form."""


def _to_date(text: str) -> date:
    match = _DATE.fullmatch(text)
    if match is None:
        raise _FormError(text)
    return date(*(int(group) for group in match.groups()))


def _to_timestamp(text: str) -> datetime:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise _FormError(text)
    year, month, day, hour, minute, second, fraction = match.groups()
    micro = int((fraction or "").ljust(6, "0"))
    return datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro
    )
