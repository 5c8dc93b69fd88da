"""Two clusters, two controllers with different owner ids, one zone and one account,
both running: neither ever touches the other's records or rules, even when their routes
claim the same path or the same origin name."""

from __future__ import annotations

import pytest

from tests.controller.conftest import HOST, SHORTNAME, World, converged, ingress, node
from tests.support import eventually

pytestmark = pytest.mark.slow


def instance(world: World, path: str) -> dict[str, object]:
    return next(
        i for i in world.edgio.instances(SHORTNAME) if i["body"]["publishedUrlPath"] == path
    )


def test_two_controllers_never_touch_each_others_objects(
    world: World, other_cluster: World
) -> None:
    world.seed_cluster()
    world.apply(ingress("web", paths=("/fred",)))
    other_cluster.kube.seed(node("b1", "198.51.100.1"))
    other_cluster.apply(
        ingress("site", paths=("/b",)),
        ingress("thief", paths=("/fred",)),  # A's path
        ingress(
            "squatter",
            paths=("/s",),
            annotations={"cdn.edgio.io/origin-hostname": "origin.example.com"},
        ),
    )
    # Cluster A publishes first: whichever controller writes /fred or origin.example.com
    # first owns it, and this scenario is about B meeting A's objects, not about that race
    # (which a loaded machine decides either way).
    world.start("--owner-id", "cluster-a", "--interval", "1s")
    eventually(lambda: converged(world, "web"), timeout=60)
    other_cluster.start(
        "--owner-id", "cluster-b", "--origin-hostname", "origin-b.example.com", "--interval", "1s"
    )
    eventually(lambda: converged(other_cluster, "site"), timeout=60)
    eventually(lambda: other_cluster.condition("thief", "Conflict").get("reason") == "ForeignRule")
    eventually(
        lambda: other_cluster.condition("squatter", "DnsReady").get("reason") == "OriginForeign"
    )
    a_rule, b_rule = instance(world, "/fred"), instance(world, "/b")
    records = {r["id"]: r for r in world.vultr.records("example.com")}
    world.wait_passes(3)
    other_cluster.wait_passes(3, index=0)

    assert instance(world, "/fred") == a_rule and instance(world, "/b") == b_rule
    assert {r["id"]: r for r in world.vultr.records("example.com")} == records
    assert world.a_records() == ["203.0.113.1", "203.0.113.2"]
    b_records = [
        r["data"] for r in records.values() if r["name"] == "origin-b" and r["type"] == "A"
    ]
    assert b_records == ["198.51.100.1"]

    other_cluster.kubectl("delete", "ingress", "site", "thief", "squatter")
    eventually(lambda: "/b" not in world.rules(), timeout=30)
    eventually(
        lambda: not [r for r in world.vultr.records("example.com") if r["name"] == "origin-b"]
    )
    assert instance(world, "/fred") == a_rule
    assert world.a_records() == ["203.0.113.1", "203.0.113.2"] and converged(world, "web")
    assert instance(world, "/fred")["body"]["publishedHostname"] == HOST  # type: ignore[index]
