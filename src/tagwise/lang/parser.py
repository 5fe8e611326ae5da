"""Recursive-descent parser of the Tagwise expression language.

One ``_parse_<rule>`` method per rule of the grammar in docs/language.md, lowest precedence
first. Every node gets the span from its first to its last token, parentheses included,
so later phases can point at the exact sub-expression. The first error is raised as a
:class:`~tagwise.errors.ParseError` pointing at the offending token.
"""

from __future__ import annotations

from typing import cast

from tagwise.errors import ParseError, Span
from tagwise.lang.ast import (
    And,
    Arith,
    ArithOp,
    Between,
    Call,
    Compare,
    CompareOp,
    Duration,
    DurationUnit,
    Expr,
    In,
    IsNull,
    Like,
    Literal,
    Name,
    Negate,
    Not,
    Or,
)
from tagwise.lang.to_text import to_text
from tagwise.lang.tokens import KEYWORDS, Token, TokenType, tokenize

__all__ = ["MAX_DEPTH", "Parser", "parse"]

MAX_DEPTH = 50
"""Most nested parentheses, calls, ``not`` and unary minus; deeper input is a ParseError."""

_COMPARE_OPS = {
    TokenType.EQ: CompareOp.EQ,
    TokenType.NE: CompareOp.NE,
    TokenType.LT: CompareOp.LT,
    TokenType.LE: CompareOp.LE,
    TokenType.GT: CompareOp.GT,
    TokenType.GE: CompareOp.GE,
}
_ADDITIVE_OPS = {TokenType.PLUS: ArithOp.ADD, TokenType.MINUS: ArithOp.SUB}
_TERM_OPS = {
    TokenType.STAR: ArithOp.MUL,
    TokenType.SLASH: ArithOp.DIV,
    TokenType.PERCENT: ArithOp.MOD,
}
_NEGATABLE = (TokenType.BETWEEN, TokenType.IN, TokenType.LIKE)
_PREDICATE_STARTS = {*_COMPARE_OPS, TokenType.IS, *_NEGATABLE}
_CONSTANTS = {TokenType.TRUE: True, TokenType.FALSE: False, TokenType.NULL: None}
_LITERALS = (
    TokenType.INTEGER,
    TokenType.DECIMAL,
    TokenType.STRING,
    TokenType.DATE,
    TokenType.TIMESTAMP,
)
_KEYWORD_TYPES = frozenset(KEYWORDS.values()) - {TokenType.DATE, TokenType.TIMESTAMP}
_OPERAND_STARTS = {
    *_LITERALS,
    *_CONSTANTS,
    TokenType.DURATION,
    TokenType.NAME,
    TokenType.QUOTED_NAME,
}
_LiteralValue = int | float | str | bool | None


def parse(source: str) -> Expr:
    """Parse an expression such as ``spend_365d >= 10000 and city = '上海'``.

    Raises:
        TokenizeError: a character or literal that is not part of the language.
        ParseError: tokens in an order the grammar does not allow.
    """
    return Parser(source).parse()


class Parser:
    """A cursor over the tokens of one expression."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._tokens = tokenize(source)
        self._pos = 0
        self._depth = 0

    def parse(self) -> Expr:
        """Parse the whole source as one expression."""
        if self._peek().type is TokenType.EOF:
            hint = "write a condition such as `city = '上海'`"
            raise self._error("empty expression", self._peek(), hint=hint)
        expr = self._parse_expr()
        self._parse_end()
        return expr

    # -- cursor --------------------------------------------------------------------------

    def _peek(self, ahead: int = 0) -> Token:
        return self._tokens[min(self._pos + ahead, len(self._tokens) - 1)]

    def _advance(self) -> Token:
        token = self._peek()
        self._pos = min(self._pos + 1, len(self._tokens) - 1)
        return token

    def _match(self, *types: TokenType) -> Token | None:
        return self._advance() if self._peek().type in types else None

    def _previous(self) -> Token:
        return self._tokens[self._pos - 1]

    def _span_from(self, first: Token) -> Span:
        """The span from ``first`` to the last token consumed."""
        start = first.span
        return Span(start.start, self._previous().span.end, start.line, start.col)

    def _error(self, message: str, token: Token, *, hint: str | None = None) -> ParseError:
        return ParseError(message, source=self.source, span=token.span, hint=hint)

    def _enter(self) -> None:
        """Count the nesting level the token just consumed opens; Python's stack is finite."""
        self._depth += 1
        if self._depth > MAX_DEPTH:
            hint = "split the expression or remove redundant parentheses"
            message = f"the expression is nested more than {MAX_DEPTH} levels deep"
            raise self._error(message, self._previous(), hint=hint)

    # -- grammar -------------------------------------------------------------------------

    def _parse_expr(self) -> Expr:
        return self._parse_or()

    def _parse_or(self) -> Expr:
        first = self._peek()
        expr = self._parse_and()
        while self._match(TokenType.OR):
            expr = Or(expr, self._parse_and(), self._span_from(first))
        return expr

    def _parse_and(self) -> Expr:
        first = self._peek()
        expr = self._parse_not()
        while self._match(TokenType.AND):
            expr = And(expr, self._parse_not(), self._span_from(first))
        return expr

    def _parse_not(self) -> Expr:
        first = self._peek()
        if not self._match(TokenType.NOT):
            return self._parse_predicate()
        self._enter()
        operand = self._parse_not()
        self._depth -= 1
        return Not(operand, self._span_from(first))

    def _parse_predicate(self) -> Expr:
        first = self._peek()
        left = self._parse_additive()
        token = self._peek()
        if token.type in _COMPARE_OPS:
            self._advance()
            right = self._parse_additive()
            expr: Expr = Compare(_COMPARE_OPS[token.type], left, right, self._span_from(first))
        elif token.type is TokenType.IS:
            expr = self._parse_is_null(left, first)
        elif token.type is TokenType.NOT or token.type in _NEGATABLE:
            expr = self._parse_negatable(left, first)
        else:
            return left
        self._reject_chain(expr)
        return expr

    def _parse_is_null(self, operand: Expr, first: Token) -> Expr:
        self._advance()
        negated = self._match(TokenType.NOT) is not None
        if not self._match(TokenType.NULL):
            after = "is not" if negated else "is"
            wrong = self._peek()
            hint = None
            if wrong.type in (TokenType.TRUE, TokenType.FALSE):
                op = "!=" if negated else "="
                hint = f"compare with `{op}`: `{to_text(operand)} {op} {wrong.text.lower()}`"
            raise self._error(f"expected `null` after `{after}`", wrong, hint=hint)
        return IsNull(operand, negated, self._span_from(first))

    def _parse_negatable(self, operand: Expr, first: Token) -> Expr:
        """``[not] between …``, ``[not] in (…)`` or ``[not] like …`` after ``operand``."""
        negated = self._match(TokenType.NOT) is not None
        token = self._advance()
        if token.type is TokenType.BETWEEN:
            return self._parse_between(operand, first, negated=negated)
        if token.type is TokenType.IN:
            return self._parse_in(operand, first, negated=negated)
        if token.type is TokenType.LIKE:
            pattern = self._parse_additive()
            return Like(operand, pattern, negated, self._span_from(first))
        hint = "write `not` before a whole condition: `not a = b`"
        raise self._error("expected `between`, `in` or `like` after `not`", token, hint=hint)

    def _parse_between(self, operand: Expr, first: Token, *, negated: bool) -> Expr:
        low = self._parse_additive()
        if not self._match(TokenType.AND):
            hint = "write `x between low and high`"
            raise self._error("expected `and` in `between`", self._peek(), hint=hint)
        high = self._parse_additive()
        return Between(operand, low, high, negated, self._span_from(first))

    def _parse_in(self, operand: Expr, first: Token, *, negated: bool) -> Expr:
        opening = self._match(TokenType.LPAREN)
        if opening is None:
            hint = "write the values in parentheses: `x in ('a', 'b')`"
            raise self._error("expected `(` after `in`", self._peek(), hint=hint)
        if self._match(TokenType.RPAREN):
            hint = "list at least one value: `x in ('a', 'b')`"
            raise ParseError(
                "empty `in ()` list", source=self.source, span=self._span_from(opening), hint=hint
            )
        items = self._parse_items(opening)
        return In(operand, items, negated, self._span_from(first))

    def _reject_chain(self, predicate: Expr) -> None:
        """Raise if another comparison follows a complete one: ``a < b < c``."""
        token = self._peek()
        is_negated = token.type is TokenType.NOT and self._peek(1).type in _NEGATABLE
        if token.type not in _PREDICATE_STARTS and not is_negated:
            return
        hint = None
        if isinstance(predicate, Compare) and token.type in _COMPARE_OPS:
            self._advance()
            right = to_text(self._parse_additive())
            middle = to_text(predicate.right)
            hint = f"write `{to_text(predicate)} and {middle} {token.type.value} {right}`"
        message = "comparisons cannot be chained; use `a < b and b < c`"
        raise self._error(message, token, hint=hint)

    def _parse_additive(self) -> Expr:
        first = self._peek()
        expr = self._parse_term()
        while (token := self._match(*_ADDITIVE_OPS)) is not None:
            right = self._parse_term()
            expr = Arith(_ADDITIVE_OPS[token.type], expr, right, self._span_from(first))
        return expr

    def _parse_term(self) -> Expr:
        first = self._peek()
        expr = self._parse_unary()
        while (token := self._match(*_TERM_OPS)) is not None:
            right = self._parse_unary()
            expr = Arith(_TERM_OPS[token.type], expr, right, self._span_from(first))
        return expr

    def _parse_unary(self) -> Expr:
        first = self._match(TokenType.MINUS)
        if first is None:
            return self._parse_primary()
        number = self._match(TokenType.INTEGER, TokenType.DECIMAL)
        if number is not None:  # `-5` is the literal -5, not Negate(5)
            value = cast("int | float", number.value)
            return Literal(-value, self._span_from(first))
        self._enter()
        operand = self._parse_unary()
        self._depth -= 1
        return Negate(operand, self._span_from(first))

    def _parse_primary(self) -> Expr:
        token = self._peek()
        if token.type in _LITERALS:
            self._advance()
            return Literal(cast("_LiteralValue", token.value), token.span)
        if token.type in _CONSTANTS:
            self._advance()
            return Literal(_CONSTANTS[token.type], token.span)
        if token.type is TokenType.DURATION:
            self._advance()
            amount, unit = cast("tuple[int, DurationUnit]", token.value)
            return Duration(amount, unit, token.span)
        if token.type is TokenType.NAME and self._peek(1).type is TokenType.LPAREN:
            return self._parse_call()
        if token.type in (TokenType.NAME, TokenType.QUOTED_NAME):
            return self._parse_name()
        if token.type is TokenType.LPAREN:
            return self._parse_parenthesized()
        raise self._expected_expression(token)

    def _parse_name(self) -> Expr:
        token = self._advance()
        if self._peek().type is TokenType.LPAREN:
            hint = "write the function name without backquotes"
            raise self._error("a call needs a bare function name before `(`", token, hint=hint)
        return Name(cast("str", token.value), token.span)

    def _parse_call(self) -> Expr:
        name = self._advance()
        opening = self._advance()
        args = () if self._match(TokenType.RPAREN) else self._parse_items(opening)
        return Call(name.text.lower(), args, self._span_from(name))

    def _parse_parenthesized(self) -> Expr:
        opening = self._advance()
        self._enter()
        expr = self._parse_expr()
        self._depth -= 1
        self._expect_closing(opening, hint=None)
        return expr

    def _parse_items(self, opening: Token) -> tuple[Expr, ...]:
        """``expr ("," expr)* ")"`` of a call or an ``in`` list, after ``(``."""
        self._enter()
        items = [self._parse_expr()]
        while self._match(TokenType.COMMA):
            items.append(self._parse_expr())
        self._depth -= 1
        separate = "separate the items with `,`"
        self._expect_closing(opening, hint=separate)
        return tuple(items)

    def _expect_closing(self, opening: Token, *, hint: str | None) -> None:
        """Consume the ``)`` of ``opening``; ``hint`` is for an operand where ``)`` belongs."""
        if self._match(TokenType.RPAREN):
            return
        token = self._peek()
        where = f"line {opening.span.line}, col {opening.span.col}"
        hint = hint if token.type in _OPERAND_STARTS else None
        raise self._error(f"missing `)` to close `(` at {where}", token, hint=hint)

    def _parse_end(self) -> None:
        token = self._peek()
        if token.type is TokenType.EOF:
            return
        if token.type is TokenType.RPAREN:
            raise self._error("unexpected `)`", token, hint="no `(` is open here")
        hint = None
        previous = self._previous()
        if token.type is TokenType.NAME and previous.type is TokenType.NAME:
            name = f"{previous.text} {token.text}"
            hint = f"write a name with spaces in backquotes, e.g. {to_text(Name(name))}"
        message = f"unexpected `{token.text}` after the end of the expression"
        raise self._error(message, token, hint=hint)

    def _expected_expression(self, token: Token) -> ParseError:
        """The error for ``token`` where an operand should start."""
        message = "expected an expression"
        if self._pos > 0:
            message += f" after `{_display(self._previous())}`"
        hint = None
        if token.type is TokenType.NOT:
            hint = "put `not` in parentheses: `(not …)`"
        elif token.type in _KEYWORD_TYPES:
            keyword = token.text.lower()
            hint = f"`{keyword}` is a keyword; write a name `{keyword}` in backquotes"
        return self._error(message, token, hint=hint)


def _display(token: Token) -> str:
    """How a message names a token: keywords lower-case, everything else as written."""
    return token.text.lower() if token.type in _KEYWORD_TYPES else token.text
