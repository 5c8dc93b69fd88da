"""The seam between a pass and Kubernetes: what a pass reads and writes, as plain objects.

The controller works with the `Cluster` Protocol and its `Snapshot`; :mod:`.kube`
implements them over the official client. Here, and not beside `run_once`, so the
cluster layer never imports the controller that drives it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from reconciler.plan.routeset import RouteWrite
from reconciler.report.status import IngressHostnames

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The cluster as the caches hold it at the start of a pass, as plain objects.

    Nothing changes these objects in place, neither the pass nor the caches (an informer
    replaces an object that changed): a pass reuses what it derived from an object the
    pass before as long as it is the same object (see :mod:`reconciler.derive.memo`)."""

    ingresses: tuple[Obj, ...] = ()
    ingress_classes: tuple[Obj, ...] = ()
    routes: tuple[Obj, ...] = ()
    services: tuple[Obj, ...] = ()
    nodes: tuple[Obj, ...] = ()


class Cluster(Protocol):
    """What a pass needs of Kubernetes: read a snapshot, write routes and what users see."""

    def snapshot(self) -> Snapshot: ...

    def read_ingress(self, namespace: str, name: str) -> Obj | None:
        """The Ingress as the API server has it now, not the cache (None: not found)."""
        ...

    def read_route(self, namespace: str, name: str) -> Obj | None:
        """The EdgioRoute as the API server has it now (None: not found)."""
        ...

    def write_route(self, write: RouteWrite) -> Obj: ...

    def write_route_status(self, route: Obj, status: Obj) -> None: ...

    def write_ingress_hosts(self, ingress: Obj, hostnames: IngressHostnames) -> bool:
        """Our entries in the Ingress's shared load-balancer list, the others kept; False
        when the Ingress could not be written."""
        ...

    def remove_finalizer(self, route: Obj) -> None: ...

    def event(self, obj: Obj, reason: str, message: str, *, warning: bool) -> None: ...

    def problems(self, obj: Obj, problems: Iterable[tuple[str, str]]) -> None: ...


class ClusterWriteFailed(Exception):
    """A write to the cluster that failed; the pass goes on and the next one retries."""


class ClusterReadFailed(Exception):
    """A read from the API server that failed; what depended on it waits for a pass."""
