"""What the server does to built-in objects: Service allocation, Secret data, Ingress checks."""

from __future__ import annotations

import base64
import ipaddress
from typing import Any

import pytest
import requests
from kubernetes import client
from kubernetes.client import ApiException

from edgio_sandbox.kube import KubeEmulator


def service(name: str, kind: str = "NodePort", **port: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"type": kind, "ports": [{"port": 80, **port}]}}


def test_cluster_ip_is_allocated_and_unique(core: Any) -> None:
    first = core.create_namespaced_service("default", service("a", "ClusterIP"))
    second = core.create_namespaced_service("default", service("b", "ClusterIP"))
    assert ipaddress.ip_address(first.spec.cluster_ip) in ipaddress.ip_network("10.96.0.0/12")
    assert first.spec.cluster_ip != second.spec.cluster_ip
    assert first.spec.cluster_ips == [first.spec.cluster_ip]


def test_cluster_ip_is_immutable(core: Any) -> None:
    created = core.create_namespaced_service("default", service("a", "ClusterIP"))
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_service("a", "default", {"spec": {"clusterIP": "10.96.9.9"}})
    assert caught.value.status == 422
    replaced = core.replace_namespaced_service(
        "a", "default", {"metadata": {"name": "a"}, "spec": {"ports": [{"port": 81}]}}
    )
    assert replaced.spec.cluster_ip == created.spec.cluster_ip


def test_node_ports_are_allocated_in_range_unique_and_kept(core: Any) -> None:
    ports = [
        core.create_namespaced_service("default", service(f"s{i}")).spec.ports[0].node_port
        for i in range(5)
    ]
    assert all(30000 <= port <= 32767 for port in ports)
    assert len(set(ports)) == 5
    updated = core.replace_namespaced_service(
        "s0",
        "default",
        {"metadata": {"name": "s0"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}},
    )
    assert updated.spec.ports[0].node_port == ports[0]


def test_node_port_out_of_range_or_taken_is_422(core: Any) -> None:
    taken = core.create_namespaced_service("default", service("a")).spec.ports[0].node_port
    for wanted in (8080, taken):
        with pytest.raises(ApiException) as caught:
            core.create_namespaced_service("default", service("b", nodePort=wanted))
        assert caught.value.status == 422
        assert "spec.ports[0].nodePort" in caught.value.body


def test_requested_node_port_is_honoured(core: Any) -> None:
    created = core.create_namespaced_service("default", service("a", nodePort=31234))
    assert created.spec.ports[0].node_port == 31234


def test_cluster_ip_services_have_no_node_ports(core: Any) -> None:
    created = core.create_namespaced_service("default", service("a", "ClusterIP"))
    assert created.spec.ports[0].node_port is None


def test_port_defaults(core: Any) -> None:
    port = core.create_namespaced_service("default", service("a")).spec.ports[0]
    assert (port.protocol, port.target_port) == ("TCP", 80)


def test_secret_string_data_becomes_base64_data(core: Any) -> None:
    created = core.create_namespaced_secret(
        "default", {"metadata": {"name": "creds"}, "stringData": {"apiKey": "s3cret"}}
    )
    assert created.type == "Opaque"
    assert created.string_data is None
    assert base64.b64decode(created.data["apiKey"]) == b"s3cret"
    stored = core.read_namespaced_secret("creds", "default")
    assert stored.string_data is None and stored.data == created.data


def test_ingress_path_type_is_required(kube: KubeEmulator, api: Any) -> None:
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    path: dict[str, Any] = {"path": "/", "backend": backend}
    body = {
        "metadata": {"name": "web"},
        "spec": {"rules": [{"host": "a.example", "http": {"paths": [path]}}]},
    }
    url = kube.url + "/apis/networking.k8s.io/v1/namespaces/default/ingresses"
    refused = requests.post(url, json=body, timeout=5)
    assert refused.status_code == 422
    assert refused.json()["details"]["causes"][0]["field"] == "spec.rules[0].http.paths[0].pathType"
    path["pathType"] = "Prefix"
    created = client.NetworkingV1Api(api).create_namespaced_ingress("default", body)
    assert created.metadata.generation == 1


def test_secret_values_stay_out_of_errors(kube: KubeEmulator) -> None:
    url = kube.url + "/api/v1/namespaces/default/secrets"
    body = {"metadata": {"name": "Bad_Name"}, "stringData": {"apiKey": "hunter2-very-secret"}}
    refused = requests.post(url, json=body, timeout=5)
    assert refused.status_code == 422
    assert "hunter2" not in refused.text
