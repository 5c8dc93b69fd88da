"""Routing and discovery: the paths and documents clients and kubectl find their way by."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from kubernetes import client

from edgio_sandbox.kube import KubeEmulator


@pytest.mark.parametrize("path", ["/version", "/version/"])
def test_version_answers_with_and_without_trailing_slash(kube: KubeEmulator, path: str) -> None:
    body = requests.get(kube.url + path, timeout=5).json()
    assert body["major"] == "1" and body["gitVersion"].startswith("v1.")


def test_version_api_of_the_client(api: Any) -> None:
    assert client.VersionApi(api).get_code().git_version.startswith("v1.")


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/livez"])
def test_health_endpoints(kube: KubeEmulator, path: str) -> None:
    answer = requests.get(kube.url + path, timeout=5)
    assert (answer.status_code, answer.text) == (200, "ok")


def test_core_discovery(kube: KubeEmulator) -> None:
    assert requests.get(kube.url + "/api", timeout=5).json()["versions"] == ["v1"]
    resources = requests.get(kube.url + "/api/v1", timeout=5).json()["resources"]
    by_name = {resource["name"]: resource for resource in resources}
    assert by_name["services"]["shortNames"] == ["svc"]
    assert by_name["services"]["categories"] == ["all"]
    assert by_name["services"]["namespaced"] is True
    assert by_name["nodes"]["namespaced"] is False
    assert by_name["nodes/status"]["verbs"] == ["get", "patch", "update"]
    assert "watch" in by_name["secrets"]["verbs"]
    assert "secrets/status" not in by_name


def test_group_discovery(api: Any) -> None:
    groups = {group.name: group for group in client.ApisApi(api).get_api_versions().groups}
    assert {"networking.k8s.io", "coordination.k8s.io", "apiextensions.k8s.io"} <= set(groups)
    networking = client.NetworkingV1Api(api).get_api_resources()
    assert {"ingresses", "ingresses/status", "ingressclasses"} <= {
        resource.name for resource in networking.resources
    }


def test_group_document(kube: KubeEmulator) -> None:
    body = requests.get(kube.url + "/apis/apps", timeout=5).json()
    assert body["kind"] == "APIGroup"
    assert body["preferredVersion"]["groupVersion"] == "apps/v1"


def test_unknown_paths_are_404_status(kube: KubeEmulator) -> None:
    for path in ["/api/v1/nothings", "/apis/apps/v0"]:
        answer = requests.get(kube.url + path, timeout=5)
        assert (answer.status_code, answer.json()["kind"]) == (404, "Status"), path
    for path in ["/apis/nope.io/v1", "/apis/nope.io", "/bogus"]:
        answer = requests.get(kube.url + path, timeout=5)  # Go's mux, not the API
        assert (answer.status_code, answer.text) == (404, "404 page not found\n"), path


def test_namespaced_cluster_and_all_namespaces_paths(core: Any) -> None:
    core.create_namespace({"metadata": {"name": "other"}})
    for namespace in ("default", "other"):
        core.create_namespaced_config_map(namespace, {"metadata": {"name": "settings"}})
    everywhere = core.list_config_map_for_all_namespaces()
    # A real server keeps a ConfigMap of its own in kube-system.
    names = [(i.metadata.namespace, i.metadata.name) for i in everywhere.items]
    assert [namespace for namespace, name in names if name == "settings"] == ["default", "other"]
    assert [item.metadata.name for item in core.list_namespaced_config_map("other").items] == [
        "settings"
    ]
    assert core.read_namespace("other").metadata.name == "other"


def test_post_to_all_namespaces_collection_is_405(kube: KubeEmulator) -> None:
    body = {"metadata": {"name": "x", "namespace": "default"}}
    answer = requests.post(kube.url + "/api/v1/configmaps", json=body, timeout=5)
    assert answer.status_code == 405
    assert answer.json()["reason"] == "MethodNotAllowed"


def test_status_subresource_exists_only_where_declared(core: Any, kube: KubeEmulator) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "plain"}})
    answer = requests.get(
        kube.url + "/api/v1/namespaces/default/configmaps/plain/status", timeout=5
    )
    assert answer.status_code == 404
    assert core.read_namespace_status("default").status.phase == "Active"


BUILT_IN = [
    ("/api/v1", "namespaces", "Namespace", False),
    ("/api/v1", "nodes", "Node", False),
    ("/api/v1", "services", "Service", True),
    ("/api/v1", "secrets", "Secret", True),
    ("/api/v1", "configmaps", "ConfigMap", True),
    ("/api/v1", "endpoints", "Endpoints", True),
    ("/api/v1", "events", "Event", True),
    ("/api/v1", "pods", "Pod", True),
    ("/apis/events.k8s.io/v1", "events", "Event", True),
    ("/apis/networking.k8s.io/v1", "ingresses", "Ingress", True),
    ("/apis/networking.k8s.io/v1", "ingressclasses", "IngressClass", False),
    ("/apis/coordination.k8s.io/v1", "leases", "Lease", True),
    ("/apis/apps/v1", "deployments", "Deployment", True),
    (
        "/apis/apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
    ),
]


# The least each kind needs to pass a real server's validation (the emulator checks less).
LABELS = {"app": "thing"}
SPECS: dict[str, dict[str, Any]] = {
    "Service": {"spec": {"ports": [{"port": 80}]}},
    "Pod": {"spec": {"containers": [{"name": "main", "image": "example/thing"}]}},
    "Ingress": {"spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}},
    "IngressClass": {"spec": {"controller": "example.com/ingress-controller"}},
    "Deployment": {
        "spec": {
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {"containers": [{"name": "main", "image": "example/thing"}]},
            },
        }
    },
    "CustomResourceDefinition": {
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "things", "kind": "Thing"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object"}},
                }
            ],
        }
    },
}
EVENTS_V1 = {
    "eventTime": "2026-01-01T00:00:00.000000Z",
    "reportingController": "example.com/thing",
    "reportingInstance": "thing-1",
    "action": "Sync",
    "reason": "Synced",
    "type": "Normal",
    "regarding": {"kind": "Pod", "name": "x", "namespace": "default"},
}


@pytest.mark.parametrize(("prefix", "plural", "kind", "namespaced"), BUILT_IN)
def test_every_built_in_kind_round_trips(
    kube: KubeEmulator, prefix: str, plural: str, kind: str, namespaced: bool
) -> None:
    collection = f"{kube.url}{prefix}/{'namespaces/default/' if namespaced else ''}{plural}"
    name = "things.example.com" if plural == "customresourcedefinitions" else "thing"
    body: dict[str, Any] = {"metadata": {"name": name}, **SPECS.get(kind, {})}
    if prefix == "/apis/events.k8s.io/v1":
        body |= EVENTS_V1
    created = requests.post(collection, json=body, timeout=5)
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == kind
    assert requests.get(f"{collection}/{name}", timeout=5).json()["metadata"]["name"] == name
    listed = requests.get(collection, timeout=5).json()
    assert listed["kind"] == f"{kind}List"
    assert name in [item["metadata"]["name"] for item in listed["items"]]
