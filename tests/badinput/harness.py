"""A whole controller pass, minus the Kubernetes API: `run_once` over a cluster held in
memory and the real provider clients against the Vultr and Edgio emulators over HTTP.

The corpus runs dozens of cases; each needs a fresh world and a few passes, so the cluster
side is plain objects (the cluster layer has its own end-to-end tests) while everything a
bad input goes through (selection, derivation, validation, planning, the providers'
answers, status and Events) is the product's own code.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.vultr import VultrEmulator
from reconciler import api
from reconciler.cluster.base import Snapshot
from reconciler.controller.cache import ProviderCache
from reconciler.controller.sync import PassResult, PassSettings, run_once
from reconciler.derive.desired import Settings
from reconciler.derive.ingress import object_key
from reconciler.model import Action
from reconciler.plan.routeset import RouteWrite, WriteAction
from reconciler.providers.edgio import EdgioCdn
from reconciler.providers.vultr import VultrDns
from reconciler.report.status import IngressHostnames
from tests.support import FAST

Obj = dict[str, Any]
ZONE = "example.com"
SHORTNAME = "exampleco"
HOST = f"{SHORTNAME}.s.llnwi.net"
OWNER = "corpus"
SETTINGS = Settings(
    owner_id=OWNER,
    zones=(ZONE,),
    default_shortname=SHORTNAME,
    default_origin_hostname=f"origin.{ZONE}",
)
ALLOWED_DOMAINS = ("s.llnwi.net", ZONE)  # what the emulated account may publish


@dataclass
class MemoryCluster:
    """The `Cluster` seam in memory; it keeps what passes write, and every Event."""

    ingresses: list[Obj] = field(default_factory=list)
    services: list[Obj] = field(default_factory=list)
    nodes: list[Obj] = field(default_factory=list)
    classes: list[Obj] = field(default_factory=list)
    routes: dict[str, Obj] = field(default_factory=dict)
    events: list[tuple[str, str, str, str]] = field(default_factory=list)  # kind, key, why
    clock: int = 0

    def add(self, obj: Obj) -> None:
        """An object as the API server would store it: namespaced, stamped, in order."""
        obj = copy.deepcopy(obj)
        metadata = obj.setdefault("metadata", {})
        if obj["kind"] != "Node" and obj["kind"] != "IngressClass":
            metadata.setdefault("namespace", "default")
        metadata.setdefault("uid", f"uid-{obj['kind']}-{object_key(obj)}")
        metadata.setdefault("creationTimestamp", self._stamp())
        metadata.setdefault("generation", 1)
        if obj["kind"] == "EdgioRoute":
            self.routes[object_key(obj)] = obj
            return
        store = {
            "Ingress": self.ingresses,
            "Service": self.services,
            "Node": self.nodes,
            "IngressClass": self.classes,
        }[obj["kind"]]
        store.append(obj)

    def _stamp(self) -> str:
        self.clock += 1
        return f"2026-01-01T00:{self.clock // 60:02d}:{self.clock % 60:02d}Z"

    def snapshot(self) -> Snapshot:
        return Snapshot(
            ingresses=tuple(copy.deepcopy(self.ingresses)),
            ingress_classes=tuple(copy.deepcopy(self.classes)),
            routes=tuple(copy.deepcopy(list(self.routes.values()))),
            services=tuple(copy.deepcopy(self.services)),
            nodes=tuple(copy.deepcopy(self.nodes)),
        )

    def read_ingress(self, namespace: str, name: str) -> Obj | None:
        return next((i for i in self.ingresses if object_key(i) == f"{namespace}/{name}"), None)

    def read_route(self, namespace: str, name: str) -> Obj | None:
        return self.routes.get(f"{namespace}/{name}")

    def write_route(self, write: RouteWrite) -> Obj:
        route = copy.deepcopy(write.route)
        key = object_key(route)
        stored = self.routes.get(key)
        metadata = route.setdefault("metadata", {})
        if stored is not None:
            metadata.update({k: v for k, v in stored["metadata"].items() if k not in metadata})
            route.setdefault("status", stored.get("status"))
        else:
            metadata.setdefault("uid", f"uid-route-{key}")
            metadata.setdefault("creationTimestamp", self._stamp())
            metadata.setdefault("finalizers", [api.FINALIZER])
        if write.action is WriteAction.DELETE:
            metadata["deletionTimestamp"] = self._stamp()
        self.routes[key] = route
        return route

    def write_route_status(self, route: Obj, status: Obj) -> None:
        key = object_key(route)
        if key in self.routes:
            self.routes[key]["status"] = status

    def write_ingress_hosts(self, ingress: Obj, hostnames: IngressHostnames) -> bool:
        return True

    def remove_finalizer(self, route: Obj) -> None:
        self.routes.pop(object_key(route), None)

    def event(self, obj: Obj, reason: str, message: str, *, warning: bool) -> None:
        self.events.append((obj.get("kind", ""), object_key(obj), reason, message))

    def problems(self, obj: Obj, problems: Iterable[tuple[str, str]]) -> None:
        for reason, message in problems:
            self.event(obj, reason, message, warning=True)

    # --- reading back -------------------------------------------------------------------

    def conditions(self, key: str) -> dict[str, Obj]:
        status = (self.routes.get(key) or {}).get("status") or {}
        return {c["type"]: c for c in status.get("conditions") or []}

    def said(self, kind: str, key: str) -> list[tuple[str, str]]:
        """(reason, message) of every Event and every condition on the object."""
        found = [(r, m) for k, o, r, m in self.events if k == kind and o == key]
        if kind == "EdgioRoute":
            found += [(c["reason"], c["message"]) for c in self.conditions(key).values()]
        return found


@dataclass
class Harness:
    vultr: VultrEmulator
    edgio: EdgioEmulator
    cluster: MemoryCluster = field(default_factory=MemoryCluster)
    settings: PassSettings = field(default_factory=lambda: PassSettings(SETTINGS, (SHORTNAME,)))
    vultr_key: str = ""
    edgio_key: str = ""
    results: list[PassResult] = field(default_factory=list)

    def providers(self) -> tuple[VultrDns, EdgioCdn]:
        fast = {"policy": FAST, "rate": 5000.0, "burst": 1000}
        dns = VultrDns(self.vultr_key or self.vultr.api_key, base_url=self.vultr.api_url, **fast)
        cdn = EdgioCdn(
            self.edgio.principal,
            self.edgio_key or self.edgio.shared_key_hex,
            base_url=self.edgio.api_url,
            **fast,
        )
        return dns, cdn

    def run(self) -> PassResult:
        """One full pass, as `run --once` makes it."""
        dns, cdn = self.providers()
        result = run_once(self.cluster, ProviderCache(dns, cdn), self.settings, full=True)
        self.results.append(result)
        return result

    def zones(self, *zones: str) -> None:
        self.settings = replace(self.settings, core=replace(self.settings.core, zones=zones))

    # --- what the providers hold ----------------------------------------------------------

    def rule_ids(self) -> set[str]:
        return {i["uuid"] for i in self.edgio.instances()}

    def record_ids(self) -> set[str]:
        return {r["id"] for r in self.vultr.records(ZONE)}

    def deletes(self) -> int:
        return sum(
            1
            for result in self.results
            for change in result.report.applied
            if change.action is Action.DELETE
        )


@contextmanager
def harness() -> Iterator[Harness]:
    with (
        VultrEmulator(zones=(ZONE,), rate_limit=None) as vultr,
        EdgioEmulator(shortnames=(SHORTNAME,), allowed_domains=ALLOWED_DOMAINS) as edgio,
    ):
        yield Harness(vultr, edgio)
