"""Parser for upstream's `filterQuery` language (a SQL WHERE clause subset).

    (name = "model-a" OR name LIKE 'mnist%') AND state = "LIVE" AND accuracy > 0.95
    framework.string_value = "onnx" AND `mlflow.source.type` IN ("notebook", "job")

Operators `= != <> < > <= >= LIKE ILIKE IN`, `AND` / `OR` and parentheses; values are quoted
strings, integers, floats, `true` / `false` and `(v1, v2, ...)` lists. A property is a built-in
field or a custom property, optionally with a type suffix (`.string_value`, `.int_value`,
`.double_value`, `.bool_value`); backticks quote names with other characters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from registry_local.errors import BadRequest, shown

Scalar = str | int | float | bool
TYPE_SUFFIXES = ("string_value", "int_value", "double_value", "bool_value")
MAX_LENGTH = 65536  # characters; as long as the HTTP parser lets a URL be
MAX_DEPTH = 32
MAX_COMPARISONS = 100
MAX_LIST = 1000
INT64_MAX = 2**63 - 1

TOKEN = re.compile(
    r"""(?P<space>\s+|--[^\r\n]*)
    |(?P<float>[-+]?\d*\.\d+(?:[eE][-+]?\d+)?|[-+]?\d+[eE][-+]?\d+)
    |(?P<int>[-+]?\d+)
    |(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    |(?P<escaped>`(?:[^`\\]|\\.)*`)
    |(?P<operator>>=|<=|!=|<>|=|>|<)
    |(?P<punct>[().,])
    |(?P<ident>[a-zA-Z_][a-zA-Z0-9_]*)""",
    re.VERBOSE | re.DOTALL | re.ASCII,  # \d and \s: ASCII digits and spaces only
)
WORD_OPERATORS = ("LIKE", "ILIKE", "IN")
ESCAPE = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True)
class Comparison:
    """`property[.type] operator value` — one leaf of the filter."""

    prop: str
    value_type: str | None
    operator: str
    value: Scalar | tuple[Scalar, ...]


@dataclass(frozen=True)
class Junction:
    """`AND` or `OR` over two or more sub-expressions."""

    operator: str
    terms: tuple[Comparison | Junction, ...]


Expression = Comparison | Junction


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


def tokenize(text: str) -> Iterator[Token]:
    """The tokens of `text`, read as the parser asks for them (so it can stop early)."""
    position = 0
    while position < len(text):
        match = TOKEN.match(text, position)
        if match is None:
            raise _error(f"unexpected character {shown(text[position])}", position)
        kind = match.lastgroup or ""
        if kind != "space":
            yield Token(kind, match.group(), position)
        position = match.end()


def parse_filter(text: str | None) -> Expression | None:
    """The parsed filter, None for an absent or blank one; BadRequest when malformed."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_LENGTH:
        raise BadRequest(f"invalid filterQuery: longer than {MAX_LENGTH} characters")
    if "\x00" in text:
        raise BadRequest("invalid filterQuery: NUL characters are not allowed")
    parser = _Parser(tokenize(text), len(text))
    expression = parser.expression(depth=0)
    if parser.peek() is not None:
        raise _error("unexpected trailing input", parser.position())
    return expression


def _error(message: str, position: int) -> BadRequest:
    return BadRequest(f"invalid filterQuery: {message} at offset {position}")


class _Parser:
    def __init__(self, tokens: Iterator[Token], end: int) -> None:
        self.tokens = tokens
        self.end = end
        self.next = next(tokens, None)
        self.comparisons = 0

    def peek(self) -> Token | None:
        return self.next

    def position(self) -> int:
        return self.next.position if self.next else self.end

    def take(self) -> Token:
        token = self.next
        if token is None:
            raise _error("unexpected end of filter", self.end)
        self.next = next(self.tokens, None)
        return token

    def keyword(self, word: str) -> bool:
        token = self.next
        if token is not None and token.kind == "ident" and token.text.upper() == word:
            self.take()
            return True
        return False

    def punct(self, char: str) -> bool:
        token = self.next
        if token is not None and token.kind == "punct" and token.text == char:
            self.take()
            return True
        return False

    def expression(self, depth: int) -> Expression:
        if depth > MAX_DEPTH:
            raise _error("parentheses nested too deeply", self.position())
        terms = [self.conjunction(depth)]
        while self.keyword("OR"):
            terms.append(self.conjunction(depth))
        return terms[0] if len(terms) == 1 else Junction("OR", tuple(terms))

    def conjunction(self, depth: int) -> Expression:
        terms = [self.term(depth)]
        while self.keyword("AND"):
            terms.append(self.term(depth))
        return terms[0] if len(terms) == 1 else Junction("AND", tuple(terms))

    def term(self, depth: int) -> Expression:
        if self.punct("("):
            inner = self.expression(depth + 1)
            if not self.punct(")"):
                raise _error("expected ')'", self.position())
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise _error(f"more than {MAX_COMPARISONS} comparisons", self.position())
        prop, value_type = self.property()
        operator = self.operator()
        value = self.value_list() if operator == "IN" else self.scalar()
        return Comparison(prop, value_type, operator, value)

    def property(self) -> tuple[str, str | None]:
        token = self.take()
        if token.kind == "escaped":
            return ESCAPE.sub(r"\1", token.text[1:-1]), self.type_suffix()
        if token.kind != "ident":
            raise _error(f"expected a property name, got {shown(token.text)}", token.position)
        parts = [token.text]
        while self.punct("."):
            part = self.take()
            if part.kind != "ident":
                raise _error("expected a name after '.'", part.position)
            parts.append(part.text)
        if len(parts) > 1 and parts[-1].lower() in TYPE_SUFFIXES:
            return ".".join(parts[:-1]), parts[-1].lower()
        return ".".join(parts), None

    def type_suffix(self) -> str | None:
        if not self.punct("."):
            return None
        token = self.take()
        if token.kind != "ident" or token.text.lower() not in TYPE_SUFFIXES:
            raise _error(f"expected one of {', '.join(TYPE_SUFFIXES)}", token.position)
        return token.text.lower()

    def operator(self) -> str:
        token = self.take()
        if token.kind == "operator":
            return "!=" if token.text == "<>" else token.text
        if token.kind == "ident" and token.text.upper() in WORD_OPERATORS:
            return token.text.upper()
        raise _error(f"expected an operator, got {shown(token.text)}", token.position)

    def value_list(self) -> Scalar | tuple[Scalar, ...]:
        if not self.punct("("):
            return self.scalar()
        values: list[Scalar] = []
        if not self.punct(")"):
            values.append(self.scalar())
            while self.punct(","):
                values.append(self.scalar())
            if not self.punct(")"):
                raise _error("expected ')' to close the IN list", self.position())
        if len(values) > MAX_LIST:
            raise _error(f"IN lists hold at most {MAX_LIST} values", self.position())
        return tuple(values)

    def scalar(self) -> Scalar:
        token = self.take()
        if token.kind == "string":
            return ESCAPE.sub(r"\1", token.text[1:-1])
        if token.kind == "int":
            number = int(token.text)
            if not -INT64_MAX - 1 <= number <= INT64_MAX:
                raise _error("integer out of the 64-bit range", token.position)
            return number
        if token.kind == "float":
            return _finite(float(token.text), token.position)
        if token.kind == "ident" and token.text.lower() in ("true", "false"):
            return token.text.lower() == "true"
        raise _error(f"expected a value, got {shown(token.text)}", token.position)


def _finite(number: float, position: int) -> float:
    if not math.isfinite(number):
        raise _error("number out of range", position)
    return number
