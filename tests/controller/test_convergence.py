"""The seed example converges as a new user sees it, and a pass with nothing to do writes
nothing anywhere."""

from __future__ import annotations

import pytest

from tests.controller.conftest import HOST, ORIGIN, SHORTNAME, ZONE, World, converged, node
from tests.support import EXAMPLES, eventually

pytestmark = pytest.mark.slow


def test_the_seed_example_converges(world: World) -> None:
    world.seed_cluster(nodes=2)
    world.kube.seed(node("n3", "203.0.113.3", ready=False))
    foreign_record = world.vultr.seed_record(ZONE, "www", "A", "198.51.100.80")
    foreign_rule = world.edgio.seed_instance(
        SHORTNAME,
        {
            "publishedHostname": HOST,
            "publishedUrlPath": "/legacy/",
            "sourceHostname": "legacy.example.net",
            "protocolSets": [{"publishedProtocol": "http", "sourceProtocol": "http"}],
        },
    )
    world.kubectl("apply", "-f", str(EXAMPLES / "pywai-edgio-ingress-matching.yaml"))
    world.start("--interval", "60s")
    eventually(lambda: converged(world, "pywai-inline-ingress"), timeout=20)

    assert world.a_records() == ["203.0.113.1", "203.0.113.2"]
    (marker,) = world.txt_records()
    assert "heritage=edgio-ingress" in marker and "resource=origin" in marker
    rule = world.rules()["/fred"]
    assert rule["body"]["publishedHostname"] == HOST
    assert rule["body"]["sourceHostname"] == ORIGIN
    assert world.source_port() == world.node_port()
    ingress = world.kube.get("networking.k8s.io/v1", "Ingress", "pywai-inline-ingress", "default")
    assert ingress is not None
    assert ingress["status"]["loadBalancer"]["ingress"] == [{"hostname": HOST}]
    world.kubectl(
        "wait", "--for=condition=Ready", "edgioroute/pywai-inline-ingress", "--timeout=10s"
    )
    route = world.route("pywai-inline-ingress") or {}
    assert route["metadata"]["labels"]["cdn.edgio.io/derived-from"] == "ingress"
    assert route["metadata"]["ownerReferences"][0]["kind"] == "Ingress"
    assert route["metadata"]["finalizers"] == ["cdn.edgio.io/cleanup"]
    status = route["status"]
    assert status["origin"] == {"hostname": ORIGIN, "addresses": ["203.0.113.1", "203.0.113.2"]}
    assert status["rules"][0]["state"] == "Published" and status["rules"][0]["ruleId"]
    assert status["observedGeneration"] == route["metadata"]["generation"]
    assert foreign_record in {r["id"] for r in world.vultr.records(ZONE)}
    assert foreign_rule in {i["uuid"] for i in world.edgio.instances()}
    printed = world.kubectl("get", "er,ingress", "-A")
    assert "True" in printed and ORIGIN in printed


@pytest.mark.emulator_only("counts the writes with the emulator's calls()")
def test_a_pass_with_nothing_to_do_writes_nothing(world: World) -> None:
    world.seed_cluster()
    world.kubectl("apply", "-f", str(EXAMPLES / "pywai-edgio-ingress-matching.yaml"))
    world.start("--interval", "0.3s")
    eventually(lambda: converged(world, "pywai-inline-ingress"), timeout=20)
    world.wait_passes(2)
    kube_writes = world.kube_writes()
    vultr_calls, edgio_calls = world.vultr.calls(), world.edgio.calls()
    transitions = world.condition("pywai-inline-ingress")["lastTransitionTime"]
    world.wait_passes(3)
    assert world.kube_writes() == kube_writes
    assert world.vultr.calls() == vultr_calls and world.edgio.calls() == edgio_calls
    assert world.condition("pywai-inline-ingress")["lastTransitionTime"] == transitions
