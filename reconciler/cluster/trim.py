"""What the informers keep of each object, and which changes of it wake the loop.

Like client-go's transform functions, each resource is trimmed to the fields a pass
reads before it is cached: `managedFields` alone are often as large as the rest of the
object, and 10,000 routes are kept twice while a pass runs (the snapshot and the cache).
What is kept was read off `reconciler/derive`, `routeset.py`, `facts.py` and `status.py`;
`tests/cluster/test_trim.py` checks that a pass over trimmed objects decides the same.

EdgioRoutes lose only their `managedFields`: a route is written back whole (a replace
with its resourceVersion), so anything dropped here would be deleted from the server;
an update without `managedFields` keeps the stored ones.

A change wakes the loop only when the part of the object a pass acts on changed, as
controller-runtime's GenerationChangedPredicate does: the `status` of EdgioRoutes and
Ingresses (written by the pass itself) and the resourceVersion do not count. The cache
still stores the new object, so the next pass reads it.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Obj = dict[str, Any]
Transform = Callable[[Obj], Obj]
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
IDENTITY = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp")
SERVICE_SPEC = ("type", "ports", "externalTrafficPolicy")
NODE_METADATA = (*IDENTITY, "labels", "deletionTimestamp")


def route(obj: Obj) -> Obj:
    """All but `managedFields` (see the module's docstring)."""
    return {**obj, "metadata": _unmanaged(obj.get("metadata") or {})}


def whole(obj: Obj) -> Obj:
    """Everything but `managedFields` and the copy of the object `kubectl apply` keeps."""
    return {**obj, "metadata": _metadata(obj.get("metadata") or {})}


def service(obj: Obj) -> Obj:
    """Its identity and the spec fields a backend is resolved from (type and ports)."""
    return {
        **_kind(obj),
        "metadata": _pick(obj.get("metadata") or {}, IDENTITY),
        "spec": _pick(obj.get("spec") or {}, SERVICE_SPEC),
    }


def node(obj: Obj) -> Obj:
    """Labels, deletion, cordon, taints, readiness and addresses: what makes a node an
    origin (a node the cluster autoscaler is removing is tainted, not cordoned).

    Conditions keep their type and status only, so kubelet's heartbeats (which rewrite
    their timestamps) leave the cached node unchanged and wake nothing; taints keep
    their key and effect, which is all a pass reads of them."""
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    conditions = [_pick(c, ("type", "status")) for c in status.get("conditions") or []]
    taints = [_pick(t, ("key", "effect")) for t in spec.get("taints") or []]
    return {
        **_kind(obj),
        "metadata": _pick(obj.get("metadata") or {}, NODE_METADATA),
        "spec": {**_pick(spec, ("unschedulable",)), **({"taints": taints} if taints else {})},
        "status": {"conditions": conditions, "addresses": status.get("addresses") or []},
    }


def shared(value: Any, like: Any = None) -> Any:
    """A decoded object rebuilt with its strings interned, and with every part equal to
    the same part of `like` (its previous version) being that very part.

    Every watch event and listing decodes its own copy of each key and of repeated
    values (condition types, reasons, messages, hosts, timestamps), which at 10,000
    routes was most of the caches' size; interned strings are freed once nothing uses
    them. And an object's old version often lives on beside the new one (the snapshot
    of a running pass, the memo of the last one): a status write changes the status
    only, so the new version's spec and most of its metadata are the old one's objects
    instead of copies. Parts are shared, never changed in place (see `reconciler.derive.memo`).
    """
    if isinstance(value, dict):
        return _shared_dict(value, like if isinstance(like, dict) else None)
    if isinstance(value, list):
        return _shared_list(value, like if isinstance(like, list) else None)
    if isinstance(value, str):
        return sys.intern(value)
    return like if type(like) is type(value) and like == value else value


def _shared_dict(value: Obj, like: Obj | None) -> Obj:
    old = like or {}
    built = {sys.intern(k): shared(v, old.get(k)) for k, v in value.items()}
    if (
        like is not None
        and len(like) == len(built)
        and all(k in like and like[k] is v for k, v in built.items())
    ):
        return like
    return built


def _shared_list(value: list[Any], like: list[Any] | None) -> list[Any]:
    if like is None or len(like) != len(value):
        return [shared(v) for v in value]
    built = [shared(v, old) for v, old in zip(value, like, strict=True)]
    return like if all(map(operator.is_, built, like)) else built


def view(obj: Mapping[str, Any], ignored: Iterable[str] = ()) -> Obj:
    """What a change is judged by: the object without its resourceVersion and `ignored`
    top-level fields."""
    skip = set(ignored)
    found = {k: v for k, v in obj.items() if k not in skip and k != "metadata"}
    metadata = obj.get("metadata") or {}
    found["metadata"] = {k: v for k, v in metadata.items() if k != "resourceVersion"}
    return found


def _unmanaged(metadata: Mapping[str, Any]) -> Obj:
    return {k: v for k, v in metadata.items() if k != "managedFields"}


def _metadata(metadata: Mapping[str, Any]) -> Obj:
    kept = _unmanaged(metadata)
    annotations = metadata.get("annotations")
    if annotations and LAST_APPLIED in annotations:
        kept["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return kept


def _kind(obj: Mapping[str, Any]) -> Obj:
    return _pick(obj, ("apiVersion", "kind"))


def _pick(source: Mapping[str, Any], keys: Iterable[str]) -> Obj:
    return {k: source[k] for k in keys if k in source}
