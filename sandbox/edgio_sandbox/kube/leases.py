"""The history of every Lease write the server accepted, for judging leadership.

A controller's own logs say when it believed it led; the server's record says when it
really held the Lease. Each accepted write (create, renewal, takeover, release, delete)
is noted at the moment it is committed, on the wall clock the other emulators stamp
their request logs with, so provider writes can be placed inside lease terms.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from .store import Event

LEASES = ("coordination.k8s.io", "leases")


@dataclass(frozen=True, slots=True)
class LeaseWrite:
    at: float  # time.time() at commit
    namespace: str
    name: str
    holder: str  # "" once released or deleted
    resource_version: str
    renew_time: str
    duration: int | None  # leaseDurationSeconds as written


class LeaseLog:
    """Every accepted Lease write, in commit order (fed by the store under its lock)."""

    def __init__(self) -> None:
        self._writes: list[LeaseWrite] = []
        self._lock = threading.Lock()

    def note(self, event: Event) -> None:
        if event.resource != LEASES:
            return
        meta = event.object["metadata"]
        spec = {} if event.type == "DELETED" else event.object.get("spec") or {}
        write = LeaseWrite(
            at=time.time(),
            namespace=meta.get("namespace") or "",
            name=meta["name"],
            holder=spec.get("holderIdentity") or "",
            resource_version=meta.get("resourceVersion", ""),
            renew_time=spec.get("renewTime") or "",
            duration=spec.get("leaseDurationSeconds"),
        )
        with self._lock:
            self._writes.append(write)

    def history(self, name: str | None = None, namespace: str | None = None) -> list[LeaseWrite]:
        with self._lock:
            return [
                w
                for w in self._writes
                if (name is None or w.name == name)
                and (namespace is None or w.namespace == namespace)
            ]
