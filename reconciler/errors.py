"""Errors users act on: which object, which field, what is wrong.

The CLI prints them, the loop turns them into conditions and Events. They carry no
traceback-worthy state on purpose: bad input is an answer, not a crash.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field, in `kubectl explain` path syntax."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidObject(Exception):
    """An object that cannot be used as written; nothing is derived or published from it."""

    def __init__(self, kind: str, key: str, errors: list[FieldError] | tuple[FieldError, ...]):
        self.kind = kind
        self.key = key
        self.errors = tuple(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        details = "; ".join(str(error) for error in self.errors)
        return f"{self.kind} {self.key}: {details}"
