"""Ingresses + stored EdgioRoutes -> the EdgioRoute writes that make the cluster agree.

Pure and level-triggered: every pass compares all Edgio Ingresses with all stored routes,
so a derived route whose Ingress is gone (or no longer Edgio's) is found by this sweep
whatever events were missed, instead of being left to garbage collection. The cache only
nominates a route for the sweep: `sweep_verdict` judges it on its Ingress as the API
server has it now, since deleting a route unpublishes it. A route a
user wrote directly (no derived-from label) is never overwritten: an Ingress of the same
name is told so instead. Every route that is not being deleted carries our finalizer,
added before anything is published for it.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from reconciler import api
from reconciler.derive.ingress import (
    class_controllers,
    default_classes,
    derive_route,
    is_edgio_ingress,
    object_key,
    shows_our_status,
)
from reconciler.derive.memo import Memo, Memos
from reconciler.errors import InvalidObject

Obj = dict[str, Any]


@dataclass
class RouteSetMemos(Memos):
    """An Ingress's manifest (or why it has none), and whether a stored route agrees with
    it: pure functions of the Ingress (all of it but what `derived_from` leaves out) and
    of the manifest and the route, reused while they stay the same (reconciler.derive.memo)."""

    derived: Memo[Obj | InvalidObject] = field(default_factory=Memo)
    agrees: Memo[bool] = field(default_factory=Memo)


class WriteAction(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    FINALIZE = "add-finalizer"


@dataclass(frozen=True, slots=True)
class RouteWrite:
    """One write of an EdgioRoute: `route` is the object to write (create, update,
    add-finalizer) or the stored one (delete). It is only read: a create's is the
    derived manifest the memo keeps for the next pass."""

    action: WriteAction
    route: Obj
    why: str


@dataclass(frozen=True, slots=True)
class Note:
    """Something to tell the owner of an Ingress with an Event."""

    ingress: Obj
    reason: str
    message: str
    warning: bool = True


@dataclass(frozen=True, slots=True)
class RouteSet:
    writes: tuple[RouteWrite, ...] = ()
    notes: tuple[Note, ...] = ()
    invalid: Mapping[str, InvalidObject] = field(default_factory=dict)  # route key -> errors
    sources: Mapping[str, Obj] = field(default_factory=dict)  # derived route key -> Ingress
    shown: frozenset[str] = frozenset()  # keys of those Ingresses whose load balancer we report


def is_derived(route: Mapping[str, Any]) -> bool:
    labels = (route.get("metadata") or {}).get("labels") or {}
    return labels.get(api.DERIVED_LABEL) == api.DERIVED_FROM_INGRESS


def is_deleting(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def has_finalizer(obj: Mapping[str, Any]) -> bool:
    return api.FINALIZER in ((obj.get("metadata") or {}).get("finalizers") or [])


def route_set(
    ingresses: Iterable[Obj],
    ingress_classes: Iterable[Mapping[str, Any]],
    routes: Iterable[Mapping[str, Any]],
    memos: RouteSetMemos | None = None,
) -> RouteSet:
    """`memos`: what the passes before derived (none: everything is derived)."""
    memos = RouteSetMemos() if memos is None else memos
    classes = list(ingress_classes)
    controllers, defaults = class_controllers(classes), default_classes(classes)
    ours = {
        object_key(i): i
        for i in ingresses
        if is_edgio_ingress(i, controllers, api.CONTROLLER_NAME, defaults)
    }
    stored = {object_key(r): r for r in routes}
    writes: list[RouteWrite] = []
    notes: list[Note] = []
    invalid: dict[str, InvalidObject] = {}
    sources: dict[str, Obj] = {}
    for key in sorted(ours):
        ingress, route = ours[key], stored.get(key)
        if route is not None and not is_derived(route):
            notes.append(_name_taken(ingress, key))
            continue
        sources[key] = ingress
        manifest = memos.derived.get(key, derived_from(ingress), partial(_derived, ingress))
        if isinstance(manifest, InvalidObject):
            invalid[key] = manifest
            notes.append(Note(ingress, api.Reason.INVALID_SPEC, str(manifest)))
            continue
        write = _derived_write(manifest, route, memos.agrees)
        if write is not None:
            writes.append(write)
    for key in sorted(stored):
        writes.extend(_stored_write(stored[key], key in ours))
    shown = frozenset(
        key
        for key, ingress in sources.items()
        if shows_our_status(ingress, controllers, api.CONTROLLER_NAME, defaults)
    )
    return RouteSet(tuple(writes), tuple(notes), invalid, sources, shown)


class Verdict(enum.StrEnum):
    """What the API server says of the Ingress behind a route the cache would sweep."""

    GONE = "gone"  # deleted: the route goes, as the user asked
    RELEASED = "released"  # still there but no longer Edgio's: goes, within the guard
    HELD = "held"  # still Edgio's: the cache is behind or wrong, the route stays


def is_sweep(write: RouteWrite) -> bool:
    return write.action is WriteAction.DELETE and is_derived(write.route)


def sweep_verdict(
    live: Mapping[str, Any] | None, ingress_classes: Iterable[Mapping[str, Any]]
) -> Verdict:
    """`live` is the route's Ingress read from the API server (None: not found)."""
    if live is None:
        return Verdict.GONE
    classes = list(ingress_classes)
    controllers, defaults = class_controllers(classes), default_classes(classes)
    if is_edgio_ingress(live, controllers, api.CONTROLLER_NAME, defaults):
        return Verdict.HELD
    return Verdict.RELEASED


def _name_taken(ingress: Obj, key: str) -> Note:
    return Note(
        ingress,
        api.Reason.NAME_TAKEN,
        f"an EdgioRoute {key} written directly (no {api.DERIVED_LABEL} label) already has "
        "this name; it is left as it is and this Ingress is not published: rename one",
    )


def derived_from(ingress: Mapping[str, Any]) -> tuple[object, ...]:
    """What an Ingress's manifest is derived from, as the memo's inputs: every part of it
    but its status and resourceVersion, which our own hostname writes move. The
    informers keep the unchanged parts of a new version as the old version's very
    objects (`reconciler.cluster.trim.shared`), so those writes do not make the next
    pass derive (and hold, beside the old ones) every manifest again."""
    metadata = ingress.get("metadata") or {}
    return (*_parts(ingress, ("metadata", "status")), *_parts(metadata, ("resourceVersion",)))


def _parts(obj: Mapping[str, Any], skipped: tuple[str, ...]) -> list[object]:
    return [part for key, value in obj.items() if key not in skipped for part in (key, value)]


def _derived(ingress: Mapping[str, Any]) -> Obj | InvalidObject:
    """The route an Ingress becomes, with our finalizer; kept between passes, so it is
    only read: an update takes a copy, a create writes it as it is (a write only reads
    the route it is given)."""
    try:
        manifest = derive_route(ingress).manifest
    except InvalidObject as error:
        return error
    manifest["metadata"]["finalizers"] = [api.FINALIZER]
    return manifest


def _derived_write(
    manifest: Obj, route: Mapping[str, Any] | None, agrees: Memo[bool]
) -> RouteWrite | None:
    if route is None:
        return RouteWrite(WriteAction.CREATE, manifest, "derived from its Ingress")
    if is_deleting(route):
        return None  # recreated once the old one is gone
    if agrees.get(object_key(route), (manifest, route), partial(_agrees, route, manifest)):
        return None
    return RouteWrite(WriteAction.UPDATE, _merged(route, manifest), "its Ingress changed")


def _stored_write(route: Mapping[str, Any], ingress_is_ours: bool) -> list[RouteWrite]:
    if is_deleting(route):
        return []
    if is_derived(route) and not ingress_is_ours:
        why = "its Ingress is gone or no longer Edgio's"
        return [RouteWrite(WriteAction.DELETE, dict(route), why)]
    if not is_derived(route) and not has_finalizer(route):
        updated = copy.deepcopy(dict(route))
        updated["metadata"]["finalizers"] = [
            *(updated["metadata"].get("finalizers") or []),
            api.FINALIZER,
        ]
        return [RouteWrite(WriteAction.FINALIZE, updated, "cleanup on deletion")]
    return []


def _agrees(route: Mapping[str, Any], manifest: Obj) -> bool:
    metadata = route.get("metadata") or {}
    wanted = manifest["metadata"]
    labels = metadata.get("labels") or {}
    return (
        defaulted(route.get("spec") or {}) == defaulted(manifest["spec"])
        and all(labels.get(k) == v for k, v in wanted["labels"].items())
        and _owners(metadata) == _owners(wanted)
        and has_finalizer(route)
    )


def _owners(metadata: Mapping[str, Any]) -> list[tuple[str, str]]:
    return sorted(
        (str(o.get("kind")), str(o.get("uid"))) for o in metadata.get("ownerReferences") or []
    )


def _merged(route: Mapping[str, Any], manifest: Obj) -> Obj:
    """The stored object with the derived spec, labels, owner and finalizer: a full
    replace (with its resourceVersion), so fields edited by hand are reverted."""
    merged = copy.deepcopy(dict(route))
    metadata = merged.setdefault("metadata", {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **manifest["metadata"]["labels"]}
    if manifest["metadata"].get("ownerReferences"):
        metadata["ownerReferences"] = copy.deepcopy(manifest["metadata"]["ownerReferences"])
    if not has_finalizer(merged):
        metadata["finalizers"] = [*(metadata.get("finalizers") or []), api.FINALIZER]
    merged["spec"] = copy.deepcopy(manifest["spec"])
    return merged


def defaulted(spec: Mapping[str, Any]) -> Obj:
    """A spec with the CRD's defaults filled in, as the API server stores it, so that a
    derived spec and its stored copy compare equal.

    Only the dict that gets a default is copied (shallowly): the result is compared,
    never written, and a deep copy of every route's spec on every pass was a quarter of
    a no-op pass at 10,000 routes."""
    result = dict(spec)
    result.setdefault("deletionPolicy", "Delete")
    if isinstance(result.get("origin"), dict):
        result["origin"] = {"path": "/", **result["origin"]}
    return result
