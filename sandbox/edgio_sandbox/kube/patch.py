"""The four PATCH flavours kube-apiserver accepts, as pure functions on JSON values.

The emulator applies them to stored objects; none of them mutates its arguments, so a
failed patch leaves the stored object untouched. Every failure is a :class:`PatchError`,
which the server answers with a ``kind: Status`` body instead of a traceback.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

JsonObject = dict[str, Any]


class PatchError(ValueError):
    """A patch that cannot be applied: malformed, or failing against this target."""


# --- RFC 7386 JSON merge patch -------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- RFC 6902 JSON patch -------------------------------------------------------------------


def json_patch(target: Any, operations: list[dict[str, Any]]) -> Any:
    """RFC 6902: apply the operations in order; any failure rejects the whole patch."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    document = copy.deepcopy(target)
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise PatchError(f"operation {index} is not an object")
        name = operation.get("op")
        apply = _OPERATIONS.get(name) if isinstance(name, str) else None
        if apply is None:
            raise PatchError(f"operation {index}: unknown op {name!r}")
        document = apply(document, operation)
    return document


def _pointer(operation: dict[str, Any], member: str = "path") -> list[str]:
    """Split a JSON pointer (RFC 6901) into unescaped reference tokens."""
    text = operation.get(member)
    if not isinstance(text, str):
        raise PatchError(f"operation {operation.get('op')}: missing or invalid {member!r}")
    if text == "":
        return []
    if not text.startswith("/"):
        raise PatchError(f"JSON pointer must start with '/': {text!r}")
    return [token.replace("~1", "/").replace("~0", "~") for token in text[1:].split("/")]


def _value(operation: dict[str, Any]) -> Any:
    if "value" not in operation:
        raise PatchError(f"operation {operation['op']} {operation.get('path')!r}: missing value")
    return copy.deepcopy(operation["value"])


def _index(container: list[Any], token: str, *, for_insert: bool) -> int:
    if for_insert and token == "-":
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise PatchError(f"invalid array index {token!r}")
    index = int(token)
    limit = len(container) if for_insert else len(container) - 1
    if index > limit:
        raise PatchError(f"array index {index} out of range")
    return index


def _parent(document: Any, tokens: list[str]) -> Any:
    """The container that holds the last token of the pointer."""
    node = document
    for token in tokens[:-1]:
        node = _child(node, token)
    return node


def _child(node: Any, token: str) -> Any:
    if isinstance(node, dict):
        if token not in node:
            raise PatchError(f"path not found: member {token!r} is missing")
        return node[token]
    if isinstance(node, list):
        return node[_index(node, token, for_insert=False)]
    raise PatchError(f"path not found: cannot descend into a scalar at {token!r}")


def _get(document: Any, tokens: list[str]) -> Any:
    node = document
    for token in tokens:
        node = _child(node, token)
    return node


def _add(document: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _parent(document, tokens)
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, tokens[-1], for_insert=True), value)
    else:
        raise PatchError(f"path not found: cannot add into a scalar at {tokens[-1]!r}")
    return document


def _remove(document: Any, tokens: list[str]) -> tuple[Any, Any]:
    """Remove the target; return the new document and the removed value."""
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _parent(document, tokens)
    removed = _child(parent, tokens[-1])
    if isinstance(parent, dict):
        del parent[tokens[-1]]
    else:
        del parent[_index(parent, tokens[-1], for_insert=False)]
    return document, removed


def _op_add(document: Any, operation: dict[str, Any]) -> Any:
    return _add(document, _pointer(operation), _value(operation))


def _op_remove(document: Any, operation: dict[str, Any]) -> Any:
    return _remove(document, _pointer(operation))[0]


def _op_replace(document: Any, operation: dict[str, Any]) -> Any:
    tokens = _pointer(operation)
    value = _value(operation)
    if not tokens:
        return value
    document, _ = _remove(document, tokens)
    return _add(document, tokens, value)


def _op_move(document: Any, operation: dict[str, Any]) -> Any:
    source, tokens = _pointer(operation, "from"), _pointer(operation)
    if tokens[: len(source)] == source and tokens != source:
        raise PatchError("cannot move a value into one of its own children")
    document, value = _remove(document, source)
    return _add(document, tokens, value)


def _op_copy(document: Any, operation: dict[str, Any]) -> Any:
    value = copy.deepcopy(_get(document, _pointer(operation, "from")))
    return _add(document, _pointer(operation), value)


def _op_test(document: Any, operation: dict[str, Any]) -> Any:
    path = operation.get("path")
    if not json_equal(_get(document, _pointer(operation)), _value(operation)):
        raise PatchError(f"testing value {path} failed: test failed")
    return document


_OPERATIONS: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "add": _op_add,
    "remove": _op_remove,
    "replace": _op_replace,
    "move": _op_move,
    "copy": _op_copy,
    "test": _op_test,
}


def json_equal(left: Any, right: Any) -> bool:
    """JSON equality: unlike Python's ``==``, true is not 1, yet 1 equals 1.0."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(json_equal, left, right))
    numbers = (int, float)
    if isinstance(left, numbers) and isinstance(right, numbers):
        return left == right
    return type(left) is type(right) and bool(left == right)


# --- strategic merge patch and server-side apply -------------------------------------------

# How a list field merges, keyed by its path from the object root with list items left out
# ("spec.template.spec.containers.ports"). A string is the merge key of a list of objects;
# MERGE_PRIMITIVES marks a list of scalars merged as a set. Lists absent here are atomic:
# the patch replaces them, as kube-apiserver does for fields without a patchStrategy.
MERGE_PRIMITIVES = ""

_POD_SPEC_LISTS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "containers.ports": "containerPort",
    "containers.env": "name",
    "containers.volumeMounts": "mountPath",
    "containers.volumeDevices": "devicePath",
    "initContainers.ports": "containerPort",
    "initContainers.env": "name",
    "initContainers.volumeMounts": "mountPath",
    "volumes": "name",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
}

_COMMON_LISTS: dict[str, str] = {
    "metadata.finalizers": MERGE_PRIMITIVES,
    "metadata.ownerReferences": "uid",
    "status.conditions": "type",
}

_KIND_LISTS: dict[str, dict[str, str]] = {
    "Service": {"spec.ports": "port"},
    "Node": {"status.addresses": "type"},
    "Pod": {f"spec.{path}": key for path, key in _POD_SPEC_LISTS.items()}
    | {"status.podIPs": "ip", "status.hostIPs": "ip"},
    "Deployment": {f"spec.template.spec.{path}": key for path, key in _POD_SPEC_LISTS.items()},
}

_DIRECTIVE = "$patch"
_DELETE_FROM = "$deleteFromPrimitiveList/"
_SET_ORDER = "$setElementOrder/"
_RETAIN_KEYS = "$retainKeys"


def list_merge_keys(kind: str) -> dict[str, str]:
    """The list merge strategy of a kind: path -> merge key (or MERGE_PRIMITIVES)."""
    return _COMMON_LISTS | _KIND_LISTS.get(kind, {})


# A key no list path can be: present in a strategy when merged lists keep the live order.
_LIVE_ORDER = " live order"


def strategic_merge_patch(
    target: JsonObject, patch: JsonObject, kind: str, *, live_order: bool = False
) -> JsonObject:
    """Kubernetes strategic merge patch for a built-in kind.

    Like a merge patch, except that lists the kind declares mergeable are merged (by key,
    or as a set of scalars) instead of replaced, and ``$patch``, ``$retainKeys`` and
    ``$deleteFromPrimitiveList/<field>`` directives are honoured. Merged lists come out
    in the API server's order (the patch's new items first, see :func:`_in_order`), or in
    the live order with new items appended when `live_order` (server-side apply).
    ``$setElementOrder`` is accepted and ignored.
    """
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be a JSON object")
    strategy = list_merge_keys(kind) | ({_LIVE_ORDER: ""} if live_order else {})
    merged = _merge_map(target if isinstance(target, dict) else {}, patch, "", strategy)
    return merged if merged is not None else {}


def apply_patch(target: JsonObject | None, patch: JsonObject, kind: str) -> JsonObject:
    """Server-side apply, simplified: the applied configuration is the object when there
    is none yet, otherwise it is merged in the strategic way (known keyed lists merge by
    key, other lists are replaced). Field ownership is not tracked, so fields a manager
    stops applying are kept rather than removed."""
    if not isinstance(patch, dict):
        raise PatchError("an apply configuration must be a JSON object")
    if target is None:
        return copy.deepcopy(patch)
    return strategic_merge_patch(target, patch, kind, live_order=True)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _merge_map(
    target: JsonObject, patch: JsonObject, path: str, strategy: dict[str, str]
) -> JsonObject | None:
    """Merge a patch map into a target map; None means the patch deletes the map."""
    directive = patch.get(_DIRECTIVE, "merge")
    if directive == "delete":
        return None
    if directive == "replace":
        replacement: JsonObject = _strip_directives(patch)
        return replacement
    if directive != "merge":
        raise PatchError(f"{path or '<root>'}: unknown $patch directive {directive!r}")
    result = dict(target)
    for key, value in patch.items():
        if key.startswith(_DELETE_FROM):
            _delete_from_primitive_list(result, key[len(_DELETE_FROM) :], value, path)
        elif key in (_DIRECTIVE, _RETAIN_KEYS) or key.startswith(_SET_ORDER):
            continue
        elif value is None:
            result.pop(key, None)
        else:
            merged = _merge_value(result.get(key), value, _join(path, key), strategy)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    retain = patch.get(_RETAIN_KEYS)
    if retain is not None:
        if not isinstance(retain, list):
            raise PatchError(f"{path or '<root>'}: $retainKeys must be a list")
        result = {key: value for key, value in result.items() if key in retain}
    return result


def _merge_value(target: Any, patch: Any, path: str, strategy: dict[str, str]) -> Any:
    if isinstance(patch, dict):
        return _merge_map(target if isinstance(target, dict) else {}, patch, path, strategy)
    if isinstance(patch, list) and path in strategy:
        current = target if isinstance(target, list) else []
        merge_key = strategy[path]
        if merge_key == MERGE_PRIMITIVES:
            return _union(current, patch, live_order=_LIVE_ORDER in strategy)
        return _merge_keyed_list(current, patch, path, merge_key, strategy)
    if isinstance(patch, list):
        return [_strip_directives(item) if isinstance(item, dict) else item for item in patch]
    return copy.deepcopy(patch)


def _union(current: list[Any], patch: list[Any], *, live_order: bool = False) -> list[Any]:
    if live_order:
        result: list[Any] = []
        for item in [*current, *patch]:
            if not any(json_equal(item, seen) for seen in result):
                result.append(copy.deepcopy(item))
        return result
    patched: list[Any] = []
    for item in patch:
        if not any(json_equal(item, seen) for seen in patched):
            patched.append(copy.deepcopy(item))
    server_only = [item for item in current if not any(json_equal(item, p) for p in patched)]
    return _in_order(server_only, patched, current, lambda item: item)


def _in_order(
    server_only: list[Any], patched: list[Any], current: list[Any], key: Callable[[Any], Any]
) -> list[Any]:
    """Interleave the live items the patch left alone with the patch's items, as the API
    server's normalizeElementOrder does: each list keeps its own order; a live item goes
    before a patch item only when both were in the live list and it came first there."""

    def position(item: Any) -> int | None:
        return next((i for i, old in enumerate(current) if json_equal(key(old), key(item))), None)

    result: list[Any] = []
    i = j = 0
    while i < len(server_only) or j < len(patched):
        if j >= len(patched):
            result.append(server_only[i])
            i += 1
            continue
        if i < len(server_only):
            left, right = position(server_only[i]), position(patched[j])
            if left is not None and right is not None and left < right:
                result.append(server_only[i])
                i += 1
                continue
        result.append(patched[j])
        j += 1
    return result


def _merge_keyed_list(
    current: list[Any], patch: list[Any], path: str, merge_key: str, strategy: dict[str, str]
) -> list[Any]:
    if any(isinstance(item, dict) and item.get(_DIRECTIVE) == "replace" for item in patch):
        return [
            _strip_directives(item)
            for item in patch
            if not (isinstance(item, dict) and item.get(_DIRECTIVE) == "replace")
        ]
    result = list(current)
    patched: list[Any] = []
    touched: list[Any] = []
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(f"{path}: list items must be objects merged by {merge_key!r}")
        if merge_key not in item:
            raise PatchError(f"{path}: map does not contain declared merge key: {merge_key}")
        touched.append(item[merge_key])
        position = next(
            (
                i
                for i, old in enumerate(result)
                if isinstance(old, dict) and json_equal(old.get(merge_key), item[merge_key])
            ),
            None,
        )
        if item.get(_DIRECTIVE) == "delete":
            if position is not None:
                del result[position]
            continue
        merged = _merge_map(result[position] if position is not None else {}, item, path, strategy)
        if position is None:
            result.append(merged)
        else:
            result[position] = merged
        patched.append(merged)
    if _LIVE_ORDER in strategy:
        return result

    def key(item: Any) -> Any:
        return item.get(merge_key) if isinstance(item, dict) else None

    server_only = [item for item in result if not any(json_equal(key(item), k) for k in touched)]
    return _in_order(server_only, patched, current, key)


def _delete_from_primitive_list(result: JsonObject, field: str, values: Any, path: str) -> None:
    if not isinstance(values, list):
        raise PatchError(f"{_join(path, field)}: $deleteFromPrimitiveList needs a list")
    current = result.get(field)
    if isinstance(current, list):
        result[field] = [item for item in current if not any(json_equal(item, v) for v in values)]


def _strip_directives(value: Any) -> Any:
    """A patch value used verbatim, minus any directive keys it carries."""
    if isinstance(value, dict):
        return {
            key: _strip_directives(item)
            for key, item in value.items()
            if not key.startswith("$") and item is not None
        }
    if isinstance(value, list):
        return [_strip_directives(item) for item in value]
    return value
