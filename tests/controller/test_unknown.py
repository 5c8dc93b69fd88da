"""Unknown is not empty: while Edgio's listing fails, the controller keeps what it last
knew. Statuses keep their rules (ids, states), Ingresses keep their load-balancer
hostnames, and a deleted route keeps its finalizer (and Edgio its rule) until a listing
shows its rules gone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.controller.conftest import World, converged, ingress
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.emulator_only("injects faults into the emulator")]


def hostnames(world: World, name: str) -> list[str]:
    found = world.kube.get("networking.k8s.io/v1", "Ingress", name, "default") or {}
    entries = ((found.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [str(e.get("hostname")) for e in entries]


def rule_entries(world: World, name: str) -> list[dict[str, Any]]:
    return list(((world.route(name) or {}).get("status") or {}).get("rules") or [])


def failed_passes(world: World) -> int:
    passes = [line for line in world.log_lines() if line.get("event") == "pass"]
    return sum(1 for line in passes if line.get("listing_problems"))


def test_a_failing_edgio_listing_changes_nothing_users_see_and_deletes_nothing(
    world: World,
) -> None:
    world.seed_cluster()
    world.apply(ingress("web"), ingress("other", paths=("/other",)))
    world.start("--interval", "1s", "--provider-resync", "1s")
    eventually(lambda: converged(world, "web") and converged(world, "other"), timeout=30)
    eventually(lambda: hostnames(world, "other") and hostnames(world, "web"))
    shown, entries = hostnames(world, "other"), rule_entries(world, "other")
    assert [e["state"] for e in entries] == ["Published"] and entries[0]["ruleId"]
    world.edgio.faults.add(method="GET", status=401)  # every listing refused
    eventually(lambda: failed_passes(world) >= 2, timeout=30)  # nothing cached is trusted
    world.kubectl("delete", "ingress", "web", "--wait=false")
    eventually(lambda: (world.route("web") or {}).get("metadata", {}).get("deletionTimestamp"))
    world.wait_passes(4, timeout=60)
    route = world.route("web")
    assert route is not None, "the finalizer went while Edgio's rules were unknown"
    assert "/fred" in world.rules()
    assert rule_entries(world, "other") == entries
    assert hostnames(world, "other") == shown
    assert world.condition("other").get("reason") == "ProviderAuthFailed"
    world.edgio.faults.clear()
    eventually(lambda: world.route("web") is None, timeout=30)
    assert "/fred" not in world.rules() and "/other" in world.rules()
