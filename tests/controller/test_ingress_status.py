"""The Ingress's `status.loadBalancer.ingress` as external-dns and ingress-nginx meet it.

Our entry is the Edgio name the custom host is CNAMEd to (external-dns writes
`<rule host> CNAME <that name>`), never the host itself. The list is shared: another
controller's entry stays, and two writers never take turns rewriting it. An Ingress of
another controller's class (selected only by our label) is that controller's to report
on: we write nothing there."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from tests.controller.conftest import World, converged
from tests.support import eventually, ingress_manifest

SHOP = "www.shop.com"
EDGE = "exampleco.s.llnwi.net"
NGINX = "k8s.io/ingress-nginx"


def shop(name: str = "web", **annotations: str) -> dict[str, Any]:
    metadata = {"annotations": {"cdn.edgio.io/shortname": "exampleco", **annotations}}
    return ingress_manifest(
        name, ("/fred",), "pywai-inline-service", {"name": "http"}, host=SHOP, metadata=metadata
    )


def entries(world: World, name: str = "web") -> list[dict[str, Any]]:
    obj = world.kube.get("networking.k8s.io/v1", "Ingress", name, "default") or {}
    return list(((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])


def version(world: World, name: str = "web") -> str:
    obj = world.kube.get("networking.k8s.io/v1", "Ingress", name, "default") or {}
    return str(obj["metadata"]["resourceVersion"])


def status_writes(world: World, name: str = "web") -> int | None:
    """PUT and PATCH on the Ingress's status in the emulator's request log; None on the
    real API server, which keeps no such log (the resourceVersion tells there)."""
    if not hasattr(world.kube, "calls"):
        return None
    path = f"/apis/networking.k8s.io/v1/namespaces/default/ingresses/{name}/status"
    calls = world.kube.calls().items()
    return sum(n for (method, p), n in calls if method in ("PUT", "PATCH") and p == path)


def play_nginx(world: World, address: str, name: str = "web") -> None:
    """What a well-behaved ingress-nginx does: its own entry replaced, the others kept,
    written back with the resourceVersion it read."""
    api = client.NetworkingV1Api(world.kube.api_client())
    ingress = api.read_namespaced_ingress_status(name, "default")
    load_balancer = ingress.status.load_balancer or client.V1IngressLoadBalancerStatus()
    others = [e for e in load_balancer.ingress or [] if not e.ip]
    load_balancer.ingress = [client.V1IngressLoadBalancerIngress(ip=address), *others]
    ingress.status.load_balancer = load_balancer
    api.replace_namespaced_ingress_status(name, "default", ingress)


def test_our_entry_is_the_edge_name_beside_another_controllers(world: World) -> None:
    world.seed_cluster()
    world.apply(shop())
    play_nginx(world, "192.0.2.10")  # its address is there before Edgio publishes
    world.start("--interval", "1s")
    eventually(lambda: converged(world), timeout=30)
    eventually(lambda: entries(world) == [{"ip": "192.0.2.10"}, {"hostname": EDGE}])
    assert (world.route() or {})["status"]["edgeHostnames"] == [EDGE]

    before = status_writes(world)
    play_nginx(world, "192.0.2.11")  # its address moves; it keeps ours
    settled = version(world)
    world.wait_passes(4)
    assert entries(world) == [{"ip": "192.0.2.11"}, {"hostname": EDGE}]
    assert version(world) == settled  # our controller did not write it again
    if before is not None:
        assert status_writes(world) == before + 1  # the other writer's only

    world.apply(shop(**{"cdn.edgio.io/edge-hostname": "edge.shop.example"}))
    eventually(lambda: entries(world) == [{"ip": "192.0.2.11"}, {"hostname": "edge.shop.example"}])
    assert all(entry.get("hostname") != SHOP for entry in entries(world))


def test_an_ingress_of_another_controllers_class_keeps_its_status(world: World) -> None:
    world.seed_cluster()
    world.apply(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": "nginx"},
            "spec": {"controller": NGINX},
        }
    )
    nginx_class = shop()
    nginx_class["spec"]["ingressClassName"] = "nginx"  # selected by our label only
    world.apply(nginx_class)
    play_nginx(world, "192.0.2.10")
    settled = version(world)
    world.start("--interval", "1s")
    eventually(lambda: converged(world), timeout=30)
    world.wait_passes(3)
    assert entries(world) == [{"ip": "192.0.2.10"}]
    assert version(world) == settled
    assert status_writes(world) in (1, None)  # the other writer's only
