"""Plans from the pure core, carried out by our clients against the Vultr and Edgio emulators.

This is where the core's assumptions about the providers are checked over real HTTP:
ownership markers survive a round trip through each API, a converged state plans nothing
when listed back, Vultr's one-TTL-per-set rule is respected, and foreign objects and
out-of-band edits are handled as the design says.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import yaml

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.vultr import VultrEmulator
from reconciler import ownership
from reconciler.apply import ApplyReport, apply_plan
from reconciler.derive.desired import DesiredState, Settings, desired_state
from reconciler.derive.ingress import derive_route
from reconciler.derive.routes import route_from_object
from reconciler.diff import plan
from reconciler.model import Action, CdnRule, DnsRecord, OwnerMarker, Plan
from reconciler.providers.edgio import EdgioCdn
from reconciler.providers.transport import RetryPolicy
from reconciler.providers.vultr import VultrDns

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FAST = RetryPolicy(attempts=5, initial_wait=0.001, max_wait=0.01, max_retry_after=0.02)
OWNER = "cluster-a"
SETTINGS = Settings(
    owner_id=OWNER, zones=("example.com",), default_origin_hostname="origin.example.com", ttl=60
)


@dataclass
class World:
    vultr: VultrEmulator
    edgio: EdgioEmulator
    dns: VultrDns
    cdn: EdgioCdn

    def records(self) -> list[DnsRecord]:
        return self.dns.list_records("example.com")

    def rules(self) -> list[CdnRule]:
        return self.cdn.list_rules("exampleco")

    def plan_for(self, desired: DesiredState) -> Plan:
        return plan(
            desired.records,
            self.records(),
            desired.rules,
            self.rules(),
            owner=OWNER,
            holds=desired.holds,
        )

    def apply(self, result: Plan) -> ApplyReport:
        return apply_plan(result, self.dns, self.cdn)


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


def seed_state(addresses: list[str], node_port: int = 30080, ttl: int = 60) -> DesiredState:
    ingress = yaml.safe_load((EXAMPLES / "pywai-edgio-ingress-matching.yaml").read_text())
    route = route_from_object(derive_route(ingress).manifest)
    nodes = [node(f"n{i}", a) for i, a in enumerate(addresses)]
    services = {("default", "pywai-inline-service"): service(node_port)}
    return desired_state([route], services, nodes, replace(SETTINGS, ttl=ttl))


def desired_marker() -> DnsRecord:
    text = ownership.render(OwnerMarker(OWNER, "origin"))
    return DnsRecord("example.com", "a-origin", "TXT", text, 60)


def converge(world: World, desired: DesiredState) -> Plan:
    first = world.plan_for(desired)
    assert world.apply(first).ok
    assert world.plan_for(desired).changes == ()
    return first


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
    result = world.plan_for(desired)
    assert [s.reason for s in result.skipped] == ["ForeignRecord"]
    world.apply(result)
    assert [r.data for r in world.records() if r.type == "A"] == ["198.51.100.9"]


def test_a_failed_origin_write_holds_back_the_rule_that_needs_it(world: World) -> None:
    world.vultr.faults.add(status=400, method="POST", path="/records$", times=1)
    desired = seed_state(["203.0.113.1"])
    report = world.apply(world.plan_for(desired))
    assert [(c.subject, type(e).__name__) for c, e in report.failed] == [
        (desired_marker(), "ValidationFailed")
    ]
    assert [type(c.subject).__name__ for c in report.held] == ["DnsRecord", "CdnRule"]
    assert world.records() == [] and world.rules() == []
    converge(world, desired)  # the next pass finishes the job


def test_a_failed_rule_delete_keeps_its_origin(world: World) -> None:
    converge(world, seed_state(["203.0.113.1"]))
    world.edgio.faults.add(status=500, method="DELETE", times=100)
    nothing = desired_state([], {}, [], SETTINGS)
    report = world.apply(world.plan_for(nothing))
    assert [type(c.subject).__name__ for c, _ in report.failed] == ["CdnRule"]
    assert {c.subject.type for c in report.held if isinstance(c.subject, DnsRecord)} == {"A", "TXT"}
    assert [r.data for r in world.records() if r.type == "A"] == ["203.0.113.1"]
    world.edgio.faults.clear()
    converge(world, nothing)
    assert world.records() == [] and world.rules() == []


def test_a_deleted_service_leaves_the_published_rule_and_origin_alone(world: World) -> None:
    converge(world, seed_state(["203.0.113.1"]))
    ingress = yaml.safe_load((EXAMPLES / "pywai-edgio-ingress-matching.yaml").read_text())
    route = route_from_object(derive_route(ingress).manifest)
    without_service = desired_state([route], {}, [node("n0", "203.0.113.1")], SETTINGS)
    result = world.plan_for(without_service)
    assert result.changes == ()
    assert [s.reason for s in result.skipped] == ["Held"]
    assert len(world.rules()) == 1
