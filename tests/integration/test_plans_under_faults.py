"""Plans carried out against emulators that page oddly or fail: a listing that repeats an
object never gets it deleted, an incomplete listing deletes nothing, and one failed write
does not stop the rest of a plan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.vultr import Paging, VultrEmulator
from reconciler.derive.desired import DesiredState, desired_state
from reconciler.derive.ingress import derive_route
from reconciler.derive.routes import route_from_object
from reconciler.model import Action, CdnRule, DnsRecord, Plan
from reconciler.plan.diff import plan
from reconciler.providers.apply import ApplyReport, apply_plan
from reconciler.providers.edgio import EdgioCdn
from reconciler.providers.vultr import VultrDns
from tests.integration.test_plans_against_emulators import (
    FAST,
    OWNER,
    SETTINGS,
    World,
    seed_state,
)


def desired_for(addresses: list[str]) -> DesiredState:
    """The pure core's desired state for the seed example on nodes with these addresses."""
    scene = seed_state(addresses)
    routes = [route_from_object(derive_route(ingress).manifest) for ingress in scene.ingresses]
    services = {("default", s["metadata"]["name"]): s for s in scene.services}
    return desired_state(routes, services, scene.nodes, SETTINGS)


def plan_for(world: World, desired: DesiredState) -> Plan:
    return plan(
        desired.records,
        world.records(),
        desired.rules,
        world.rules(),
        owner=OWNER,
        holds=desired.holds,
    )


def apply(world: World, result: Plan) -> ApplyReport:
    return apply_plan(result, world.dns, world.cdn)


def converge(world: World, desired: DesiredState) -> None:
    assert apply(world, plan_for(world, desired)).ok
    assert plan_for(world, desired).changes == ()


@pytest.fixture
def world() -> Iterator[World]:
    with VultrEmulator(zones=("example.com",), rate_limit=None) as vultr, EdgioEmulator() as edgio:
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


def test_a_listing_that_repeats_the_ownership_txt_never_gets_it_deleted(world: World) -> None:
    """Pages that overlap list the TXT marker twice; deleting "the duplicate" would
    delete the only marker and leave the origin's A records foreign for good."""
    world.vultr.seed_record("example.com", "www", "A", "198.51.100.7")
    desired = desired_for(["203.0.113.1", "203.0.113.2"])
    converge(world, desired)
    world.vultr.paging = Paging(cap=2, overlap=1)  # [www, TXT], [TXT, A], [A, A]
    listed = world.records()
    assert [r.type for r in listed].count("TXT") == 1 and not listed.complete
    result = plan_for(world, desired)
    assert [c for c in result.changes if c.action is Action.DELETE] == []
    apply(world, result)
    assert len(world.vultr.records("example.com")) == 4
    world.vultr.paging = Paging()
    assert plan_for(world, desired).changes == ()


def test_an_incomplete_listing_plans_no_delete(world: World) -> None:
    converge(world, desired_for(["203.0.113.1", "203.0.113.2"]))
    world.vultr.paging = Paging(cap=2, overlap=1)  # every walk sees repeats
    nothing = desired_state([], {}, [], SETTINGS)
    result = plan_for(world, nothing)
    dns_deletes = [
        c
        for c in result.changes
        if c.action is Action.DELETE and not isinstance(c.subject, CdnRule)
    ]
    assert dns_deletes == []
    # The rule is kept because the listing moved; its origin because that rule uses it.
    reasons = {(type(s.subject).__name__, s.reason) for s in result.skipped}
    assert reasons == {("CdnRule", "ListingIncomplete"), ("DnsRecord", "OriginInUse")}


def test_apply_plan_goes_on_after_a_failed_write(world: World) -> None:
    """One rule's create is refused; the other rule, which does not depend on it, and
    the origin records are still written."""
    world.edgio.faults.add(status=400, method="POST", times=1)
    desired = desired_for(["203.0.113.1"])
    rules = [*desired.rules, *(replace(rule, published_path="/other/") for rule in desired.rules)]
    result = plan(desired.records, world.records(), rules, world.rules(), owner=OWNER)
    report = apply(world, result)
    [(failed, error)] = report.failed
    assert isinstance(failed.subject, CdnRule) and error.status == 400
    assert report.held == []
    assert [type(c.subject).__name__ for c in report.applied] == ["DnsRecord"] * 2 + ["CdnRule"]
    assert [r.published_path for r in world.rules()] == [report.applied[-1].subject.published_path]


@pytest.mark.parametrize("foreign_first", [False, True], ids=["ours-first", "foreign-first"])
def test_an_incomplete_listing_creates_no_duplicates(world: World, foreign_first: bool) -> None:
    """Pages that overlap by as much as they hold show only the zone's first record, and
    every walk sees a repeat: the listing is incomplete and misses our own records. They
    are not created again on every pass (Vultr would take each copy)."""
    if foreign_first:
        world.vultr.seed_record("example.com", "www", "A", "198.51.100.7")
    scene = seed_state(["203.0.113.1"])
    assert world.run(scene).report.ok
    before = sorted((r["type"], r["name"]) for r in world.vultr.records("example.com"))
    world.vultr.paging = Paging(cap=1, overlap=1)
    listed = world.records()
    assert len(listed) == 1 and not listed.complete
    for _ in range(3):
        result = world.run(scene)
        assert [c for c in result.plan.changes if isinstance(c.subject, DnsRecord)] == []
        assert "ListingIncomplete" in {s.reason for s in result.plan.skipped}
    assert sorted((r["type"], r["name"]) for r in world.vultr.records("example.com")) == before
    world.vultr.paging = Paging()
    assert world.plan_for(scene).changes == ()


def test_records_that_cannot_be_read_are_not_created_again(world: World) -> None:
    """A listing whose records come back unreadable (here a TTL as a string) may be
    hiding our own TXT and A records: they are not created beside them every pass."""
    scene = seed_state(["203.0.113.1"])
    assert world.run(scene).report.ok
    stored = world.vultr.records("example.com")
    garbled = [{**record, "ttl": str(record["ttl"])} for record in stored]
    body = {"records": garbled, "meta": {"total": len(garbled), "links": {"next": "", "prev": ""}}}
    world.vultr.faults.add(
        status=200, body=json.dumps(body).encode(), method="GET", path="/records$"
    )
    listed = world.records()
    assert list(listed) == [] and len(listed.unreadable) == 2 and listed.complete
    for _ in range(3):
        result = world.run(scene)
        assert [c for c in result.plan.changes if isinstance(c.subject, DnsRecord)] == []
    world.vultr.faults.clear()
    assert world.vultr.records("example.com") == stored
    assert world.plan_for(scene).changes == ()
