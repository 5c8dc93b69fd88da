"""Two installs in one cluster, each watching its own namespace with the default owner id
(as two chart releases with `watchNamespaces` run): each publishes its own routes, and
neither updates or deletes the other's rules or records, even when one of them loses its
last route and sweeps what it owns."""

from __future__ import annotations

from typing import Any

import pytest

from tests.controller.conftest import SHORTNAME, ZONE, World, converged, ingress, service
from tests.support import eventually

pytestmark = pytest.mark.slow
NAMESPACES = ("shop", "blog")


def install(world: World, namespace: str, *owner: str) -> None:
    """The controller as a release in `namespace` watching only it: its own Lease there,
    and its own origin name (an origin name is one install's: the owner id decides)."""
    world.start(
        "--namespace",
        namespace,
        "--lease-namespace",
        namespace,
        "--origin-hostname",
        f"origin-{namespace}.{ZONE}",
        "--interval",
        "1s",
        *owner,
    )


def rule_of(world: World, path: str) -> dict[str, Any] | None:
    found = [i for i in world.edgio.instances(SHORTNAME) if i["body"]["publishedUrlPath"] == path]
    return found[0] if found else None


def records_at(world: World, name: str) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in world.vultr.records(ZONE) if r["name"] in (name, f"a-{name}")}


def owner_of(world: World, name: str) -> str:
    (marker,) = [r["data"] for r in world.vultr.records(ZONE) if r["name"] == f"a-{name}"]
    return str(marker).split("edgio-ingress/owner=")[1].split(",")[0]


@pytest.mark.parametrize("owner", [(), ("--owner-id", "shared")], ids=["default", "shared"])
def test_two_namespaced_installs_never_touch_each_others_objects(
    world: World, owner: tuple[str, ...]
) -> None:
    """With the default owner ids they are two owners; with one owner id given to both
    (a copied value), each still judges only the routes of the namespace it watches."""
    world.seed_cluster()
    for namespace in NAMESPACES:
        world.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        world.apply(
            service(namespace=namespace), ingress("web", namespace, paths=(f"/{namespace}",))
        )
    for namespace in NAMESPACES:
        install(world, namespace, *owner)
    for namespace in NAMESPACES:
        eventually(lambda n=namespace: converged(world, "web", n), timeout=60)
    shop_owner, blog_owner = owner_of(world, "origin-shop"), owner_of(world, "origin-blog")
    if not owner:
        assert shop_owner != blog_owner and blog_owner.startswith(shop_owner.split("-ns-")[0])
    blog_rule, blog_records = rule_of(world, "/blog"), records_at(world, "origin-blog")

    world.kubectl("delete", "ingress", "web", "-n", "shop")
    eventually(lambda: rule_of(world, "/shop") is None, timeout=30)
    eventually(lambda: not records_at(world, "origin-shop"), timeout=30)
    world.wait_passes(3, index=0)
    world.wait_passes(3, index=1)

    blog_now = rule_of(world, "/blog") or {}
    assert blog_now == blog_rule and blog_now["revision"]["versionNumber"] == 1  # never updated
    assert records_at(world, "origin-blog") == blog_records
    assert converged(world, "web", "blog")
