"""Bad input is reported on the user's own objects, writes nothing and blocks nobody."""

from __future__ import annotations

import secrets

import pytest

from tests.controller.conftest import World, converged, ingress
from tests.support import EXAMPLES, eventually

pytestmark = pytest.mark.slow


def test_the_seed_ingress_as_printed_is_reported_and_others_converge(world: World) -> None:
    world.seed_cluster()
    world.kubectl("apply", "-f", str(EXAMPLES / "pywai-edgio-ingress.yaml"))
    world.apply(ingress("other", paths=("/other",)))
    world.start("--interval", "60s")
    eventually(lambda: converged(world, "other"), timeout=20)
    name = "external-pywai-inline-ingress"
    eventually(lambda: world.condition(name).get("reason") == "BackendNotFound")
    assert "external-pywai-inline-service not found" in world.condition(name)["message"]
    assert world.condition(name, "BackendReady")["status"] == "False"
    eventually(
        lambda: any(
            e["reason"] == "BackendNotFound" and e["involvedObject"]["name"] == name
            for e in world.events("Ingress")
        )
    )
    assert sorted(world.rules()) == ["/other"]  # nothing written for the broken one
    ingress_obj = world.kube.get("networking.k8s.io/v1", "Ingress", name, "default") or {}
    assert not (ingress_obj.get("status") or {}).get("loadBalancer", {}).get("ingress")


def test_an_invalid_annotation_is_reported_on_the_ingress(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress(annotations={"cdn.edgio.io/origin-protocl": "https"}))
    world.start("--interval", "60s")
    eventually(
        lambda: any(e["reason"] == "InvalidSpec" for e in world.events("Ingress")), timeout=20
    )
    assert world.route() is None and world.rules() == {}


def test_wrong_credentials_are_reported_on_every_route_and_delete_nothing(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress("web"), ingress("other", paths=("/other",)))
    assert world.once().returncode == 0
    assert converged(world, "web") and converged(world, "other")
    wrong = {
        **world.env,
        "VULTR_API_KEY": "WRONGKEY",
        "EDGIO_API_SHARED_KEY": secrets.token_hex(32),
    }
    world.kubectl("delete", "ingress", "other", "--wait=false")
    result = world.once(env=wrong)
    assert result.returncode == 0, result.stderr  # the pass ran; the routes say what is wrong
    for name in ("web",):
        assert world.condition(name)["reason"] == "ProviderAuthFailed"
        assert world.condition(name, "DnsReady")["reason"] == "ProviderAuthFailed"
    assert sorted(world.rules()) == ["/fred", "/other"]
    assert world.a_records() == ["203.0.113.1", "203.0.113.2"]
    assert world.route("other") is not None  # its finalizer waits for a pass that can clean up
    written = str(world.kube.list("v1", "Event")) + str(world.route("web")) + result.stderr
    for secret in (
        wrong["VULTR_API_KEY"],
        wrong["EDGIO_API_SHARED_KEY"],
        world.env["VULTR_API_KEY"],
    ):
        assert secret not in written


def test_credentials_come_from_a_watched_secret(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress())
    keys = ("VULTR_API_KEY", "EDGIO_API_USER", "EDGIO_API_SHARED_KEY")
    right = {key: world.env[key] for key in keys}
    wrong = {**right, "VULTR_API_KEY": "WRONGKEY", "EDGIO_API_SHARED_KEY": secrets.token_hex(32)}

    def secret(values: dict[str, str]) -> dict[str, object]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "edgio-credentials", "namespace": "default"},
            "stringData": values,
        }

    world.apply(secret(wrong))
    env = {k: v for k, v in world.env.items() if k not in keys}
    world.start("--interval", "1s", "--credentials-secret", "default/edgio-credentials", env=env)
    eventually(lambda: world.condition().get("reason") == "ProviderAuthFailed", timeout=20)
    world.apply(secret(right))
    eventually(lambda: converged(world), timeout=20)
