"""What a pass reuses between passes (reconciler.derive.memo) never changes what it does.

Hypothesis draws a world and a run of changes to it (Ingresses edited, broken, added and
deleted, Services retyped, nodes going NotReady, routes deleted or edited by hand, Edgio
publishing, objects replaced by equal copies as after a re-list). The same run is played
twice from the same start: once as the controller plays it, the memo kept from pass to
pass, and once with everything kept forgotten before each pass, which is the computation
from scratch. Every pass must plan, write, report and say exactly the same in both.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cluster.base import Snapshot
from reconciler.controller import finish
from reconciler.controller.cache import ProviderCache
from reconciler.controller.sync import PassMemory, PassSettings, run_once
from reconciler.derive.desired import Settings
from reconciler.derive.ingress import object_key
from reconciler.model import CdnRule, DnsRecord
from reconciler.plan.routeset import RouteWrite, WriteAction
from reconciler.providers.base import Listing
from reconciler.report import facts
from reconciler.report.status import IngressHostnames, load_balancer_entries
from tests.core.memory_providers import MemoryEdgio, MemoryVultr
from tests.support import ingress_manifest

Obj = dict[str, Any]
HOST = "exampleco.s.llnwi.net"
SETTINGS = PassSettings(
    Settings(
        owner_id="memo",
        zones=("example.com",),
        default_shortname="exampleco",
        default_origin_hostname="origin.example.com",
    ),
    ("exampleco",),
)
SERVICES = ("svc-a", "svc-b")


def ingress(index: int, paths: Sequence[str], service: str, bad: bool = False) -> Obj:
    annotations = {"cdn.edgio.io/origin-protocol": "gopher"} if bad else {}
    metadata = {"uid": f"uid-ing-{index}", "annotations": annotations}
    return ingress_manifest(
        f"ing-{index}", paths, service, {"number": 80}, host=HOST, metadata=metadata
    )


def service(name: str, node_port: bool) -> Obj:
    port: Obj = {"port": 80, **({"nodePort": 30080} if node_port else {})}
    kind = "NodePort" if node_port else "ClusterIP"
    return {
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"type": kind, "ports": [port]},
    }


def node(index: int, ready: bool) -> Obj:
    return {
        "kind": "Node",
        "metadata": {"name": f"node-{index}"},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "addresses": [{"type": "ExternalIP", "address": f"203.0.113.{index + 1}"}],
        },
    }


@dataclass
class World:
    """A cluster kept as an informer keeps it: an object is replaced, never changed in
    place, so an unchanged object is the same object from one pass to the next."""

    objects: dict[str, dict[str, Obj]] = field(
        default_factory=lambda: {k: {} for k in ("ingresses", "routes", "services", "nodes")}
    )
    versions: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    said: list[tuple[str, str, str, str]] = field(default_factory=list)

    def put(self, kind: str, obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        metadata = obj["metadata"]
        metadata.setdefault("uid", f"uid-{kind}-{object_key(obj)}")
        metadata.setdefault("creationTimestamp", f"2026-01-01T00:00:{next(self.versions):02d}Z")
        metadata.setdefault("generation", 1)
        metadata["resourceVersion"] = str(next(self.versions))
        self.objects[kind][object_key(obj)] = obj
        return obj

    def snapshot(self) -> Snapshot:
        def of(kind: str) -> tuple[Obj, ...]:
            return tuple(sorted(self.objects[kind].values(), key=object_key))

        return Snapshot(of("ingresses"), (), of("routes"), of("services"), of("nodes"))

    def read_ingress(self, namespace: str, name: str) -> Obj | None:
        return self.objects["ingresses"].get(f"{namespace}/{name}")

    def read_route(self, namespace: str, name: str) -> Obj | None:
        return self.objects["routes"].get(f"{namespace}/{name}")

    def write_route(self, write: RouteWrite) -> Obj:
        key = object_key(write.route)
        old = self.objects["routes"].get(key)
        route = copy.deepcopy(write.route)
        if old is not None:
            route["metadata"] = {**old["metadata"], **route["metadata"]}
            route.setdefault("status", old.get("status"))
        if write.action is WriteAction.DELETE:
            route["metadata"]["deletionTimestamp"] = "2026-01-02T00:00:00Z"
        self.said.append(("write", key, write.action.value, ""))
        return self.put("routes", route)

    def write_route_status(self, route: Obj, status: Obj) -> None:
        key = object_key(route)
        if key in self.objects["routes"]:
            self.put("routes", {**self.objects["routes"][key], "status": status})
            self.said.append(("status", key, repr(status), ""))

    def write_ingress_hosts(self, ingress: Obj, hostnames: IngressHostnames) -> bool:
        key = object_key(ingress)
        entries = hostnames.merged(load_balancer_entries(ingress)) or []
        loaded = {"loadBalancer": {"ingress": entries}}
        self.put("ingresses", {**self.objects["ingresses"][key], "status": loaded})
        self.said.append(("hosts", key, ",".join(hostnames.wanted), ""))
        return True

    def remove_finalizer(self, route: Obj) -> None:
        self.objects["routes"].pop(object_key(route), None)
        self.said.append(("released", object_key(route), "", ""))

    def event(self, obj: Obj, reason: str, message: str, *, warning: bool) -> None:
        self.said.append(("event", object_key(obj), reason, message))

    def problems(self, obj: Obj, problems: Iterable[tuple[str, str]]) -> None:
        for reason, message in problems:
            self.said.append(("problem", object_key(obj), reason, message))


class Vultr(MemoryVultr):
    def list_records(self, zone: str) -> Listing[DnsRecord]:  # type: ignore[override]
        return Listing(super().list_records(zone))


class Edgio(MemoryEdgio):
    def list_rules(self, shortname: str) -> Listing[CdnRule]:  # type: ignore[override]
        return Listing(super().list_rules(shortname))


@dataclass
class Sandbox:
    world: World
    cache: ProviderCache
    edgio: MemoryEdgio


def sandbox() -> Sandbox:
    world, edgio = World(), Edgio()
    for name in SERVICES:
        world.put("services", service(name, node_port=True))
    for index in range(2):
        world.put("nodes", node(index, ready=True))
    for index in range(3):
        world.put("ingresses", ingress(index, [f"/p{index}"], SERVICES[0]))
    return Sandbox(world, ProviderCache(Vultr(), edgio, resync=1e9), edgio)


changes = st.one_of(
    st.tuples(
        st.just("edit"),
        st.integers(0, 4),
        st.lists(st.sampled_from(["/a", "/b", "/c"]), min_size=1, max_size=2, unique=True),
        st.sampled_from(SERVICES),
        st.booleans(),
    ),
    st.tuples(st.just("delete-ingress"), st.integers(0, 4)),
    st.tuples(st.just("service"), st.sampled_from(SERVICES), st.booleans()),
    st.tuples(st.just("node"), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("delete-route"), st.integers(0, 4)),
    st.tuples(st.just("hand-edit"), st.integers(0, 4)),
    st.tuples(st.just("publish")),
    st.tuples(st.just("relist")),
    st.tuples(st.just("nothing")),
)


def change(box: Sandbox, what: tuple[Any, ...]) -> None:
    world = box.world
    kind, *args = what
    if kind == "edit":
        index, paths, backend, bad = args
        world.put("ingresses", ingress(index, paths, backend, bad))
    elif kind == "delete-ingress":
        world.objects["ingresses"].pop(f"default/ing-{args[0]}", None)
    elif kind == "service":
        world.put("services", service(args[0], node_port=args[1]))
    elif kind == "node":
        world.put("nodes", node(args[0], ready=args[1]))
    elif kind in ("delete-route", "hand-edit"):
        route = world.objects["routes"].get(f"default/ing-{args[0]}")
        if route is not None:
            route = copy.deepcopy(route)
            if kind == "delete-route":
                route["metadata"]["deletionTimestamp"] = "2026-01-03T00:00:00Z"
            else:
                route["spec"]["origin"] = {"protocol": "https"}
            world.put("routes", route)
    elif kind == "publish":
        box.edgio.publish()
    elif kind == "relist":  # every object replaced by an equal copy
        for objects in world.objects.values():
            for key, obj in list(objects.items()):
                objects[key] = copy.deepcopy(obj)


def play(run: Sequence[tuple[Any, ...]], *, keep: bool) -> list[Any]:
    """Every pass's plan, writes and words, playing `run` from the same start: with one
    memory kept from pass to pass (`keep`), or each pass from scratch."""
    box, memory = sandbox(), PassMemory()
    seen: list[Any] = []
    for step, what in enumerate([("nothing",), *run, ("nothing",)]):
        change(box, what)
        stamp = f"2026-01-01T01:00:{step:02d}Z"
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(finish, "now", lambda stamp=stamp: stamp)
            full = step % 3 == 0
            result = run_once(
                box.world, box.cache, SETTINGS, full=full, memory=memory if keep else None
            )
        seen.append(
            (
                result.plan,
                result.report.applied,
                result.outcomes,
                result.statuses,
                result.route_writes,
                result.refusal,
                box.world.said[:],
            )
        )
    return seen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(changes, min_size=1, max_size=8))
def test_a_pass_with_the_memo_does_what_a_pass_from_scratch_does(
    run: list[tuple[Any, ...]],
) -> None:
    kept, scratch = play(run, keep=True), play(run, keep=False)
    for step, (one, other) in enumerate(zip(kept, scratch, strict=True)):
        assert one == other, f"pass {step} differs"


def routes_read(box: Sandbox, memory: PassMemory) -> int:
    """How many EdgioRoutes a pass with `memory` reads again (not taken from it)."""
    calls = 0
    original = facts.route_from_object

    def counted(obj: Obj) -> Any:
        nonlocal calls
        calls += 1
        return original(obj)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(facts, "route_from_object", counted)
        run_once(box.world, box.cache, SETTINGS, memory=memory)
    return calls


def test_an_unchanged_world_is_not_derived_again() -> None:
    """The memory is used at all: a second pass over the same objects derives nothing."""
    box, memory = sandbox(), PassMemory()
    for _ in range(3):
        run_once(box.world, box.cache, SETTINGS, memory=memory)
    assert routes_read(box, memory) == 0


def test_two_loops_in_one_process_keep_their_own_memory() -> None:
    """A second loop beside a warm one (a test's, a benchmark's) starts from scratch,
    and leaves the warm one's memory as it was: the memory is the loop's, not the
    process's."""
    box, warm = sandbox(), PassMemory()
    for _ in range(3):
        run_once(box.world, box.cache, SETTINGS, memory=warm)
    assert routes_read(box, PassMemory()) == len(box.world.objects["routes"]) == 3
    assert routes_read(box, warm) == 0
