"""Structural OpenAPI v3 schemas, as custom resources get them from their CRD.

A real apiserver prunes fields the schema does not declare, applies defaults and then
validates, in that order. The emulator does the same so that a controller writing an
undeclared field loses it in tests exactly as it would in a cluster, and so that a bad
object is refused with kube-apiserver's own wording (422, naming the field).
"""

from __future__ import annotations

import base64
import binascii
import copy
import ipaddress
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edgio_sandbox.kube.patch import json_equal

Schema = dict[str, Any]

_ROOT_FIELDS = ("apiVersion", "kind", "metadata")


@dataclass(frozen=True, slots=True)
class SchemaError:
    """One field error; ``str()`` reads like kube-apiserver's field.Error."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# --- validation ----------------------------------------------------------------------------


def validate(obj: Any, schema: Schema) -> list[SchemaError]:
    """Every violation of ``schema`` in ``obj``, in document order; empty when valid."""
    errors: list[SchemaError] = []
    _validate(obj, schema, "", errors)
    return errors


def _validate(value: Any, schema: Schema, path: str, errors: list[SchemaError]) -> None:
    if value is None and schema.get("nullable"):
        return
    if not _type_ok(value, schema, path, errors):
        return
    if "enum" in schema and not any(json_equal(value, allowed) for allowed in schema["enum"]):
        errors.append(_unsupported(path, value, schema["enum"]))
    if isinstance(value, str):
        _validate_string(value, schema, path, errors)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _validate_number(value, schema, path, errors)
    elif isinstance(value, list):
        _validate_array(value, schema, path, errors)
    elif isinstance(value, dict):
        _validate_object(value, schema, path, errors)


def _type_ok(value: Any, schema: Schema, path: str, errors: list[SchemaError]) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        wanted = "integer,string"
        ok = isinstance(value, str) or _is_integer(value)
    elif "type" in schema:
        wanted = schema["type"]
        ok = _TYPE_CHECKS.get(wanted, lambda _: True)(value)
    else:
        return True
    if not ok:
        actual = _json_type(value)
        errors.append(_invalid(path, actual, f"must be of type {wanted}: {_quote(actual)}"))
    return ok


def _validate_string(value: str, schema: Schema, path: str, errors: list[SchemaError]) -> None:
    length = len(value)
    if "maxLength" in schema and length > schema["maxLength"]:
        errors.append(SchemaError(path, f"Too long: may not be longer than {schema['maxLength']}"))
    if "minLength" in schema and length < schema["minLength"]:
        errors.append(_invalid(path, value, f"should be at least {schema['minLength']} chars long"))
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(_invalid(path, value, f"should match '{schema['pattern']}'"))
    check = _STRING_FORMATS.get(schema.get("format", ""))
    if check is not None and not check(value):
        errors.append(_invalid(path, value, f"must be of type {schema['format']}: {_quote(value)}"))


def _validate_number(value: float, schema: Schema, path: str, errors: list[SchemaError]) -> None:
    if "minimum" in schema:
        bound = schema["minimum"]
        if schema.get("exclusiveMinimum") and value <= bound:
            errors.append(_invalid(path, value, f"should be greater than {_go(bound)}"))
        elif value < bound:
            errors.append(_invalid(path, value, f"should be greater than or equal to {_go(bound)}"))
    if "maximum" in schema:
        bound = schema["maximum"]
        if schema.get("exclusiveMaximum") and value >= bound:
            errors.append(_invalid(path, value, f"should be less than {_go(bound)}"))
        elif value > bound:
            errors.append(_invalid(path, value, f"should be less than or equal to {_go(bound)}"))
    factor = schema.get("multipleOf")
    if factor and (value / factor) != int(value / factor):
        errors.append(_invalid(path, value, f"should be a multiple of {_go(factor)}"))


def _validate_array(value: list[Any], schema: Schema, path: str, errors: list[SchemaError]) -> None:
    count = len(value)
    if "maxItems" in schema and count > schema["maxItems"]:
        errors.append(
            SchemaError(path, f"Too many: {count}: must have at most {schema['maxItems']} items")
        )
    if "minItems" in schema and count < schema["minItems"]:
        errors.append(_invalid(path, count, f"should have at least {schema['minItems']} items"))
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            _validate(item, items, f"{path}[{index}]", errors)
    _check_unique(value, schema, path, errors)


def _check_unique(value: list[Any], schema: Schema, path: str, errors: list[SchemaError]) -> None:
    """``x-kubernetes-list-type`` set and map lists refuse duplicates, so that two
    conditions of one type (say) are a 422 here as in a cluster."""
    list_type = schema.get("x-kubernetes-list-type")
    if list_type not in ("set", "map"):
        return
    key_names = schema.get("x-kubernetes-list-map-keys", [])
    seen: list[Any] = []
    for index, item in enumerate(value):
        if list_type == "map":
            if not isinstance(item, dict):
                continue
            key = {name: item.get(name) for name in key_names}
            shown = json.dumps(key, separators=(",", ":"))  # as kube-apiserver 1.34 shows it
        else:
            key, shown = item, _go_value(item)
        if any(json_equal(key, other) for other in seen):
            errors.append(SchemaError(f"{path}[{index}]", f"Duplicate value: {shown}"))
        seen.append(key)


def _validate_object(
    value: dict[str, Any], schema: Schema, path: str, errors: list[SchemaError]
) -> None:
    properties: dict[str, Schema] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            errors.append(SchemaError(_child(path, name), "Required value"))
    extra = schema.get("additionalProperties")
    for name, item in value.items():
        if name in properties:
            _validate(item, properties[name], _child(path, name), errors)
        elif isinstance(extra, dict):
            _validate(item, extra, _child(path, name), errors)


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _invalid(path: str, value: Any, detail: str) -> SchemaError:
    """kube-apiserver's rendering of a kube-openapi failure: the field, the bad value,
    then the validator's own sentence, which names the field again ("in body")."""
    where = path or "<root>"
    return SchemaError(where, f"Invalid value: {_go_value(value)}: {where} in body {detail}")


def _unsupported(path: str, value: Any, allowed: list[Any]) -> SchemaError:
    choices = ", ".join(
        _quote(item if isinstance(item, str) else json.dumps(item)) for item in allowed
    )
    return SchemaError(
        path or "<root>", f"Unsupported value: {_go_value(value)}: supported values: {choices}"
    )


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _go(number: Any) -> str:
    """A number as Go's %v prints it: 1.0 is "1"."""
    if isinstance(number, float) and number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    return str(number)


def _go_value(value: Any) -> str:
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _go(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "integer": _is_integer,
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
}

_HOSTNAME_RE = re.compile(
    r"^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$"
)


def _parses(parse: Callable[[str], object]) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        try:
            parse(text)
        except ValueError:
            return False
        return True

    return check


def _is_date_time(text: str) -> bool:
    return "T" in text.upper() and _parses(datetime.fromisoformat)(text.upper())


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


_STRING_FORMATS: dict[str, Callable[[str], bool]] = {
    "hostname": lambda text: len(text) <= 253 and bool(_HOSTNAME_RE.match(text)),
    "ipv4": _parses(ipaddress.IPv4Address),
    "ipv6": _parses(ipaddress.IPv6Address),
    "uuid": _parses(uuid.UUID),
    "date-time": _is_date_time,
    "byte": _is_base64,
}


# --- pruning -------------------------------------------------------------------------------


def prune(obj: Any, schema: Schema) -> Any:
    """A copy of ``obj`` without the fields ``schema`` does not declare.

    apiVersion, kind and metadata of the object itself (and of embedded resources) are
    kept whatever the schema says, as kube-apiserver does.
    """
    return _prune(obj, schema, keep_resource_fields=True)


def _prune(value: Any, schema: Schema, *, keep_resource_fields: bool = False) -> Any:
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            return [_prune(item, items) for item in value]
        return copy.deepcopy(value)
    if not isinstance(value, dict):
        return value
    properties: dict[str, Schema] = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    preserve = schema.get("x-kubernetes-preserve-unknown-fields") or extra is True
    embedded = keep_resource_fields or schema.get("x-kubernetes-embedded-resource", False)
    result: dict[str, Any] = {}
    for name, item in value.items():
        if embedded and name in _ROOT_FIELDS:
            result[name] = copy.deepcopy(item)
        elif name in properties:
            result[name] = _prune(item, properties[name])
        elif isinstance(extra, dict):
            result[name] = _prune(item, extra)
        elif preserve:
            result[name] = copy.deepcopy(item)
    return result


# --- defaulting ----------------------------------------------------------------------------


def apply_defaults(obj: Any, schema: Schema) -> Any:
    """A copy of ``obj`` with each absent (or null, if not nullable) field that has a
    ``default`` set to it; defaults apply inside defaulted values too."""
    return _default(copy.deepcopy(obj), schema)


def _default(value: Any, schema: Schema) -> Any:
    if isinstance(value, list):
        items = schema.get("items")
        return [_default(item, items) for item in value] if isinstance(items, dict) else value
    if not isinstance(value, dict):
        return value
    properties: dict[str, Schema] = schema.get("properties", {})
    for name, sub in properties.items():
        missing = name not in value or (value[name] is None and not sub.get("nullable"))
        if "default" in sub and missing:
            value[name] = copy.deepcopy(sub["default"])
    extra = schema.get("additionalProperties")
    for name, item in value.items():
        item_schema = properties.get(name, extra if isinstance(extra, dict) else None)
        if item_schema is not None:
            value[name] = _default(item, item_schema)
    return value
