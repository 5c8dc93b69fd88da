"""The object store: what etcd plus the garbage collector and namespace controller do.

One re-entrant lock guards everything, with a condition variable that wakes watchers.
Every change bumps one global revision (rendered as `metadata.resourceVersion`) and appends
exactly one event to a bounded history, so event *i* always has revision `floor + 1 + i`
and a watch can resume from any revision still held. Stored dicts are never mutated after
they are stored: readers and watch streams may share them without copying.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

Obj = dict[str, Any]
Resource = tuple[str, str]  # (group, plural)
NAMESPACES: Resource = ("", "namespaces")
FOREGROUND = "foregroundDeletion"
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_of(obj: Obj) -> tuple[str, str]:
    meta = obj["metadata"]
    return (meta.get("namespace") or "", meta["name"])


def terminating(obj: Obj) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


@dataclass(frozen=True)
class Event:
    revision: int
    resource: Resource
    type: str  # ADDED, MODIFIED or DELETED
    object: Obj
    previous: Obj | None


class Expired(Exception):
    """The requested revision is older than the retained history."""


class Store:
    def __init__(self, *, gc: bool = True, history: int = 10_000):
        self.gc = gc
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.revision = 0
        self.on_removed: list[Callable[[Resource, Obj], None]] = []
        self.on_recorded: list[Callable[[Event], None]] = []  # every change, under the lock
        self._history = history
        self._floor = 0  # revisions up to here are no longer in the history
        self._events: deque[Event] = deque()
        self._objects: dict[Resource, dict[tuple[str, str], Obj]] = {}
        self._uids: dict[str, tuple[Resource, tuple[str, str]]] = {}
        self._owned: dict[str, set[tuple[Resource, tuple[str, str]]]] = {}  # owner uid -> deps

    # reads

    def get(self, resource: Resource, namespace: str | None, name: str) -> Obj | None:
        with self.lock:
            return self._objects.get(resource, {}).get((namespace or "", name))

    def items(self, resource: Resource, namespace: str | None = None) -> list[Obj]:
        """Sorted by namespace then name, as the API server lists them."""
        with self.lock:
            stored = self._objects.get(resource, {})
            keys = sorted(key for key in stored if namespace is None or key[0] == namespace)
            return [stored[key] for key in keys]

    def everything(self) -> Iterator[tuple[Resource, Obj]]:
        with self.lock:
            found = [(res, obj) for res, objs in self._objects.items() for obj in objs.values()]
        return iter(found)

    def live(self, uid: str) -> bool:
        with self.lock:
            return uid in self._uids

    # writes (callers hold the lock around their read-modify-write)

    def commit(self, resource: Resource, obj: Obj, previous: Obj | None) -> Obj:
        """Store a new version of an object, or remove it if its last finalizer is gone."""
        with self.lock:
            if previous is not None and self._removable(resource, obj):
                return self._remove(resource, obj, previous)
            self.revision += 1
            obj["metadata"]["resourceVersion"] = str(self.revision)
            self._objects.setdefault(resource, {})[key_of(obj)] = obj
            self._uids[obj["metadata"]["uid"]] = (resource, key_of(obj))
            self._index_owners(resource, previous, obj)
            self._record(resource, "ADDED" if previous is None else "MODIFIED", obj, previous)
            return obj

    def delete(self, resource: Resource, obj: Obj, *, propagation: str = "Background") -> Obj:
        """Start deleting: gone at once, or terminating until its finalizers are cleared.

        `propagation` is the DeleteOptions policy: Background leaves dependents to the
        garbage collector, Orphan strips their owner references, Foreground holds the
        owner (finalizer `foregroundDeletion`) until its blocking dependents are gone.
        """
        with self.lock:
            if terminating(obj):
                return obj
            uid = obj["metadata"]["uid"]
            if propagation == "Orphan":
                self._orphan_dependents(uid)
            marked = copy.deepcopy(obj)
            marked["metadata"]["deletionTimestamp"] = now()
            marked["metadata"]["deletionGracePeriodSeconds"] = 0
            if marked["metadata"].get("generation"):  # as the API server's BeforeDelete does
                marked["metadata"]["generation"] += 1
            if propagation == "Foreground" and self._dependents(uid):
                return self._delete_in_foreground(resource, marked, obj)
            if resource == NAMESPACES:
                marked.setdefault("status", {})["phase"] = "Terminating"
            elif self._removable(resource, marked):
                return self._remove(resource, marked, obj)
            result = self.commit(resource, marked, obj)
            if resource == NAMESPACES:
                self._empty_namespace(obj["metadata"]["name"])
                return self._current(resource, result)
            return result

    def _delete_in_foreground(self, resource: Resource, marked: Obj, obj: Obj) -> Obj:
        """Hold the owner with `foregroundDeletion` while its dependents are deleted."""
        uid = obj["metadata"]["uid"]
        marked["metadata"].setdefault("finalizers", []).append(FOREGROUND)
        result = self.commit(resource, marked, obj)
        for dependent_resource, dependent in self._dependents(uid):
            current = self.get(dependent_resource, *key_of(dependent))
            if current is not None:
                self.delete(dependent_resource, current, propagation="Foreground")
        self._release_foreground(uid)
        return self._current(resource, result)

    def purge(self, resource: Resource) -> None:
        """Remove every object of a resource at once, finalizers or not (its CRD is gone)."""
        with self.lock:
            for obj in self.items(resource):
                self._remove(resource, obj, obj)

    def compact(self) -> None:
        with self.lock:
            self._floor = self.revision
            self._events.clear()

    # watching

    def changes(self, since: int, timeout: float) -> tuple[int, list[Event]]:
        """The revision seen so far and the events after `since`, waiting up to `timeout`
        for one; raises Expired. A `since` in the future is waited for, not rewound."""
        with self.changed:
            if since < self._floor:
                raise Expired(since)
            if self.revision <= since:
                self.changed.wait(timeout)
            if since < self._floor:
                raise Expired(since)
            start = max(since - self._floor, 0)
            return max(since, self.revision), list(islice(self._events, start, None))

    def check_revision(self, revision: int) -> None:
        with self.lock:
            if revision < self._floor:
                raise Expired(revision)

    # internals

    def _record(self, resource: Resource, kind: str, obj: Obj, previous: Obj | None) -> None:
        if len(self._events) >= self._history:
            self._events.popleft()
            self._floor += 1
        event = Event(self.revision, resource, kind, obj, previous)
        self._events.append(event)
        for hook in self.on_recorded:
            hook(event)
        self.changed.notify_all()

    def _removable(self, resource: Resource, obj: Obj) -> bool:
        if not terminating(obj) or obj["metadata"].get("finalizers"):
            return False
        return resource != NAMESPACES or not self._namespace_content(obj["metadata"]["name"])

    def _current(self, resource: Resource, obj: Obj) -> Obj:
        """The stored version of `obj`, or its final state if it has been removed since."""
        return self.get(resource, *key_of(obj)) or self._removed_copy(obj)

    def _removed_copy(self, obj: Obj) -> Obj:
        final = dict(obj)
        final["metadata"] = dict(obj["metadata"], resourceVersion=str(self.revision))
        return final

    def _remove(self, resource: Resource, obj: Obj, previous: Obj) -> Obj:
        self.revision += 1
        final = self._removed_copy(obj)
        del self._objects[resource][key_of(previous)]
        self._uids.pop(previous["metadata"]["uid"], None)
        self._index_owners(resource, previous, None)
        self._record(resource, "DELETED", final, previous)
        self._after_removal(resource, final)
        return final

    def _after_removal(self, resource: Resource, obj: Obj) -> None:
        if self.gc:
            self._collect_dependents(obj["metadata"]["uid"])
        for ref in obj["metadata"].get("ownerReferences", []):
            self._release_foreground(ref.get("uid", ""))
        namespace = obj["metadata"].get("namespace")
        if namespace:
            parent = self.get(NAMESPACES, None, namespace)
            if parent is not None and self._removable(NAMESPACES, parent):
                self._remove(NAMESPACES, parent, parent)
        for hook in self.on_removed:
            hook(resource, obj)

    def _release_foreground(self, uid: str) -> None:
        """Finish a foreground deletion once no dependent blocks its owner any more."""
        found = self._uids.get(uid)
        owner = self.get(found[0], *found[1]) if found else None
        if owner is None or FOREGROUND not in owner["metadata"].get("finalizers", []):
            return
        blocking = [
            dependent
            for _, dependent in self._dependents(uid)
            if any(
                ref.get("uid") == uid and ref.get("blockOwnerDeletion")
                for ref in dependent["metadata"]["ownerReferences"]
            )
        ]
        if not blocking:
            released = copy.deepcopy(owner)
            finalizers = [f for f in owner["metadata"]["finalizers"] if f != FOREGROUND]
            released["metadata"]["finalizers"] = finalizers
            if not finalizers:
                del released["metadata"]["finalizers"]
            assert found is not None
            self.commit(found[0], released, owner)

    def _index_owners(self, resource: Resource, before: Obj | None, after: Obj | None) -> None:
        """Keep owner uid -> dependents current, so GC need not scan every object."""
        for obj, index in ((before, self._unindex), (after, self._reindex)):
            for ref in (obj or {}).get("metadata", {}).get("ownerReferences", []):
                index(ref.get("uid", ""), (resource, key_of(obj or {})))

    def _unindex(self, uid: str, dependent: tuple[Resource, tuple[str, str]]) -> None:
        owned = self._owned.get(uid, set())
        owned.discard(dependent)
        if not owned:
            self._owned.pop(uid, None)

    def _reindex(self, uid: str, dependent: tuple[Resource, tuple[str, str]]) -> None:
        self._owned.setdefault(uid, set()).add(dependent)

    def _dependents(self, uid: str) -> list[tuple[Resource, Obj]]:
        found = []
        for resource, key in sorted(self._owned.get(uid, ())):
            obj = self.get(resource, *key)
            if obj is not None:
                found.append((resource, obj))
        return found

    def _collect_dependents(self, uid: str) -> None:
        """Background GC: delete dependents left with no live owner."""
        for resource, dependent in self._dependents(uid):
            current = self.get(resource, *key_of(dependent))
            if current is None:
                continue
            owners = current["metadata"].get("ownerReferences", [])
            if not any(self.live(ref.get("uid", "")) for ref in owners):
                self.delete(resource, current)

    def _orphan_dependents(self, uid: str) -> None:
        for resource, dependent in self._dependents(uid):
            updated = copy.deepcopy(dependent)
            refs = [r for r in updated["metadata"]["ownerReferences"] if r.get("uid") != uid]
            if refs:
                updated["metadata"]["ownerReferences"] = refs
            else:
                del updated["metadata"]["ownerReferences"]
            self.commit(resource, updated, dependent)

    def _namespace_content(self, namespace: str) -> list[tuple[Resource, Obj]]:
        return [
            (resource, obj)
            for resource, obj in self.everything()
            if obj["metadata"].get("namespace") == namespace
        ]

    def _empty_namespace(self, namespace: str) -> None:
        """The namespace controller: delete everything in a terminating namespace."""
        for resource, obj in self._namespace_content(namespace):
            current = self.get(resource, *key_of(obj))
            if current is not None:
                self.delete(resource, current)
        parent = self.get(NAMESPACES, None, namespace)
        if parent is not None and self._removable(NAMESPACES, parent):
            self._remove(NAMESPACES, parent, parent)
