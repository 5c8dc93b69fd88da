"""The controller follows the cluster: nodes, Services, paths and namespaces."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.controller.conftest import World, converged, ingress, node, service
from tests.support import eventually

pytestmark = pytest.mark.slow


def started(world: World, nodes: int = 2) -> None:
    world.seed_cluster(nodes=nodes)
    world.apply(ingress())
    world.start("--interval", "60s")
    eventually(lambda: converged(world), timeout=20)


@contextmanager
def counting_a_records(world: World) -> Iterator[list[int]]:
    """How many A records the origin has, sampled every few milliseconds meanwhile."""
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append(len(world.a_records()))
            done.wait(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield seen
    finally:
        done.set()
        watcher.join()


def test_a_node_joining_adds_one_record(world: World) -> None:
    started(world)
    creates = world.vultr.calls().get(("POST", "/v2/domains/{domain}/records"), 0)
    world.kube.seed(node("n3", "203.0.113.3"))
    eventually(lambda: world.a_records() == ["203.0.113.1", "203.0.113.2", "203.0.113.3"])
    assert world.vultr.calls().get(("POST", "/v2/domains/{domain}/records"), 0) == creates + 1


def test_a_node_going_away_loses_its_record_and_the_origin_never_empties(world: World) -> None:
    started(world, nodes=3)
    with counting_a_records(world) as seen:
        world.kubectl("cordon", "n1")
        eventually(lambda: world.a_records() == ["203.0.113.2", "203.0.113.3"])
        world.kube.seed(node("n2", "203.0.113.2", ready=False))
        eventually(lambda: world.a_records() == ["203.0.113.3"])
        world.kubectl("uncordon", "n1")
        eventually(lambda: world.a_records() == ["203.0.113.1", "203.0.113.3"])
    assert min(seen) >= 1
    eventually(lambda: converged(world))


def test_a_node_tainted_as_leaving_loses_its_record_at_once(world: World) -> None:
    """The cluster autoscaler removes a node by tainting it ToBeDeletedByClusterAutoscaler,
    without cordoning it, as its replacement joins; an operator marks a dead node out of
    service. Each taint wakes a pass (the interval is a minute) and the node's record
    goes, after the new node's is in; taken off again, the node is an origin again."""
    started(world, nodes=3)
    with counting_a_records(world) as seen:
        world.kube.seed(node("n4", "203.0.113.4"))
        world.kubectl(
            "taint", "nodes", "n1", "ToBeDeletedByClusterAutoscaler=1733300000:NoSchedule"
        )
        eventually(lambda: world.a_records() == ["203.0.113.2", "203.0.113.3", "203.0.113.4"])
    assert min(seen) >= 3  # the new node's record before the leaving one's goes
    with counting_a_records(world) as seen:
        world.kubectl(
            "taint", "nodes", "n2", "node.kubernetes.io/out-of-service=nodeshutdown:NoExecute"
        )
        eventually(lambda: world.a_records() == ["203.0.113.3", "203.0.113.4"])
        world.kubectl("taint", "nodes", "n1", "ToBeDeletedByClusterAutoscaler-")
        eventually(lambda: world.a_records() == ["203.0.113.1", "203.0.113.3", "203.0.113.4"])
    assert min(seen) >= 2
    assert world.kubectl("get", "node", "n1", "-o", "jsonpath={.spec.unschedulable}") == ""
    eventually(lambda: converged(world))


def test_a_recreated_service_moves_the_rule_to_its_new_node_port(world: World) -> None:
    started(world)
    before = world.node_port()
    world.kubectl("delete", "service", "pywai-inline-service")
    eventually(lambda: world.condition(kind="BackendReady").get("reason") == "BackendNotFound")
    assert world.source_port() == before  # held, not deleted, while the Service is gone
    created = {
        **service(),
        "spec": {
            **service()["spec"],
            "ports": [{"name": "http", "port": 80, "targetPort": 8000, "nodePort": before + 1}],
        },
    }
    world.apply(created)
    eventually(lambda: world.source_port() == before + 1)
    eventually(lambda: converged(world))


def test_a_changed_path_replaces_the_rule_and_a_second_path_adds_one(world: World) -> None:
    started(world)
    world.apply(ingress(paths=("/wilma",)))
    eventually(lambda: sorted(world.rules()) == ["/wilma"])
    world.apply(ingress(paths=("/wilma", "/barney")))
    eventually(lambda: sorted(world.rules()) == ["/barney", "/wilma"])
    # Ready was already True for /wilma alone: wait for the status that lists both.
    eventually(lambda: converged(world) and len((world.route() or {})["status"]["rules"]) == 2)
    entries = (world.route() or {})["status"]["rules"]
    assert [e["path"] for e in entries] == ["/wilma", "/barney"]


def test_a_second_namespace_works(world: World) -> None:
    started(world)
    world.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    world.apply(service(namespace="shop"), ingress(namespace="shop", paths=("/shop",)))
    eventually(lambda: converged(world, namespace="shop"), timeout=20)
    assert sorted(world.rules()) == ["/fred", "/shop"]
    assert world.source_port("/shop") == world.node_port(namespace="shop")


def test_namespace_restricts_what_is_watched(world: World) -> None:
    world.seed_cluster()
    world.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    world.apply(ingress(), service(namespace="shop"), ingress(namespace="shop", paths=("/shop",)))
    world.start("--interval", "60s", "--namespace", "shop")
    eventually(lambda: converged(world, namespace="shop"), timeout=20)
    assert sorted(world.rules()) == ["/shop"]
    assert world.route() is None
