"""The core's safety promises, checked after every single provider write.

A Hypothesis state machine edits Ingresses, Services and nodes, seeds foreign DNS
records and Edgio rules, publishes Edgio rules, and runs passes of the pure core
(derive -> desired_state -> plan -> apply_plan) against the in-memory stores of
``memory_providers``, with failures injected on any write: refused before it lands, or
landed with its answer lost. The stores are wrapped so that every write is checked
before it happens and the invariants after it:

- nothing without our marker is updated or deleted (A records of a name without our
  TXT, TXT records that are not our marker at an ownership name, rules without ours);
- a name that resolved before the pass and that any stored rule uses (its latest
  version, or the version the edge still serves until publishing completes) resolves;
- a wanted name of ours never goes from one or more A records to none;
- a rule is created or moved only onto a name of ours that resolves;
- what is held is not updated or deleted, and a route competing for a held rule is
  told `Conflict`, naming the holder.

Once failures stop, passes (with Edgio publishing in between) converge within three
and then plan nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from reconciler.derive.desired import (
    BACKEND_PROBLEMS,
    DesiredState,
    RuleState,
    Settings,
    desired_state,
)
from reconciler.derive.ingress import derive_route
from reconciler.derive.routes import route_from_object
from reconciler.errors import InvalidObject
from reconciler.model import (
    WEB_PROTOCOLS,
    CdnOption,
    CdnRule,
    DnsRecord,
    Holds,
    OwnerMarker,
    Plan,
    ProtocolSet,
    Route,
    dns_name,
)
from reconciler.plan.diff import plan
from reconciler.plan.settle import settle
from reconciler.providers.apply import apply_plan
from reconciler.providers.base import ProviderError, ServerError
from reconciler.registry import ownership
from tests.core.memory_providers import MemoryEdgio, MemoryVultr, WireRecord

ME = "me"
ZONE = "example.com"
SHORTNAME = "exampleco"
ORIGINS = ("origin.example.com", "edge.example.com", "origin.elsewhere.net")
HOSTS = ("www.shop.com", "exampleco.s.llnwi.net")
PATHS = ("/", "/api")
NAMESPACES = ("a", "b")  # route a/web is older than b/web
NODES = {f"n{i}": f"203.0.113.{i}" for i in range(1, 5)}
SETTINGS = Settings(
    owner_id=ME,
    zones=(ZONE,),
    default_shortname=SHORTNAME,
    default_origin_hostname=ORIGINS[0],
)

T = TypeVar("T")


@dataclass
class IngressSpec:
    host: str
    paths: tuple[str, ...]
    origin: str
    typo: bool = False  # an unknown cdn.edgio.io annotation: the Ingress is invalid
    orphan: bool = False
    deleting: bool = False

    def manifest(self, namespace: str) -> dict[str, Any]:
        annotations = {"cdn.edgio.io/origin-hostname": self.origin}
        if self.typo:
            annotations["cdn.edgio.io/orgin-hostname"] = self.origin
        if self.orphan:
            annotations["cdn.edgio.io/deletion-policy"] = "Orphan"
        paths = [
            {
                "path": path,
                "pathType": "Prefix",
                "backend": {"service": {"name": "web", "port": {"name": "http"}}},
            }
            for path in self.paths
        ]
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": "web",
                "namespace": namespace,
                "uid": f"{namespace}-uid",
                "labels": {"cdn": "edgio"},
                "annotations": annotations,
            },
            "spec": {"rules": [{"host": self.host, "http": {"paths": paths}}]},
        }


@dataclass
class Node:
    ready: bool = True
    excluded: bool = False
    leaving: bool = False  # tainted by the cluster autoscaler, which removes it

    def manifest(self, name: str) -> dict[str, Any]:
        labels = {"node.kubernetes.io/exclude-from-external-load-balancers": ""}
        taints = [{"key": "ToBeDeletedByClusterAutoscaler", "effect": "NoSchedule"}]
        return {
            "metadata": {"name": name, "labels": labels if self.excluded else {}},
            "spec": {"taints": taints if self.leaving else []},
            "status": {
                "conditions": [{"type": "Ready", "status": str(self.ready)}],
                "addresses": [{"type": "ExternalIP", "address": NODES[name]}],
            },
        }


def name_of(fqdn: str) -> str | None:
    """The zone-relative name of an origin in the managed zone, else None."""
    fqdn = dns_name(fqdn)
    return fqdn[: -len(ZONE) - 1] if fqdn.endswith("." + ZONE) else None


@dataclass
class PassFacts:
    """What was true when a pass began, and what it was told to hold."""

    resolving: set[str]  # names with at least one A record
    wanted: set[str]  # names with desired A records
    holds: Holds


@dataclass
class Checked:
    """Both provider Protocols over the memory stores: every write is checked before it
    is made and the invariants after it, and the writes chosen by `faults` fail."""

    vultr: MemoryVultr
    edgio: MemoryEdgio
    facts: PassFacts
    faults: dict[int, str] = field(default_factory=dict)  # write index -> refuse | lost
    writes: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    # --- the Protocols ---------------------------------------------------------------------

    def list_records(self, zone: str) -> list[DnsRecord]:
        return self.vultr.list_records(zone)

    def list_rules(self, shortname: str) -> list[CdnRule]:
        return self.edgio.list_rules(shortname)

    def create_record(self, record: DnsRecord) -> DnsRecord:
        return self._write(lambda: self.vultr.create_record(record))

    def update_record(self, current: DnsRecord, desired: DnsRecord) -> DnsRecord:
        self._may_change_record(current)
        return self._write(lambda: self.vultr.update_record(current, desired))

    def delete_record(self, record: DnsRecord) -> None:
        self._may_change_record(record)
        self._write(lambda: self.vultr.delete_record(record))

    def create_rule(self, rule: CdnRule) -> CdnRule:
        self._may_point_at(rule.source_host)
        return self._write(lambda: self.edgio.create_rule(rule))

    def update_rule(self, current: CdnRule, desired: CdnRule) -> CdnRule:
        self._may_change_rule(current)
        if current.source_host.lower() != desired.source_host.lower():
            self._may_point_at(desired.source_host)
        return self._write(lambda: self.edgio.update_rule(current, desired))

    def delete_rule(self, rule: CdnRule) -> None:
        self._may_change_rule(rule)
        self._write(lambda: self.edgio.delete_rule(rule))

    # --- before a write --------------------------------------------------------------------

    def claimed(self, name: str) -> bool:
        return any(
            ownership.claimed_name(r.name, r.type, r.data, ME) == name
            for r in self.vultr.list_records(ZONE)
        )

    def _may_change_record(self, record: DnsRecord) -> None:
        stored = self.vultr.records.get(record.id or "")
        if stored is None:
            return
        listed = DnsRecord(
            stored.zone, stored.name, stored.type, stored.data.strip('"'), stored.ttl
        )
        if listed.type == "A":
            assert self.claimed(listed.name), f"changing A {listed.name} of a name not ours"
            assert (ZONE, listed.name) not in self.facts.holds.names, f"held name {listed.name}"
        else:
            name = ownership.claimed_name(listed.name, listed.type, listed.data, ME)
            assert name is not None, f"changing a TXT that is not our marker: {listed}"
            assert (ZONE, name) not in self.facts.holds.names, f"held name {name}"

    def _may_change_rule(self, rule: CdnRule) -> None:
        stored = self.edgio.rules.get(rule.id or "")
        if stored is None:
            return
        owner = stored.rule.owner
        assert owner is not None and owner.owner == ME, f"changing a foreign rule {stored.rule}"
        holds = self.facts.holds
        assert stored.rule.key not in holds.rules, f"changing a held rule {stored.rule}"
        assert owner.resource not in holds.routes, f"changing a held route's rule {stored.rule}"

    def _may_point_at(self, fqdn: str) -> None:
        name = name_of(fqdn)
        assert name is not None and self.claimed(name), f"a rule pointed at {fqdn}: not ours"
        assert self.vultr.a_count(ZONE, name) > 0, f"a rule pointed at {fqdn}: no A record"

    # --- the write, and after it -----------------------------------------------------------

    def _write(self, write: Callable[[], T]) -> T:
        index, self.writes = self.writes, self.writes + 1
        fault = self.faults.get(index)
        before = {name: self.vultr.a_count(ZONE, name) for name in self.facts.wanted}
        try:
            if fault == "refuse":
                raise ServerError("memory", "write", "injected failure", 500)
            result = write()
            if fault == "lost":
                raise ServerError("memory", "write", "answer lost after the write", 502)
            return result
        finally:
            self.check(before)

    def check(self, before: dict[str, int]) -> None:
        for stored in self.edgio.rules.values():
            for version in filter(None, (stored.rule, stored.live)):
                name = name_of(version.source_host)
                if name in self.facts.resolving:
                    assert self.vultr.a_count(ZONE, name) > 0, (
                        f"{name} emptied while {version.published_host}"
                        f"{version.published_path} ({version.state}) uses it"
                    )
        for name, count in before.items():
            if count and self.claimed(name):
                assert self.vultr.a_count(ZONE, name) > 0, f"wanted name {name} emptied"


def _tell(text: str) -> None:
    """Show `text` with a falsifying example (and nowhere when run by hand)."""
    with contextlib.suppress(InvalidArgument):
        note(text)


class CoreModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.vultr = MemoryVultr()
        self.edgio = MemoryEdgio()
        self.ingresses: dict[str, IngressSpec] = {}
        self.services: dict[str, int | None] = {ns: 30080 for ns in NAMESPACES}
        self.nodes = {"n1": Node(), "n2": Node()}
        self.ttl = 60
        self.passes = 0

    # --- the cluster -----------------------------------------------------------------------

    @initialize(host=st.sampled_from(HOSTS), origin=st.sampled_from(ORIGINS[:2]))
    def an_ingress_is_published(self, host: str, origin: str) -> None:
        self.ingresses["a"] = IngressSpec(host, ("/",), origin)
        self.run_pass({})
        self.edgio.publish()

    @rule(namespace=st.sampled_from(NAMESPACES))
    def origin_moves(self, namespace: str) -> None:
        if (spec := self.ingresses.get(namespace)) is not None:
            spec.origin = ORIGINS[1] if spec.origin == ORIGINS[0] else ORIGINS[0]

    @rule(
        namespace=st.sampled_from(NAMESPACES),
        host=st.sampled_from(HOSTS),
        paths=st.sets(st.sampled_from(PATHS), min_size=1).map(lambda s: tuple(sorted(s))),
        origin=st.sampled_from((*ORIGINS[:2], *ORIGINS)),  # outside the zone: one in four
        typo=st.integers(0, 4).map(lambda n: n == 0),
        orphan=st.booleans(),
    )
    def edit_ingress(
        self,
        namespace: str,
        host: str,
        paths: tuple[str, ...],
        origin: str,
        typo: bool,
        orphan: bool,
    ) -> None:
        self.ingresses[namespace] = IngressSpec(host, paths, origin, typo, orphan)

    @rule(namespace=st.sampled_from(NAMESPACES), typo=st.booleans())
    def annotation_typo(self, namespace: str, typo: bool) -> None:
        if namespace in self.ingresses:
            self.ingresses[namespace].typo = typo

    @rule(namespace=st.sampled_from(NAMESPACES))
    def claim_the_other_routes_host(self, namespace: str) -> None:
        other = self.ingresses.get("b" if namespace == "a" else "a")
        if other is not None:
            self.ingresses[namespace] = IngressSpec(other.host, other.paths, other.origin)

    @rule(namespace=st.sampled_from(NAMESPACES), orphan=st.booleans())
    def delete_ingress(self, namespace: str, orphan: bool) -> None:
        if namespace in self.ingresses:
            self.ingresses[namespace].deleting = True
            self.ingresses[namespace].orphan = orphan

    @rule(names=st.sets(st.sampled_from(sorted(NODES)), min_size=1))
    def nodes_replaced(self, names: set[str]) -> None:
        self.nodes = {name: Node() for name in names}

    @rule(namespace=st.sampled_from(NAMESPACES), node_port=st.sampled_from([None, 30080, 30081]))
    def recreate_service(self, namespace: str, node_port: int | None) -> None:
        self.services[namespace] = node_port

    @rule(
        name=st.sampled_from(sorted(NODES)),
        ready=st.booleans(),
        excluded=st.booleans(),
        leaving=st.booleans(),
    )
    def node_changes(self, name: str, ready: bool, excluded: bool, leaving: bool) -> None:
        self.nodes[name] = Node(ready, excluded, leaving)

    @rule(name=st.sampled_from(sorted(NODES)))
    def node_leaves(self, name: str) -> None:
        self.nodes.pop(name, None)

    @rule(ttl=st.sampled_from([60, 300]))
    def ttl_changes(self, ttl: int) -> None:
        self.ttl = ttl

    # --- other writers ---------------------------------------------------------------------

    @rule(
        name=st.sampled_from(["origin", "edge", "a-origin", "a-edge"]),
        kind=st.sampled_from(["A", "spf", "our-marker", "hostile-marker"]),
        ttl=st.sampled_from([60, 300, 3600]),
    )
    def foreign_record(self, name: str, kind: str, ttl: int) -> None:
        marker = ownership.render(OwnerMarker(ME, ownership.ORIGIN_RESOURCE))
        record_type, data = {
            "A": ("A", "198.51.100.7"),
            "spf": ("TXT", '"v=spf1 -all"'),
            "our-marker": ("TXT", f'"{marker}"'),  # a duplicate, or at a name without a-
            "hostile-marker": ("TXT", f'"heritage=external-dns,{marker}"'),
        }[kind]
        if record_type == "A" and name.startswith("a-"):
            return
        existing = [
            r.ttl for r in self.vultr.records.values() if (r.name, r.type) == (name, record_type)
        ]
        self.vultr.put(
            None, WireRecord(ZONE, name, record_type, data, existing[0] if existing else ttl)
        )

    @rule(
        host=st.sampled_from(["WWW.shop.com", "www.shop.com", "Exampleco.s.llnwi.net"]),
        path=st.sampled_from(["/", "/api/"]),
        # Also our origin spelled otherwise: a trailing root dot and capitals name it too.
        origin=st.sampled_from([*ORIGINS[:2], "ORIGIN.example.com."]),
        owner=st.sampled_from([None, "other"]),
    )
    def foreign_rule(self, host: str, path: str, origin: str, owner: str | None) -> None:
        marker = OwnerMarker(owner, "service/x/y") if owner else None
        rule = CdnRule(SHORTNAME, host, path, origin, 8080, owner=marker)
        with contextlib.suppress(ProviderError):  # the 409 for a second host and path
            self.edgio.create_rule(rule)

    @rule(port=st.sampled_from([None, 8443]), option=st.booleans())
    def portal_edits_one_protocol_set(self, port: int | None, option: bool) -> None:
        """Someone changes the https set of one of our rules only: drift to restore."""
        ours = [s for s in self.edgio.rules.values() if s.rule.owner and s.rule.owner.owner == ME]
        if not ours:
            return
        rule = ours[0].rule
        https = ProtocolSet(
            "https",
            rule.source_protocol,
            port,
            (CdnOption("refresh_absmin", (60,)),) if option else rule.options,
        )
        http = ProtocolSet("http", rule.source_protocol, rule.source_port, rule.options)
        ours[0].rule = replace(rule, published_protocols=WEB_PROTOCOLS, protocol_sets=(http, https))

    @rule()
    def edgio_publishes(self) -> None:
        self.edgio.publish()

    # --- the core --------------------------------------------------------------------------

    def desired(self) -> DesiredState:
        routes: list[Route] = []
        invalid: list[str] = []
        for index, (namespace, spec) in enumerate(sorted(self.ingresses.items())):
            try:
                manifest = derive_route(spec.manifest(namespace)).manifest
            except InvalidObject:
                invalid.append(f"{namespace}/web")
                continue
            manifest["metadata"]["creationTimestamp"] = f"2026-01-0{index + 1}T00:00:00Z"
            if spec.deleting:
                manifest["metadata"]["deletionTimestamp"] = "2026-02-01T00:00:00Z"
            routes.append(route_from_object(manifest))
        services = {
            (ns, "web"): {
                "spec": {
                    "type": "NodePort",
                    "ports": [{"name": "http", "port": 80, "nodePort": port}],
                }
            }
            for ns, port in self.services.items()
            if port is not None
        }
        nodes = [node.manifest(name) for name, node in sorted(self.nodes.items())]
        return desired_state(routes, services, nodes, replace(SETTINGS, ttl=self.ttl), invalid)

    def plan_for(self, desired: DesiredState) -> Plan:
        return plan(
            desired.records,
            self.vultr.list_records(ZONE),
            desired.rules,
            self.edgio.list_rules(SHORTNAME),
            owner=ME,
            holds=desired.holds,
        )

    def run_pass(self, faults: dict[int, str]) -> Plan:
        desired = self.desired()
        result = self.plan_for(desired)
        self.check_conflicts(desired, result)
        facts = PassFacts(
            resolving={n for n in ("origin", "edge") if self.vultr.a_count(ZONE, n)},
            wanted={r.name for r in desired.records},
            holds=desired.holds,
        )
        checked = Checked(self.vultr, self.edgio, facts, faults)
        report = apply_plan(result, checked, checked)
        _tell(f"pass {self.passes}: {[(c.action.value, c.subject) for c in result.changes]}")
        _tell(f"failed {[c for c, _ in report.failed]}; held {report.held}")
        self.passes += 1
        self.finish_deletions()
        return result

    def check_conflicts(self, desired: DesiredState, result: Plan) -> None:
        """A route competing for a held rule is told Conflict, naming the holder."""
        settled = settle(desired, result)
        holds = desired.holds
        for listed in self.edgio.list_rules(SHORTNAME):
            owner = listed.owner
            if owner is None or owner.owner != ME:
                continue
            holder = ownership.route_of(owner.resource)
            if owner.resource not in holds.routes and not self.broken(settled, holder, listed):
                continue
            for outcome in settled.outcomes:
                for ruled in outcome.rules:
                    same = (ruled.shortname, ruled.host, ruled.path) == listed.key
                    if same and outcome.key != holder and ruled.state not in BACKEND_PROBLEMS:
                        assert ruled.state is RuleState.CONFLICT, (outcome.key, ruled)
                        assert holder in ruled.message

    @staticmethod
    def broken(desired: DesiredState, route_key: str, listed: CdnRule) -> bool:
        """Whether the route that published `listed` has a broken backend for it."""
        return any(
            (r.shortname, r.host, r.path) == listed.key and r.state in BACKEND_PROBLEMS
            for outcome in desired.outcomes
            if outcome.key == route_key
            for r in outcome.rules
        )

    def finish_deletions(self) -> None:
        """The controller drops its finalizer once no rule carries the route's marker."""
        for namespace, spec in list(self.ingresses.items()):
            resource = ownership.route_resource(f"{namespace}/web")
            carried = any(
                r.owner is not None and r.owner.resource == resource
                for r in self.edgio.list_rules(SHORTNAME)
            )
            if spec.deleting and not carried:
                del self.ingresses[namespace]

    @rule(
        faults=st.dictionaries(st.integers(0, 12), st.sampled_from(["refuse", "lost"]), max_size=3)
    )
    def controller_pass(self, faults: dict[int, str]) -> None:
        self.run_pass(faults)

    @precondition(lambda self: self.passes > 0)
    @rule()
    def failures_stop_and_it_converges(self) -> None:
        for _ in range(3):
            self.run_pass({})
            self.edgio.publish()
        assert self.plan_for(self.desired()).changes == (), "not converged in three passes"
        self.origins_are_the_eligible_nodes()

    def origins_are_the_eligible_nodes(self) -> None:
        """Once converged, every wanted origin of ours holds exactly the Ready nodes that
        are not excluded from load balancers nor leaving (while there is one: else held)."""
        eligible = {
            NODES[name]
            for name, node in self.nodes.items()
            if node.ready and not node.excluded and not node.leaving
        }
        listed = self.vultr.list_records(ZONE)
        ours = {ownership.claimed_name(r.name, r.type, r.data, ME) for r in listed}
        for name in {r.name for r in self.desired().records} & ours if eligible else ():
            held = {r.data for r in listed if (r.name, r.type) == (name, "A")}
            assert held == eligible, (name, held, eligible)

    @invariant()
    def no_rule_stranded_between_steps(self) -> None:
        checked = Checked(self.vultr, self.edgio, PassFacts(set(), set(), Holds()))
        checked.check({})


CoreModel.TestCase.settings = settings(
    max_examples=max(10, settings.default.max_examples // 2),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_core_model = CoreModel.TestCase
