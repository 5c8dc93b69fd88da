"""The mass-deletion guard end to end, with each of the three ways a controller comes to
see everything it owns as orphans: an empty cache, the wrong cluster, the wrong owner id.
Each time the pass writes nothing, says so (condition, Event, metric, exit code), and
`--allow-mass-delete` is what lets an intended sweep through."""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.request
from typing import Any

import pytest

from edgio_sandbox.kube import KubeEmulator
from tests.controller.conftest import BIN, World, converged, ingress, node
from tests.support import eventually

pytestmark = pytest.mark.slow

OWNER = "cluster-a"
LISTS = {
    "/apis/networking.k8s.io/v1/ingresses$": ("networking.k8s.io/v1", "IngressList"),
    "/apis/cdn.edgio.io/v1alpha1/edgioroutes$": ("cdn.edgio.io/v1alpha1", "EdgioRouteList"),
}


def publish_two_routes(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress("web"), ingress("other", paths=("/other",)))
    result = world.once("--owner-id", OWNER)
    assert result.returncode == 0, result.stderr
    assert converged(world, "web") and converged(world, "other")


def answer_empty_lists(kube: KubeEmulator) -> None:
    """The API server answers every Ingress and EdgioRoute listing with nothing."""
    for path, (api_version, kind) in LISTS.items():
        body = {"apiVersion": api_version, "kind": kind, "metadata": {}, "items": []}
        kube.faults.add(method="GET", path=path, status=200, body=json.dumps(body).encode())


def plan_json(world: World, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [str(BIN / "edgio-ingress"), "plan", "-o", "json", *args],
        env=world.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


def scraped(port: int, name: str) -> float:
    try:
        return metric(port, name)
    except OSError:
        return 0.0


def test_an_empty_cache_is_refused_and_allow_lets_the_sweep_through(world: World) -> None:
    publish_two_routes(world)
    answer_empty_lists(world.kube)
    refused = world.once("--owner-id", OWNER)
    assert refused.returncode == 1
    assert "mass deletion refused" in refused.stderr
    assert "delete 2 of 2 owned Edgio rules" in refused.stderr
    assert sorted(world.rules()) == ["/fred", "/other"]
    assert world.a_records() == ["203.0.113.1", "203.0.113.2"]
    plan = plan_json(world, "--owner-id", OWNER)
    assert plan["changes"] == [] and "mass deletion refused" in plan["refusal"]
    assert (
        sum(s["why"].startswith("MassDeleteRefused:") for s in plan["skipped"]) == 5
    )  # 2 rules, 2 A, 1 TXT
    allowed = world.once("--owner-id", OWNER, "--allow-mass-delete")
    assert allowed.returncode == 0, allowed.stderr
    assert world.rules() == {} and world.a_records() == []


def test_a_kubeconfig_for_another_cluster_deletes_nothing(
    world: World, other_cluster: World
) -> None:
    publish_two_routes(world)
    # the owner id derived from the other cluster's kube-system: nothing there is ours
    assert other_cluster.once().returncode == 0
    # the same explicit owner id (a Helm value copied between clusters): refused
    refused = other_cluster.once("--owner-id", OWNER)
    assert refused.returncode == 1 and "mass deletion refused" in refused.stderr
    assert sorted(world.rules()) == ["/fred", "/other"]
    assert world.a_records() == ["203.0.113.1", "203.0.113.2"]
    assert len(world.txt_records()) == 1
    assert converged(world, "web") and converged(world, "other")


def test_a_wrong_owner_id_is_refused_with_condition_event_and_metric(
    world: World, other_cluster: World
) -> None:
    """Cluster B is started with cluster A's owner id: A's rules look like B's orphans."""
    publish_two_routes(world)
    world.start("--owner-id", OWNER, "--interval", "60s")
    other_cluster.kube.seed(node("b1", "198.51.100.1"))
    other_cluster.apply(ingress("site", paths=("/b",)))
    port = free_port()
    other_cluster.start(
        "--owner-id", OWNER, "--interval", "2s", "--metrics-addr", f"127.0.0.1:{port}"
    )
    eventually(
        lambda: other_cluster.condition("site", "CdnReady").get("reason") == "MassDeleteRefused",
        timeout=30,
    )
    assert other_cluster.condition("site")["reason"] == "MassDeleteRefused"
    message = other_cluster.condition("site", "CdnReady")["message"]
    assert "delete 2 of 2 owned Edgio rules" in message and "--allow-mass-delete" in message
    eventually(lambda: scraped(port, "edgio_ingress_mass_delete_refused_total") >= 1)

    def refused_on() -> set[str]:
        """The kinds of object a MassDeleteRefused Warning went on (Events are sent in
        the background)."""
        events = other_cluster.kube.list("v1", "Event")
        return {
            e["involvedObject"]["kind"]
            for e in events
            if e["type"] == "Warning" and e["reason"] == "MassDeleteRefused"
        }

    eventually(lambda: {"EdgioRoute", "Lease"} <= refused_on())
    other_cluster.wait_passes(1)  # a second refused pass: still nothing written
    assert sorted(world.rules()) == ["/fred", "/other"]
    assert world.a_records() == ["203.0.113.1", "203.0.113.2"]
    assert converged(world, "web") and converged(world, "other")


def test_an_ingress_cache_that_came_up_empty_deletes_no_route(world: World) -> None:
    """Routes listed, Ingresses not: the sweep reads each Ingress from the API server,
    finds it still Edgio's, and keeps the route and its rules."""
    publish_two_routes(world)
    path, (api_version, kind) = next(iter(LISTS.items()))
    body = {"apiVersion": api_version, "kind": kind, "metadata": {}, "items": []}
    world.kube.faults.add(method="GET", path=path, status=200, body=json.dumps(body).encode())
    result = world.once("--owner-id", OWNER)
    assert result.returncode == 0, result.stderr
    assert "route sweep held" in result.stderr
    assert not (world.route("web") or {})["metadata"].get("deletionTimestamp")
    assert not (world.route("other") or {})["metadata"].get("deletionTimestamp")
    assert sorted(world.rules()) == ["/fred", "/other"]
    assert converged(world, "web") and converged(world, "other")


def test_most_ingresses_leaving_edgio_at_once_is_refused_until_allowed(world: World) -> None:
    """Two of three Ingresses lose `cdn: edgio` together (a label dropped from a shared
    overlay, say): their routes stay published until the operator allows the sweep; a
    single Ingress leaving goes through at once."""
    publish_two_routes(world)
    world.apply(ingress("third", paths=("/third",)))
    assert world.once("--owner-id", OWNER).returncode == 0
    world.kubectl("label", "ingress", "web", "other", "cdn-")
    refused = world.once("--owner-id", OWNER)
    assert refused.returncode == 1
    assert "delete 2 of 3 derived EdgioRoutes" in refused.stderr
    assert sorted(world.rules()) == ["/fred", "/other", "/third"]
    told = {
        e["involvedObject"]["name"]
        for e in world.events("Ingress")
        if e["reason"] == "MassDeleteRefused" and "stay published" in e["message"]
    }
    assert told == {"web", "other"}  # the Ingresses their owners changed, told why
    plan = plan_json(world, "--owner-id", OWNER)
    assert "derived EdgioRoutes" in plan["refusal"]
    allowed = world.once("--owner-id", OWNER, "--allow-mass-delete")
    assert allowed.returncode == 0, allowed.stderr
    eventually(lambda: sorted(world.rules()) == ["/third"])
    assert world.route("web") is None and world.route("other") is None
    world.kubectl("label", "ingress", "third", "cdn-")
    assert world.once("--owner-id", OWNER).returncode == 0
    eventually(lambda: world.rules() == {})
