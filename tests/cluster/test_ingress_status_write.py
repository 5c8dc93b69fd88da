"""The Ingress status write over real HTTP: a read-modify-write with the resourceVersion,
redone on a conflict, so a stale cached Ingress never drops another controller's entry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from edgio_sandbox.kube import KubeEmulator
from reconciler.cluster.kube import KubeCluster
from reconciler.report.status import IngressHostnames
from tests.support import ingress_manifest

STATUS = "/apis/networking.k8s.io/v1/namespaces/default/ingresses/web/status"
OURS = IngressHostnames(("exampleco.s.llnwi.net",), frozenset({"www.shop.com"}))


@pytest.fixture
def kube() -> Iterator[KubeEmulator]:
    with KubeEmulator() as server:
        server.seed(ingress_manifest("web", ("/",), "svc", {"number": 80}, host="www.shop.com"))
        yield server


def read(kube: KubeEmulator) -> dict[str, Any]:
    api = client.NetworkingV1Api(kube.api_client())
    found: dict[str, Any] = json.loads(
        api.read_namespaced_ingress("web", "default", _preload_content=False).data
    )
    return found


def other_writer(kube: KubeEmulator, entries: list[dict[str, str]]) -> None:
    api = client.NetworkingV1Api(kube.api_client())
    body = {"status": {"loadBalancer": {"ingress": entries}}}
    api.patch_namespaced_ingress_status("web", "default", body)


def status_writes(kube: KubeEmulator) -> int:
    return sum(n for (m, p), n in kube.calls().items() if m in ("PUT", "PATCH") and p == STATUS)


def test_a_stale_ingress_is_read_again_and_the_other_entry_kept(kube: KubeEmulator) -> None:
    stale = read(kube)
    other_writer(kube, [{"ip": "192.0.2.10"}, {"hostname": "www.shop.com"}])
    cluster = KubeCluster(kube.api_client())
    assert cluster.write_ingress_hosts(stale, OURS)
    entries = read(kube)["status"]["loadBalancer"]["ingress"]
    assert entries == [{"ip": "192.0.2.10"}, {"hostname": "exampleco.s.llnwi.net"}]
    assert status_writes(kube) == 3  # the other writer's, our conflicting one, ours again
    assert cluster.write_ingress_hosts(read(kube), OURS) and status_writes(kube) == 3


def test_a_deleted_ingress_needs_nothing(kube: KubeEmulator) -> None:
    stale = read(kube)
    client.NetworkingV1Api(kube.api_client()).delete_namespaced_ingress("web", "default")
    assert KubeCluster(kube.api_client()).write_ingress_hosts(stale, OURS)
