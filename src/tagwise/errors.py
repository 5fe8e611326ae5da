"""Tagwise's exception hierarchy.

Every error Tagwise raises on purpose is a :class:`TagwiseError`; builtin exceptions mean a
programming error. Each class carries a stable ``code`` (API ``type``, CLI ``--json``
``error.code``, anchor in ``docs/errors.md``), an HTTP ``status`` and a CLI ``exit_code``.

* TagwiseError
  x ExpressionError            user-written expression is wrong (has source + span)
    + TokenizeError            bad character, unterminated string
    + ParseError               unexpected token, missing operand
    + UnknownName              unknown attribute/feature/tag/function; hint "did you mean …?"
    + ExpressionTypeError      `spend_365d > 'high'`
  x SpecError                  YAML spec invalid (file, line, column, field path)
  x NotFound                   workspace/source/customer does not exist
  x Conflict                   the workspace is busy or in an incompatible state
  x SourceError                a source cannot be read at all (missing file, bad format)
  x EngineError                the warehouse engine failed; wraps the driver error
    + UnsupportedError         a compiler or engine lacks a node, function or feature
  x CatalogError               the catalog database failed; wraps the driver error
  x ConfigError                settings / tagwise.toml invalid
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

__all__ = [
    "CatalogError",
    "ConfigError",
    "Conflict",
    "EngineError",
    "ExpressionError",
    "ExpressionTypeError",
    "Location",
    "NotFound",
    "ParseError",
    "SourceError",
    "Span",
    "SpecError",
    "TagwiseError",
    "TokenizeError",
    "UnknownName",
    "UnsupportedError",
    "did_you_mean",
]


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open range of characters in an expression's source text."""

    start: int
    """0-based offset, inclusive."""
    end: int
    """0-based offset, exclusive."""
    line: int
    """1-based line, counting characters (not bytes)."""
    col: int
    """1-based column, counting characters (not bytes)."""


@dataclass(frozen=True, slots=True)
class Location:
    """Where in a file a problem is: path plus 1-based line and column when known."""

    path: Path | str
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        text = str(self.path)
        if self.line is not None:
            text += f":{self.line}"
            if self.col is not None:
                text += f":{self.col}"
        return text


class TagwiseError(Exception):
    """Base class for every error Tagwise raises on purpose."""

    code: ClassVar[str] = "error"
    """Stable identifier, documented in docs/errors.md."""
    status: ClassVar[int] = 500
    """HTTP status for the API."""
    exit_code: ClassVar[int] = 1
    """CLI exit status."""

    def __init__(
        self, message: str, *, hint: str | None = None, location: Location | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        return text

    def to_dict(self) -> dict[str, object]:
        """The JSON shape used by ``--json`` output and the HTTP API."""
        data: dict[str, object] = {"code": self.code, "message": self.message}
        if self.hint:
            data["hint"] = self.hint
        if self.location:
            data["file"] = str(self.location.path)
            data["line"] = self.location.line
            data["col"] = self.location.col
        return data


class ExpressionError(TagwiseError):
    """A user-written expression is wrong; carries the source text and the span."""

    code = "expression"
    status = 400

    def __init__(self, message: str, *, source: str, span: Span, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.source = source
        self.span = span

    def __str__(self) -> str:
        text = f"{self.message} (line {self.span.line}, col {self.span.col})"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text

    def render(self) -> str:
        """The multi-line form: message with position, the source line, carets, hint.

        ::

            error[unknown-name]: unknown feature `spend_356d` (line 1, col 1)
              spend_356d >= 10000 and city = '上海'
              ^^^^^^^^^^
              hint: did you mean `spend_365d`?
        """
        lines = self.source.split("\n")
        line = lines[self.span.line - 1] if 0 < self.span.line <= len(lines) else ""
        start = self.span.col - 1
        width = max(1, min(self.span.end - self.span.start, len(line) - start))
        # at least one caret, also for a span at the end of the line (a missing operand)
        carets = "^" * max(1, _display_width(line[start : start + width]))
        out = [
            f"error[{self.code}]: {self.message} (line {self.span.line}, col {self.span.col})",
            f"  {line}",
            "  " + _caret_pad(line[:start]) + carets,
        ]
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)

    def to_dict(self) -> dict[str, object]:
        """The JSON shape, with the expression position."""
        data = super().to_dict()
        data.update(
            line=self.span.line, col=self.span.col, start=self.span.start, end=self.span.end
        )
        return data


class TokenizeError(ExpressionError):
    """A character or literal that is not part of the language (unterminated string …)."""

    code = "tokenize"


class ParseError(ExpressionError):
    """Tokens in an order the grammar does not allow (missing operand, unexpected token)."""

    code = "parse"


class UnknownName(ExpressionError):
    """A name that is not a known attribute, feature, tag or function."""

    code = "unknown-name"


class ExpressionTypeError(ExpressionError):
    """Operands of the wrong type, such as ``spend_365d > 'high'``."""

    code = "type"


def did_you_mean(name: str, known: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The hint ``did you mean `x`?`` for the closest of ``known``, or None."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=cutoff)
    return f"did you mean `{close[0]}`?" if close else None


def _display_width(text: str) -> int:
    """Terminal columns of ``text``: East Asian wide characters take two."""
    import unicodedata  # noqa: PLC0415

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _caret_pad(prefix: str) -> str:
    """Spaces (and tabs) to put a caret under the character after ``prefix``."""
    return "".join("\t" if ch == "\t" else " " * _display_width(ch) for ch in prefix)


class SpecError(TagwiseError):
    """A YAML spec or file is invalid; ``location`` says file, line and column."""

    code = "spec"
    status = 400


class NotFound(TagwiseError):
    """A workspace, source, customer or other named thing does not exist."""

    code = "not-found"
    status = 404


class Conflict(TagwiseError):
    """The operation conflicts with the workspace's state (exists already, busy, locked)."""

    code = "conflict"
    status = 409


class SourceError(TagwiseError):
    """A source cannot be read at all: missing file, unknown format, unreachable database."""

    code = "source"
    status = 400


class EngineError(TagwiseError):
    """The warehouse engine failed; the driver error is the ``__cause__``."""

    code = "engine"


class UnsupportedError(EngineError):
    """A compiler or engine lacks an expression node, function or feature."""

    code = "unsupported"


class CatalogError(TagwiseError):
    """The catalog database failed; the driver error is the ``__cause__``."""

    code = "catalog"


class Interrupted(TagwiseError):
    """The user interrupted the operation (Ctrl-C); the message says what was kept."""

    code = "interrupted"
    status = 499
    exit_code = 130


class ConfigError(TagwiseError):
    """Settings or ``tagwise.toml`` are invalid."""

    code = "config"
    status = 400
