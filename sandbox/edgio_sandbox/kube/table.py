"""Server-side Table output (``Accept: application/json;as=Table;g=meta.k8s.io;v=v1``).

kubectl asks for tables on ``get``; answering with one lets ``kubectl get er`` show the
CRD's printer columns, as in a cluster. Cells follow the apiextensions table convertor:
the first value a column's JSONPath finds, typed by the column, null when nothing is
found (kubectl prints ``<none>``), dates rendered as ages ("5s", "3m", "2d").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

NAME_COLUMN: dict[str, Any] = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace.",
    "jsonPath": ".metadata.name",
}
AGE_COLUMN: dict[str, Any] = {
    "name": "Age",
    "type": "date",
    "description": "CreationTimestamp is a timestamp representing the server time when this "
    "object was created.",
    "jsonPath": ".metadata.creationTimestamp",
}


class JsonPathError(ValueError):
    """A printer column JSONPath outside the supported subset."""


def default_columns() -> list[dict[str, Any]]:
    """The columns of a kind without printer columns: Name and Age."""
    return [dict(NAME_COLUMN), dict(AGE_COLUMN)]


def to_table(
    objects: list[dict[str, Any]],
    columns: list[dict[str, Any]],
    resource_version: str,
    continue_token: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A meta.k8s.io/v1 Table of ``objects``.

    ``columns`` are CRD ``additionalPrinterColumns``; the Name column comes first whether
    or not they include it, as with kube-apiserver.
    """
    if not columns or columns[0].get("jsonPath") != NAME_COLUMN["jsonPath"]:
        columns = [NAME_COLUMN, *columns]
    paths = [parse_jsonpath(column["jsonPath"]) for column in columns]
    moment = now or datetime.now(UTC)
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [_definition(column) for column in columns],
        "rows": [
            {
                "cells": [
                    _cell(column.get("type", "string"), path.find(obj), moment)
                    for column, path in zip(columns, paths, strict=True)
                ],
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj.get("metadata", {}),
                },
            }
            for obj in objects
        ],
    }


def _definition(column: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": column["name"],
        "type": column.get("type", "string"),
        "format": column.get("format", ""),
        "description": column.get("description")
        or f"Custom resource definition column (in JSONPath format): {column['jsonPath']}",
        "priority": column.get("priority", 0),
    }


def _cell(column_type: str, found: list[Any], now: datetime) -> Any:
    value = found[0] if found else None
    if value is None:
        return None
    if column_type == "string":
        return _print(value)
    if column_type == "integer" and _is_number(value):
        return int(value)
    if column_type == "number" and _is_number(value):
        return float(value)
    if column_type == "boolean" and isinstance(value, bool):
        return value
    if column_type == "date" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return "<invalid>"
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return human_duration((now - moment).total_seconds())
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _print(value: Any) -> str:
    """A value as kubectl's JSONPath printer writes it: strings bare, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def human_duration(seconds: float) -> str:
    """An age the way kubectl prints one (apimachinery's HumanDuration)."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes, hours, days = whole // 60, whole // 3600, whole // 86400
    if minutes < 10:
        return _two_units(minutes, "m", whole % 60, "s")
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return _two_units(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return _two_units(days, "d", hours % 24, "h")
    if hours < 24 * 365 * 2:
        return f"{days}d"
    if hours < 24 * 365 * 8:
        return _two_units(days // 365, "y", days % 365, "d")
    return f"{days // 365}y"


def _two_units(major: int, major_unit: str, minor: int, minor_unit: str) -> str:
    return f"{major}{major_unit}" + (f"{minor}{minor_unit}" if minor else "")


# --- the JSONPath subset printer columns use -----------------------------------------------

_STEP_RE = re.compile(
    r"""\.(?P<star>\*)
      | \.(?P<key>[^.\[\]]+)
      | \[\s*(?P<index>-?\d+)\s*\]
      | \[\s*(?P<all>\*)\s*\]
      | \[\s*(?P<quote>['"])(?P<quoted>.*?)(?P=quote)\s*\]
      | \[\s*\?\(\s*@(?P<left>(?:\.[^.\s=!<>)]+)*)\s*
            (?:(?P<op>==|!=|<=|>=|<|>)\s*(?P<right>'[^']*'|"[^"]*"|-?\d+(?:\.\d+)?))?\s*\)\s*\]
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Filter:
    path: tuple[str, ...]
    operator: str | None
    literal: Any

    def accepts(self, item: Any) -> bool:
        found = _walk([item], [("key", name) for name in self.path])
        if self.operator is None:
            return bool(found)
        return any(_compare(value, self.operator, self.literal) for value in found)


@dataclass(frozen=True, slots=True)
class JsonPath:
    steps: tuple[tuple[str, Any], ...]

    def find(self, obj: Any) -> list[Any]:
        """Every value the path reaches; missing keys simply yield nothing."""
        return _walk([obj], self.steps)


def parse_jsonpath(text: str) -> JsonPath:
    """Parse ``.a.b``, ``.a[0]``, ``.a[*].b``, ``.a['x.y']``, ``.a[?(@.type=="Ready")].b``."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1].strip()
    steps: list[tuple[str, Any]] = []
    position = 0
    while position < len(body):
        match = _STEP_RE.match(body, position)
        if match is None:
            raise JsonPathError(f"unsupported JSONPath {text!r} at {body[position:]!r}")
        steps.append(_step(match))
        position = match.end()
    return JsonPath(tuple(steps))


def _step(match: re.Match[str]) -> tuple[str, Any]:
    groups = match.groupdict()
    if groups["key"] is not None:
        return ("key", groups["key"])
    if groups["index"] is not None:
        return ("index", int(groups["index"]))
    if groups["all"] or groups["star"]:
        return ("all", None)
    if groups["quote"] is not None:
        return ("key", groups["quoted"])
    right = groups["right"]
    literal = json.loads(right) if right and right[0] not in "'\"" else (right or "")[1:-1]
    path = tuple(part for part in (groups["left"] or "").split(".") if part)
    return ("filter", _Filter(path, groups["op"], literal))


def _walk(values: list[Any], steps: Iterable[tuple[str, Any]]) -> list[Any]:
    for kind, argument in steps:
        values = [found for value in values for found in _apply(kind, argument, value)]
    return values


def _apply(kind: str, argument: Any, value: Any) -> list[Any]:
    if kind == "key":
        return [value[argument]] if isinstance(value, dict) and argument in value else []
    if kind == "index":
        if isinstance(value, list) and -len(value) <= argument < len(value):
            return [value[argument]]
        return []
    if kind == "all":
        if isinstance(value, dict):
            return list(value.values())
        return list(value) if isinstance(value, list) else []
    if isinstance(value, list):
        return [item for item in value if argument.accepts(item)]
    return []


def _compare(value: Any, operator: str, literal: Any) -> bool:
    if isinstance(literal, str):
        if not isinstance(value, str):
            return False
    elif not _is_number(value):
        return False
    match operator:
        case "==":
            return bool(value == literal)
        case "!=":
            return bool(value != literal)
        case "<":
            return bool(value < literal)
        case ">":
            return bool(value > literal)
        case "<=":
            return bool(value <= literal)
        case _:
            return bool(value >= literal)
