"""Plans carried out against emulators that page oddly or fail: a listing that repeats an
object never gets it deleted, an incomplete listing deletes nothing, and one failed write
does not stop the rest of a plan."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.vultr import Paging, VultrEmulator
from reconciler.derive.desired import desired_state
from reconciler.diff import plan
from reconciler.model import Action, CdnRule
from reconciler.providers.edgio import EdgioCdn
from reconciler.providers.vultr import VultrDns
from tests.integration.test_plans_against_emulators import (
    FAST,
    OWNER,
    SETTINGS,
    World,
    converge,
    seed_state,
)


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
    desired = seed_state(["203.0.113.1", "203.0.113.2"])
    converge(world, desired)
    world.vultr.paging = Paging(cap=2, overlap=1)  # [www, TXT], [TXT, A], [A, A]
    listed = world.records()
    assert [r.type for r in listed].count("TXT") == 1 and not listed.complete
    result = world.plan_for(desired)
    assert [c for c in result.changes if c.action is Action.DELETE] == []
    world.apply(result)
    assert len(world.vultr.records("example.com")) == 4
    world.vultr.paging = Paging()
    assert world.plan_for(desired).changes == ()


def test_an_incomplete_listing_plans_no_delete(world: World) -> None:
    converge(world, seed_state(["203.0.113.1", "203.0.113.2"]))
    world.vultr.paging = Paging(cap=2, overlap=1)  # every walk sees repeats
    nothing = desired_state([], {}, [], SETTINGS)
    result = world.plan_for(nothing)
    dns_deletes = [
        c
        for c in result.changes
        if c.action is Action.DELETE and not isinstance(c.subject, CdnRule)
    ]
    assert dns_deletes == []
    assert {s.reason for s in result.skipped} == {"ListingIncomplete"}


def test_apply_plan_goes_on_after_a_failed_write(world: World) -> None:
    """One rule's create is refused; the other rule, which does not depend on it, and
    the origin records are still written."""
    world.edgio.faults.add(status=400, method="POST", times=1)
    desired = seed_state(["203.0.113.1"])
    rules = [*desired.rules, *(replace(rule, published_path="/other/") for rule in desired.rules)]
    result = plan(desired.records, world.records(), rules, world.rules(), owner=OWNER)
    report = world.apply(result)
    [(failed, error)] = report.failed
    assert isinstance(failed.subject, CdnRule) and error.status == 400
    assert report.held == []
    assert [type(c.subject).__name__ for c in report.applied] == ["DnsRecord"] * 2 + ["CdnRule"]
    assert [r.published_path for r in world.rules()] == [report.applied[-1].subject.published_path]
