"""Label and field selectors, parsed and matched the way kube-apiserver does.

The server answers a selector it cannot parse, or a field selector on a field the kind
does not index, with 400 and the :class:`SelectorError` message; so code that relies on a
selector a real cluster would refuse (``spec.type=NodePort`` on Services) fails in tests.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn


class SelectorError(ValueError):
    """A selector that does not parse, or names a field that cannot be selected on."""


# --- label selectors -----------------------------------------------------------------------

_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_NAME_RE = re.compile(_NAME)
_DNS_SUBDOMAIN_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_TOKEN_RE = re.compile(r"\s*(!=|==|=|!|\(|\)|,|>|<|[^\s=!(),<>]+)")
_SET_OPERATORS = frozenset({"in", "notin"})
_EQUALITY_OPERATORS = {"=": "=", "==": "=", "!=": "!="}
_KEYWORDS = frozenset({"in", "notin", "!=", "==", "=", "!", "(", ")", ",", ">", "<"})


@dataclass(frozen=True, slots=True)
class Requirement:
    """One clause: ``key``, ``!key``, ``key=v``, ``key!=v``, ``key in (..)``, ``key>n``...

    ``operator`` is one of exists, !, =, !=, in, notin, >, <.
    """

    key: str
    operator: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key, "")
        match self.operator:
            case "exists":
                return present
            case "!":
                return not present
            case "=" | "in":
                return present and value in self.values
            case "!=" | "notin":
                return not present or value not in self.values
            case _:
                return present and _compare(value, self.operator, next(iter(self.values)))


def _compare(value: str, operator: str, bound: str) -> bool:
    try:
        number = int(value)
    except ValueError:
        return False
    return number > int(bound) if operator == ">" else number < int(bound)


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A conjunction of requirements; empty matches every object."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        return all(requirement.matches(labels or {}) for requirement in self.requirements)


def parse_label_selector(text: str) -> LabelSelector:
    """Parse the ``labelSelector`` query parameter (labels.Parse syntax)."""
    tokens = _Tokens(text)
    requirements: list[Requirement] = []
    while not tokens.at_end():
        requirements.append(_requirement(tokens))
        if not tokens.at_end():
            tokens.expect(",")
            if tokens.at_end():
                tokens.fail("found end of selector, expected a requirement after ','")
    return LabelSelector(tuple(requirements))


class _Tokens:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items = list(_tokenize(text))
        self.position = 0

    def at_end(self) -> bool:
        return self.position >= len(self.items)

    def peek(self) -> str | None:
        return None if self.at_end() else self.items[self.position]

    def take(self) -> str | None:
        token = self.peek()
        self.position += 1
        return token

    def expect(self, wanted: str) -> None:
        token = self.take()
        if token != wanted:
            self.fail(f"found {_describe(token)}, expected {wanted!r}")

    def identifier(self, what: str) -> str:
        token = self.take()
        if token is None or token in _KEYWORDS:
            self.fail(f"found {_describe(token)}, expected {what}")
        return token

    def value(self) -> str:
        """A label value: as in labels.Parse, `in` and `notin` are plain words here."""
        if self.peek() in ("in", "notin"):
            return str(self.take())
        return self.identifier("a value")

    def fail(self, reason: str) -> NoReturn:
        raise SelectorError(f"unable to parse label selector {self.text!r}: {reason}")


def _tokenize(text: str) -> Iterator[str]:
    position = 0
    while position < len(text):
        if text[position:].isspace():
            return
        found = _TOKEN_RE.match(text, position)
        if found is None:  # pragma: no cover - the pattern accepts every character
            raise SelectorError(f"unable to parse label selector {text!r}")
        yield found.group(1)
        position = found.end()


def _describe(token: str | None) -> str:
    return "end of selector" if token is None else repr(token)


def _requirement(tokens: _Tokens) -> Requirement:
    if tokens.peek() == "!":
        tokens.take()
        return Requirement(_label_key(tokens, tokens.identifier("a label key")), "!")
    key = _label_key(tokens, tokens.identifier("a label key"))
    operator = tokens.peek()
    if operator is None or operator == ",":
        return Requirement(key, "exists")
    tokens.take()
    if operator in _EQUALITY_OPERATORS:
        value = "" if tokens.peek() in (None, ",") else tokens.value()
        return Requirement(
            key, _EQUALITY_OPERATORS[operator], frozenset({_label_value(tokens, value)})
        )
    if operator in _SET_OPERATORS:
        return Requirement(key, operator, _value_set(tokens, operator))
    if operator in (">", "<"):
        bound = tokens.identifier("an integer")
        if not re.fullmatch(r"-?\d+", bound):
            tokens.fail(f"for {operator!r}, the value must be an integer, not {bound!r}")
        return Requirement(key, operator, frozenset({bound}))
    tokens.fail(f"found {operator!r}, expected an operator (=, ==, !=, in, notin, >, <)")


def _value_set(tokens: _Tokens, operator: str) -> frozenset[str]:
    tokens.expect("(")
    if tokens.peek() == ")":
        tokens.fail(f"for {operator!r}, the values set can't be empty")
    values: set[str] = set()
    while True:
        value = "" if tokens.peek() in (",", ")") else tokens.value()
        values.add(_label_value(tokens, value))
        closing = tokens.take()
        if closing == ")":
            return frozenset(values)
        if closing != ",":
            tokens.fail(f"found {_describe(closing)}, expected ',' or ')'")


def _label_key(tokens: _Tokens, key: str) -> str:
    prefix, slash, name = key.rpartition("/")
    valid = bool(_NAME_RE.fullmatch(name)) and len(name) <= 63
    if slash:
        valid = valid and bool(_DNS_SUBDOMAIN_RE.fullmatch(prefix)) and len(prefix) <= 253
    if not valid:
        tokens.fail(f"invalid label key {key!r}")
    return key


def _label_value(tokens: _Tokens, value: str) -> str:
    if value and not (_NAME_RE.fullmatch(value) and len(value) <= 63):
        tokens.fail(f"invalid label value {value!r}")
    return value


# --- field selectors -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    field: str
    operator: str  # "=" or "!="
    value: str

    def matches(self, obj: Mapping[str, Any]) -> bool:
        equal = field_value(obj, self.field) == self.value
        return equal if self.operator == "=" else not equal


@dataclass(frozen=True, slots=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(requirement.matches(obj) for requirement in self.requirements)


def parse_field_selector(text: str, allowed: Collection[str]) -> FieldSelector:
    """Parse the ``fieldSelector`` query parameter, accepting only ``allowed`` fields."""
    requirements = []
    for term in _split_unescaped(text, ","):
        if not term:
            continue
        field, operator, raw_value = _split_term(term)
        if field not in allowed:
            raise SelectorError(f"field label not supported: {field}")
        requirements.append(FieldRequirement(field, operator, _unescape(raw_value, text)))
    return FieldSelector(tuple(requirements))


def field_value(obj: Mapping[str, Any], field: str) -> str:
    """The string a field selector compares: missing is "", booleans are true/false."""
    node: Any = obj
    for part in field.split("."):
        if not isinstance(node, Mapping):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        current.append("\\")
    parts.append("".join(current))
    return parts


def _split_term(term: str) -> tuple[str, str, str]:
    index = 0
    while index < len(term):
        if term[index] == "\\":
            index += 2
            continue
        for operator, meaning in (("!=", "!="), ("==", "="), ("=", "=")):
            if term.startswith(operator, index):
                return term[:index].strip(), meaning, term[index + len(operator) :]
        index += 1
    raise SelectorError(f"invalid selector: '{term}'; can't understand '{term}'")


def _unescape(value: str, text: str) -> str:
    result, escaped = [], False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise SelectorError(f"invalid field selector {text!r}: invalid escape \\{char}")
            result.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise SelectorError(f"invalid field selector {text!r}: unescaped {char!r} in value")
        else:
            result.append(char)
    if escaped:
        raise SelectorError(f"invalid field selector {text!r}: unterminated escape")
    return "".join(result)
