"""Deletion: finalizers, Orphan, routes written directly, and the force-delete escape."""

from __future__ import annotations

from typing import Any

import pytest

from tests.controller.conftest import HOST, World, converged, ingress
from tests.support import eventually

pytestmark = pytest.mark.slow


def direct_route(name: str = "direct", shortname: str = "exampleco", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "cdn.edgio.io/v1alpha1",
        "kind": "EdgioRoute",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "shortname": shortname,
            "rules": [
                {
                    "host": HOST,
                    "path": "/direct",
                    "pathType": "Prefix",
                    "backend": {
                        "service": {"name": "pywai-inline-service", "port": {"name": "http"}}
                    },
                }
            ],
            **spec,
        },
    }


def test_deleting_the_ingress_removes_its_rules_and_then_the_unused_records(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress("web"), ingress("other", paths=("/other",)))
    world.start("--interval", "60s")
    eventually(lambda: converged(world, "web") and converged(world, "other"), timeout=20)
    world.kubectl("delete", "ingress", "web")
    eventually(lambda: sorted(world.rules()) == ["/other"])
    eventually(lambda: world.route("web") is None)
    assert world.a_records() == ["203.0.113.1", "203.0.113.2"]  # still used by "other"
    world.kubectl("delete", "ingress", "other")
    eventually(lambda: world.rules() == {} and world.a_records() == [] and not world.txt_records())
    eventually(lambda: world.route("other") is None)


def test_orphan_leaves_the_rules_released(world: World) -> None:
    world.seed_cluster()
    annotations = {"cdn.edgio.io/deletion-policy": "Orphan"}
    world.apply(ingress("web", annotations=annotations))
    world.start("--interval", "60s")
    eventually(lambda: converged(world), timeout=20)
    uuid = world.rules()["/fred"]["uuid"]
    world.kubectl("delete", "ingress", "web")
    eventually(lambda: world.route("web") is None)
    rule = world.rules()["/fred"]
    assert rule["uuid"] == uuid
    options = rule["body"]["protocolSets"][0].get("options") or []
    assert not any("X-Edgio-Ingress-Owner" in str(o) for o in options)  # released: not ours


def test_a_route_written_directly_lives_the_same_life(world: World) -> None:
    world.seed_cluster()
    world.apply(direct_route())
    world.start("--interval", "60s")
    eventually(lambda: converged(world, "direct"), timeout=20)
    route = world.route("direct") or {}
    assert route["metadata"]["finalizers"] == ["cdn.edgio.io/cleanup"]
    assert "cdn.edgio.io/derived-from" not in (route["metadata"].get("labels") or {})
    assert sorted(world.rules()) == ["/direct/"]
    world.kubectl("delete", "edgioroute", "direct", "--wait=false")
    eventually(lambda: world.route("direct") is None and world.rules() == {})
    eventually(lambda: world.a_records() == [])


def test_a_route_whose_account_is_unreachable_is_released_by_force_delete(world: World) -> None:
    world.seed_cluster()
    world.apply(direct_route("stuck", shortname="closedaccount"))
    world.start("--interval", "1s")
    eventually(lambda: world.condition("stuck", "CdnReady").get("reason") == "ProviderAuthFailed")
    world.kubectl("delete", "edgioroute", "stuck", "--wait=false")
    world.wait_passes(2)
    assert world.route("stuck") is not None  # the finalizer holds: nothing proves it clean
    world.kubectl("annotate", "edgioroute", "stuck", "cdn.edgio.io/force-delete=true")
    eventually(lambda: world.route("stuck") is None)
    eventually(lambda: "ForceDeleted" in {e["reason"] for e in world.events("EdgioRoute")})


def test_a_user_route_with_an_ingress_name_is_not_clobbered(world: World) -> None:
    world.seed_cluster()
    world.apply(direct_route("web"))
    world.apply(ingress("web", paths=("/from-ingress",)))
    world.start("--interval", "60s")
    eventually(lambda: converged(world, "web"), timeout=20)
    route = world.route("web") or {}
    assert route["spec"]["rules"][0]["path"] == "/direct"
    eventually(lambda: "NameTaken" in {e["reason"] for e in world.events("Ingress")})
    assert sorted(world.rules()) == ["/direct/"]
