"""Passes of `run_once`, carried out by our clients against the Vultr and Edgio emulators.

This is where the core's assumptions about the providers are checked over real HTTP:
ownership markers survive a round trip through each API, a converged state plans nothing
when listed back, Vultr's one-TTL-per-set rule is respected, and foreign objects and
out-of-band edits are handled as the design says.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.vultr import VultrEmulator
from reconciler import api
from reconciler.cluster.base import ClusterWriteFailed, Snapshot
from reconciler.cmd.plan_output import print_plan
from reconciler.controller.cache import ProviderCache
from reconciler.controller.sync import PassResult, PassSettings, run_once
from reconciler.derive.desired import Settings
from reconciler.derive.ingress import object_key
from reconciler.model import Action, CdnRule, DnsRecord, OwnerMarker, Plan
from reconciler.plan.routeset import RouteWrite, WriteAction
from reconciler.providers.apply import ApplyReport
from reconciler.providers.base import CdnProvider
from reconciler.providers.edgio import EdgioCdn
from reconciler.providers.transport import RetryPolicy
from reconciler.providers.vultr import VultrDns
from reconciler.registry import ownership
from reconciler.report.status import IngressHostnames

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FAST = RetryPolicy(attempts=5, initial_wait=0.001, max_wait=0.01, max_retry_after=0.02)
OWNER = "cluster-a"
SETTINGS = Settings(
    owner_id=OWNER, zones=("example.com",), default_origin_hostname="origin.example.com", ttl=60
)
Obj = dict[str, Any]


@dataclass
class Scene:
    """The cluster a pass sees: plain objects, as the caches would hold them."""

    nodes: list[Obj] = field(default_factory=list)
    services: list[Obj] = field(default_factory=list)
    ingresses: list[Obj] = field(default_factory=list)
    ttl: int = 60


class MemoryCluster:
    """The `Cluster` seam held in memory: these tests are about the providers, so the
    cluster side is plain objects, and what the pass writes back is kept for the next."""

    def __init__(self) -> None:
        self.scene = Scene()
        self.routes: dict[str, Obj] = {}
        self.hosts: dict[str, list[str]] = {}  # the load-balancer hostnames written

    def snapshot(self) -> Snapshot:
        return Snapshot(
            ingresses=tuple(self.scene.ingresses),
            routes=tuple(copy.deepcopy(list(self.routes.values()))),
            services=tuple(self.scene.services),
            nodes=tuple(self.scene.nodes),
        )

    def read_ingress(self, namespace: str, name: str) -> Obj | None:
        key = f"{namespace}/{name}"
        return next((i for i in self.scene.ingresses if object_key(i) == key), None)

    def read_route(self, namespace: str, name: str) -> Obj | None:
        return self.routes.get(name)

    def write_route(self, write: RouteWrite) -> Obj:
        route = copy.deepcopy(write.route)
        metadata = route["metadata"]
        metadata.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        if write.action is WriteAction.DELETE:
            metadata["deletionTimestamp"] = "2026-01-01T00:00:01Z"
        self.routes[metadata["name"]] = route
        return route

    def write_route_status(self, route: Obj, status: Obj) -> None:
        self.routes[route["metadata"]["name"]]["status"] = status

    def write_ingress_hosts(self, ingress: Obj, hostnames: IngressHostnames) -> bool:
        self.hosts[object_key(ingress)] = list(hostnames.wanted)
        return True

    def remove_finalizer(self, route: Obj) -> None:
        self.routes.pop(route["metadata"]["name"], None)

    def event(self, obj: Obj, reason: str, message: str, *, warning: bool) -> None:
        return None

    def problems(self, obj: Obj, problems: Iterable[tuple[str, str]]) -> None:
        return None


class BehindCache(MemoryCluster):
    """A cache one route write behind the server (its watch has not brought our last
    write back yet): the snapshot has the route as it was, and writing that stale copy
    conflicts, as a replace with an old resourceVersion does."""

    def __init__(self, server: MemoryCluster, stale: Obj):
        super().__init__()
        self.scene, self.routes, self.stale = server.scene, server.routes, stale
        self.hosts = server.hosts

    def snapshot(self) -> Snapshot:
        current = super().snapshot()
        name = self.stale["metadata"]["name"]
        routes = [self.stale if r["metadata"]["name"] == name else r for r in current.routes]
        return replace(current, routes=tuple(routes))

    def write_route(self, write: RouteWrite) -> Obj:
        if write.route["metadata"]["name"] == self.stale["metadata"]["name"]:
            raise ClusterWriteFailed("409")
        return super().write_route(write)


@dataclass
class World:
    vultr: VultrEmulator
    edgio: EdgioEmulator
    dns: VultrDns
    cdn: CdnProvider
    cluster: MemoryCluster = field(default_factory=MemoryCluster)

    def records(self) -> list[DnsRecord]:
        return self.dns.list_records("example.com")

    def rules(self) -> list[CdnRule]:
        return self.cdn.list_rules("exampleco")

    def run(self, scene: Scene, *, dry_run: bool = False) -> PassResult:
        """One pass of the controller's `run_once`, listing everything afresh."""
        self.cluster.scene = scene
        settings = PassSettings(replace(SETTINGS, ttl=scene.ttl), ("exampleco",))
        cache = ProviderCache(self.dns, self.cdn)
        return run_once(self.cluster, cache, settings, dry_run=dry_run, full=True)

    def plan_for(self, scene: Scene) -> Plan:
        return self.run(scene, dry_run=True).plan

    def apply(self, scene: Scene) -> ApplyReport:
        return self.run(scene).report


@pytest.fixture
def world() -> Iterator[World]:
    with VultrEmulator(zones=("example.com",)) as vultr, EdgioEmulator() as edgio:
        yield World(
            vultr,
            edgio,
            VultrDns(vultr.api_key, base_url=vultr.api_url, policy=FAST, rate=1000, burst=100),
            EdgioCdn(
                edgio.principal,
                edgio.shared_key_hex,
                base_url=edgio.api_url,
                policy=FAST,
                rate=1000,
                burst=100,
            ),
        )


def node(name: str, address: str) -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "ExternalIP", "address": address}],
        },
    }


def service(node_port: int) -> dict[str, object]:
    return {
        "metadata": {"name": "pywai-inline-service", "namespace": "default"},
        "spec": {
            "type": "NodePort",
            "ports": [{"name": "http", "port": 80, "nodePort": node_port}],
        },
    }


def seed_state(addresses: list[str], node_port: int = 30080, ttl: int = 60) -> Scene:
    ingress = yaml.safe_load((EXAMPLES / "pywai-edgio-ingress-matching.yaml").read_text())
    ingress["metadata"].update({"namespace": "default", "uid": "uid-ingress"})
    nodes = [node(f"n{i}", a) for i, a in enumerate(addresses)]
    return Scene(nodes, [service(node_port)], [ingress], ttl)


def desired_marker() -> DnsRecord:
    text = ownership.render(OwnerMarker(OWNER, "origin"))
    return DnsRecord("example.com", "a-origin", "TXT", text, 60)


def converge(world: World, scene: Scene) -> Plan:
    first = world.run(scene)
    assert first.report.ok
    assert world.plan_for(scene).changes == ()
    return first.plan


def test_seed_example_converges_and_lists_back_as_ours(world: World) -> None:
    first = converge(world, seed_state(["203.0.113.1", "203.0.113.2"]))
    assert [c.action for c in first.changes] == [Action.CREATE] * 4
    records = {(r.name, r.type, r.data) for r in world.records()}
    assert ("origin", "A", "203.0.113.1") in records and ("origin", "A", "203.0.113.2") in records
    (rule,) = world.rules()
    assert (rule.published_host, rule.published_path, rule.source_port) == (
        "exampleco.s.llnwi.net",
        "/fred",
        30080,
    )
    assert rule.owner is not None and rule.owner.owner == OWNER


def test_node_rotation_and_new_node_port(world: World) -> None:
    converge(world, seed_state(["203.0.113.1", "203.0.113.2"]))
    converge(world, seed_state(["203.0.113.2", "203.0.113.3"], node_port=31999))
    addresses = sorted(r.data for r in world.records() if r.type == "A")
    assert addresses == ["203.0.113.2", "203.0.113.3"]
    assert world.rules()[0].source_port == 31999


def test_ttl_change_is_accepted_by_vultr(world: World) -> None:
    """The emulator refuses mixed TTLs in a set, on create and on PATCH, as Vultr may."""
    converge(world, seed_state(["203.0.113.1", "203.0.113.2", "203.0.113.3"], ttl=300))
    converge(world, seed_state(["203.0.113.1", "203.0.113.2", "203.0.113.3"], ttl=60))
    assert {r.ttl for r in world.records() if r.type == "A"} == {60}


def test_foreign_objects_stay_and_out_of_band_edits_are_corrected(world: World) -> None:
    foreign_record = world.vultr.seed_record("example.com", "www", "A", "198.51.100.1")
    foreign_rule = world.edgio.seed_instance(
        "exampleco",
        {
            "publishedHostname": "exampleco.s.llnwi.net",
            "publishedUrlPath": "/portal/",
            "sourceHostname": "legacy.example.net",
            "protocolSets": [{"publishedProtocol": "http", "sourceProtocol": "http"}],
        },
    )
    desired = seed_state(["203.0.113.1"])
    converge(world, desired)
    ours = next(r for r in world.rules() if r.published_path == "/fred")
    assert ours.id is not None
    world.edgio.edit_instance(ours.id, sourceHostname="tampered.example.net")
    drift = converge(world, desired)
    assert [c.action for c in drift.changes] == [Action.UPDATE]
    assert {r.id for r in world.records()} >= {foreign_record}
    assert foreign_rule in {r.id for r in world.rules()}


def test_a_contested_name_is_left_alone(world: World) -> None:
    world.vultr.seed_record("example.com", "origin", "A", "198.51.100.9")
    desired = seed_state(["203.0.113.1"])
    result = world.run(desired).plan
    assert [s.reason for s in result.skipped] == ["OriginForeign", "ForeignRecord"]
    assert [r.data for r in world.records() if r.type == "A"] == ["198.51.100.9"]


def test_a_failed_origin_write_holds_back_the_rule_that_needs_it(world: World) -> None:
    world.vultr.faults.add(status=400, method="POST", path="/records$", times=1)
    desired = seed_state(["203.0.113.1"])
    report = world.apply(desired)
    assert [(c.subject, type(e).__name__) for c, e in report.failed] == [
        (desired_marker(), "ValidationFailed")
    ]
    assert [type(c.subject).__name__ for c in report.held] == ["DnsRecord", "CdnRule"]
    assert world.records() == [] and world.rules() == []
    converge(world, desired)  # the next pass finishes the job


def test_a_failed_rule_delete_keeps_its_origin(world: World) -> None:
    converge(world, seed_state(["203.0.113.1"]))
    world.edgio.faults.add(status=500, method="DELETE", times=100)
    nothing = Scene()
    report = world.apply(nothing)
    assert [type(c.subject).__name__ for c, _ in report.failed] == ["CdnRule"]
    assert {c.subject.type for c in report.held if isinstance(c.subject, DnsRecord)} == {"A", "TXT"}
    assert [r.data for r in world.records() if r.type == "A"] == ["203.0.113.1"]
    world.edgio.faults.clear()
    converge(world, nothing)
    assert world.records() == [] and world.rules() == []


def test_a_deleted_service_leaves_the_published_rule_and_origin_alone(world: World) -> None:
    converge(world, seed_state(["203.0.113.1"]))
    without_service = replace(seed_state(["203.0.113.1"]), services=[])
    result = world.plan_for(without_service)
    assert result.changes == ()
    assert [s.reason for s in result.skipped] == ["Held", "OriginInUse"]
    assert len(world.rules()) == 1


def test_a_route_write_that_conflicts_plans_on_the_servers_copy(world: World) -> None:
    """After a path edit, the next pass's cache may still hold the route as it was: its
    write back conflicts, and the pass plans on the route the server has, instead of
    undoing the rule the last pass created (and creating it again the pass after)."""
    scene = seed_state(["203.0.113.1"])
    converge(world, scene)
    (stale,) = copy.deepcopy(list(world.cluster.routes.values()))
    edited = copy.deepcopy(scene.ingresses[0])  # a new object, as an informer keeps it
    edited["spec"]["rules"][0]["http"]["paths"][0]["path"] = "/wilma"
    scene = replace(scene, ingresses=[edited])
    converge(world, scene)
    assert [r.published_path for r in world.rules()] == ["/wilma"]
    world.cluster = BehindCache(world.cluster, stale)
    result = world.run(scene)
    assert result.plan.changes == ()
    assert [r.published_path for r in world.rules()] == ["/wilma"]


@pytest.mark.parametrize("spelling", ["Origin", "ORIGIN"])
def test_a_foreign_record_in_another_case_occupies_the_origin_name(
    world: World, spelling: str
) -> None:
    """DNS names are case-insensitive (RFC 4343): `Origin` is `origin`, so the name is
    someone else's. No TXT of ours goes next to it and no rule is pointed at it."""
    world.vultr.seed_record("example.com", spelling, "A", "198.51.100.9")
    result = world.run(seed_state(["203.0.113.1"])).plan
    assert result.changes == ()
    assert [s.reason for s in result.skipped] == ["OriginForeign", "ForeignRecord"]
    assert [(r.name, r.data) for r in world.records()] == [(spelling, "198.51.100.9")]
    assert world.rules() == []


@pytest.mark.parametrize("source", ["origin.example.com.", "ORIGIN.Example.com."])
def test_a_foreign_rule_on_the_origin_spelled_otherwise_keeps_it(world: World, source: str) -> None:
    """A trailing root dot names the same host (RFC 1034 section 3.1): a foreign rule
    whose source is `origin.example.com.` uses our origin, which therefore stays when
    our own route goes."""
    converge(world, seed_state(["203.0.113.1"]))
    world.edgio.seed_instance(
        "exampleco",
        {
            "publishedHostname": "legacy.example.net",
            "publishedUrlPath": "/",
            "sourceHostname": source,
            "protocolSets": [{"publishedProtocol": "http", "sourceProtocol": "http"}],
        },
    )
    result = world.run(Scene()).plan
    assert [(c.action, type(c.subject).__name__) for c in result.changes] == [
        (Action.DELETE, "CdnRule")
    ]
    assert [s.reason for s in result.skipped] == ["OriginInUse"]
    assert sorted(r.type for r in world.records()) == ["A", "TXT"]


def https_set_edited(world: World, **edit: Any) -> tuple[str, Obj]:
    """A portal edit to the https protocol set of our rule only; its uuid and the set."""
    (rule,) = world.rules()
    assert rule.id is not None and rule.published_protocols == ("http", "https")
    (instance,) = world.edgio.instances("exampleco")
    sets = copy.deepcopy(instance["body"]["protocolSets"])
    https = next(s for s in sets if s["publishedProtocol"] == "https")
    https.update(edit)
    world.edgio.edit_instance(rule.id, protocolSets=sets)
    return rule.id, https


@pytest.mark.parametrize(
    "edit",
    [
        {"sourcePort": 8443},
        {"sourceProtocol": "https"},
        {"publishedPort": 8443},
        {"options": [{"name": "refresh_absmin", "parameters": [60]}]},
    ],
    ids=["port", "source-protocol", "published-port", "options"],
)
def test_drift_in_the_second_protocol_set_is_restored(world: World, edit: Obj) -> None:
    """Edgio serves each protocol set as written, so an edit to the https set alone
    changes what https visitors get: it is drift like any other, and put back."""
    desired = seed_state(["203.0.113.1"])
    converge(world, desired)
    (http_before,) = [
        s
        for s in world.edgio.instances("exampleco")[0]["body"]["protocolSets"]
        if s["publishedProtocol"] == "http"
    ]
    uuid, _ = https_set_edited(world, **edit)
    drift = converge(world, desired)
    assert [(c.action, c.current.id if c.current else None) for c in drift.changes] == [
        (Action.UPDATE, uuid)
    ]
    (instance,) = world.edgio.instances("exampleco")
    sets = {s["publishedProtocol"]: s for s in instance["body"]["protocolSets"]}
    assert sets["https"] == {**http_before, "publishedProtocol": "https"}
    assert sets["http"] == http_before


def printed_plan(world: World, scene: Scene, capsys: pytest.CaptureFixture[str]) -> tuple[str, Obj]:
    """What `edgio-ingress plan` prints for one dry-run pass: the table, and the JSON."""
    result = world.run(scene, dry_run=True)
    capsys.readouterr()
    print_plan(result, "table")
    table = capsys.readouterr().out
    print_plan(result, "json")
    return table, json.loads(capsys.readouterr().out)


def test_plan_shows_every_protocol_set_before_and_after(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rule published on http and https reads `http,https`, not `http`; sets that
    are not alike are each shown."""
    desired = seed_state(["203.0.113.1"])
    table, document = printed_plan(world, desired, capsys)
    source = "http://origin.example.com:30080/"
    both = f"http,https -> {source} owner={OWNER}"
    (create,) = [c for c in document["changes"] if c["provider"] == "edgio"]
    assert (create["before"], create["after"]) == ("-", both)
    assert both in table
    converge(world, desired)
    https_set_edited(world, sourcePort=8443)
    table, document = printed_plan(world, desired, capsys)
    (update,) = document["changes"]
    edited = f"http -> {source}; https -> http://origin.example.com:8443/ owner={OWNER}"
    assert (update["action"], update["before"], update["after"]) == ("update", edited, both)
    assert edited in table and both in table


class NoFinalizer(MemoryCluster):
    """An API server that refuses to store the finalizer (a webhook, a quota, RBAC)."""

    def __init__(self, server: MemoryCluster):
        super().__init__()
        self.scene, self.routes, self.hosts = server.scene, server.routes, server.hosts

    def write_route(self, write: RouteWrite) -> Obj:
        if api.FINALIZER in (write.route["metadata"].get("finalizers") or []):
            raise ClusterWriteFailed("422")
        return super().write_route(write)


def test_a_route_whose_finalizer_cannot_be_stored_publishes_nothing(world: World) -> None:
    """Its rules would outlive it: deleting a route without our finalizer leaves nothing
    to clean them up. It publishes nothing this pass, and its status says why."""
    world.cluster = NoFinalizer(world.cluster)
    result = world.run(seed_state(["203.0.113.1"]))
    assert world.rules() == []
    assert [c for c in result.plan.changes if isinstance(c.subject, CdnRule)] == []
    assert world.cluster.routes == {}  # the derived route could not be created at all
    # A route stored without it (written before, by hand): kept back the same way.
    route = copy.deepcopy(result.route_writes[0].route)
    route["metadata"]["finalizers"] = []
    world.cluster.routes[route["metadata"]["name"]] = route
    world.run(seed_state(["203.0.113.1"]))
    assert world.rules() == []
    stored = world.cluster.routes[route["metadata"]["name"]]
    ready = next(c for c in stored["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "FinalizerMissing")


def deleting(world: World, scene: Scene) -> Scene:
    """The route's Ingress deleted, the route itself deleted and waiting on its finalizer."""
    (route,) = world.cluster.routes.values()
    route["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:02Z"
    return replace(scene, ingresses=[])


def test_a_failed_listing_keeps_what_the_statuses_say_and_the_finalizer(world: World) -> None:
    """Edgio's listing fails: that is "unknown", not "nothing is published". The route's
    status keeps its rule ids and states and its origin addresses, the Ingress keeps its
    hostname, and a deleting route keeps its finalizer."""
    scene = seed_state(["203.0.113.1"])
    converge(world, scene)
    converge(world, scene)  # the rule is COMPLETED now, and the status says Published
    (route,) = world.cluster.routes.values()
    before = copy.deepcopy(route["status"])
    assert [e["state"] for e in before["rules"]] == ["Published"]
    (key,) = world.cluster.hosts
    hosts = list(world.cluster.hosts[key])
    world.edgio.faults.add(status=503, method="GET")
    world.vultr.faults.add(status=503, method="GET")
    world.run(scene)
    (route,) = world.cluster.routes.values()
    assert route["status"]["rules"] == before["rules"]
    assert route["status"]["origin"] == before["origin"]
    assert world.cluster.hosts[key] == hosts
    world.run(deleting(world, scene))
    assert len(world.cluster.routes) == 1, "the finalizer went while the rules were unknown"
    world.edgio.faults.clear()
    world.vultr.faults.clear()
    world.run(deleting(world, scene))
    assert world.rules() == [] and world.cluster.routes == {}


def test_an_incomplete_listing_keeps_the_finalizer_of_a_deleting_route(world: World) -> None:
    """The account's rules moved while they were paged: a rule of the route may be on
    a page the walk missed, so its finalizer stays until a whole listing shows none."""
    for i in range(5):  # older than ours: newest first, ours is on the first page
        world.edgio.seed_instance("exampleco", foreign_instance(f"/other{i}/"))
    scene = seed_state(["203.0.113.1"])
    converge(world, scene)
    converge(world, scene)  # the status says Published
    (route,) = world.cluster.routes.values()
    before, hosts = copy.deepcopy(route["status"]["rules"]), dict(world.cluster.hosts)
    world.edgio.max_page_size, world.edgio.newest_first = 2, True
    made = iter(range(1000))
    world.edgio.faults.add(
        status=None,
        method="GET",
        after=True,
        run=lambda: world.edgio.seed_instance("exampleco", foreign_instance(f"/new{next(made)}/")),
    )
    world.run(scene)
    assert route["status"]["rules"] == before and world.cluster.hosts == hosts
    result = world.run(deleting(world, scene))
    assert [c for c in result.plan.changes if c.action is Action.DELETE] == []
    assert len(world.cluster.routes) == 1, "the finalizer went on an incomplete listing"
    world.edgio.faults.clear()
    world.run(deleting(world, scene))
    assert world.cluster.routes == {}
    assert "/fred" not in [r.published_path for r in world.rules()]


def foreign_instance(path: str) -> dict[str, Any]:
    return {
        "serviceKey": {"name": "delivery"},
        "serviceProfileName": "LLNW-Generic",
        "publishedHostname": "www.example.com",
        "publishedUrlPath": path,
        "sourceHostname": "origin.example.com",
        "sourceUrlPath": "/",
        "protocolSets": [{"publishedProtocol": "https", "sourceProtocol": "https", "options": []}],
    }
