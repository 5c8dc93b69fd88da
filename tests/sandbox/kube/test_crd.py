"""CustomResourceDefinitions: dynamic registration, schema validation, pruning, defaults,
and the server-side Table that makes `kubectl get` show the CRD's printer columns."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import requests
from kubernetes import client
from kubernetes.client import ApiException

from edgio_sandbox.kube import KubeEmulator

from .conftest import GROUP, PLURAL, VERSION, WIDGET_CRD, install_crd_with, widget

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def create(widgets: Any, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = widgets.create_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, body
    )
    return result


def test_crd_is_established_and_discoverable(widgets: Any, api: Any, kube: KubeEmulator) -> None:
    crd = client.ApiextensionsV1Api(api).read_custom_resource_definition("widgets.example.com")
    conditions = {c.type: c.status for c in crd.status.conditions}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    resources = requests.get(kube.url + "/apis/example.com/v1", timeout=5).json()["resources"]
    by_name = {resource["name"]: resource for resource in resources}
    assert by_name["widgets"]["shortNames"] == ["wd"]
    assert by_name["widgets"]["kind"] == "Widget"
    assert "widgets/status" in by_name
    groups = requests.get(kube.url + "/apis", timeout=5).json()["groups"]
    assert "example.com" in {group["name"] for group in groups}


def test_crd_name_must_be_plural_dot_group(api: Any) -> None:
    bad = copy.deepcopy(WIDGET_CRD)
    bad["metadata"]["name"] = "widget.example.com"
    with pytest.raises(ApiException) as caught:
        client.ApiextensionsV1Api(api).create_custom_resource_definition(bad)
    assert caught.value.status == 422


def test_schema_violations_are_422_naming_the_field(widgets: Any) -> None:
    with pytest.raises(ApiException) as caught:
        create(widgets, widget("w", size=0, color="green"))
    body = json.loads(caught.value.body)
    assert (caught.value.status, body["reason"]) == (422, "Invalid")
    fields = {cause["field"] for cause in body["details"]["causes"]}
    assert fields == {"spec.size", "spec.color"}
    assert "spec.size" in body["message"]


def test_required_fields_are_enforced(widgets: Any) -> None:
    body = widget("w")
    del body["spec"]["size"]
    with pytest.raises(ApiException) as caught:
        create(widgets, body)
    assert "spec.size" in json.loads(caught.value.body)["message"]


def test_unknown_fields_are_pruned(widgets: Any, kube: KubeEmulator) -> None:
    created = create(widgets, widget("w", undeclared="lost") | {"extra": {"a": 1}})
    assert "undeclared" not in created["spec"] and "extra" not in created
    assert "undeclared" not in kube.get("example.com/v1", "Widget", "w", "default")["spec"]


def test_defaults_are_applied(widgets: Any) -> None:
    assert create(widgets, widget("w"))["spec"]["color"] == "red"


def test_updates_are_validated_too(widgets: Any) -> None:
    create(widgets, widget("w"))
    with pytest.raises(ApiException) as caught:
        widgets.patch_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, "w", {"spec": {"size": "big"}}
        )
    assert caught.value.status == 422


def test_table_output_uses_printer_columns(widgets: Any, kube: KubeEmulator) -> None:
    create(widgets, widget("w", size=3))
    widgets.patch_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "w", {"status": {"phase": "Ready"}}
    )
    url = kube.url + "/apis/example.com/v1/namespaces/default/widgets"
    table = requests.get(url, headers={"Accept": TABLE}, timeout=5).json()
    assert table["kind"] == "Table"
    assert [column["name"] for column in table["columnDefinitions"]] == ["Name", "Size", "Phase"]
    assert table["rows"][0]["cells"] == ["w", 3, "Ready"]
    single = requests.get(url + "/w", headers={"Accept": TABLE}, timeout=5).json()
    assert single["rows"][0]["cells"][0] == "w"


def test_builtin_tables_have_name_and_age(core: Any, kube: KubeEmulator) -> None:
    url = kube.url + "/api/v1/namespaces"
    table = requests.get(url, headers={"Accept": TABLE}, timeout=5).json()
    assert [column["name"] for column in table["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert len(table["rows"]) == 4


def test_cluster_scoped_crd_with_two_versions(api: Any) -> None:
    crd = copy.deepcopy(WIDGET_CRD)
    crd["metadata"]["name"] = "gadgets.example.com"
    crd["spec"]["scope"] = "Cluster"
    crd["spec"]["names"] = {"plural": "gadgets", "kind": "Gadget"}
    v2 = copy.deepcopy(crd["spec"]["versions"][0]) | {"name": "v2", "storage": False}
    crd["spec"]["versions"].append(v2)
    install_crd_with(api, crd)
    custom = client.CustomObjectsApi(api)
    body = widget("g") | {"apiVersion": "example.com/v1", "kind": "Gadget"}
    custom.create_cluster_custom_object(GROUP, "v1", "gadgets", body)
    read = custom.get_cluster_custom_object(GROUP, "v2", "gadgets", "g")
    assert read["apiVersion"] == "example.com/v2"
    assert "namespace" not in read["metadata"]


def test_bad_printer_column_path_is_refused(api: Any) -> None:
    crd = copy.deepcopy(WIDGET_CRD)
    columns = crd["spec"]["versions"][0]["additionalPrinterColumns"]
    columns[0]["jsonPath"] = "spec[[size"
    with pytest.raises(ApiException) as caught:
        client.ApiextensionsV1Api(api).create_custom_resource_definition(crd)
    assert caught.value.status == 422


@pytest.mark.parametrize(
    "metadata",
    [
        {"type": "object", "description": "Standard object metadata."},
        {"type": "object", "properties": {"labels": {"type": "object"}}},
    ],
)
def test_a_schema_for_metadata_beyond_its_type_is_refused(api: Any, metadata: Any) -> None:
    """The server owns ObjectMeta: even a description of it makes the CRD invalid."""
    crd = copy.deepcopy(WIDGET_CRD)
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["metadata"] = metadata
    with pytest.raises(ApiException) as caught:
        client.ApiextensionsV1Api(api).create_custom_resource_definition(crd)
    assert caught.value.status == 422
    message = json.loads(caught.value.body)["message"]
    assert message == (
        'CustomResourceDefinition.apiextensions.k8s.io "widgets.example.com" is invalid: '
        "spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: must not specify "
        "anything other than name and generateName, but metadata is implicitly specified"
    )


@pytest.mark.emulator_only(
    "Service and Node tables differ from the real server's; a known gap (README)"
)
def test_service_and_node_tables_show_what_kubectl_shows(core: Any, kube: KubeEmulator) -> None:
    core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "web"},
            "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]},
        },
    )
    kube.seed(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "n1"},
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "ExternalIP", "address": "203.0.113.7"}],
            },
        }
    )
    services = requests.get(
        kube.url + "/api/v1/namespaces/default/services", headers={"Accept": TABLE}, timeout=5
    ).json()
    assert [c["name"] for c in services["columnDefinitions"]][:5] == [
        "Name",
        "Type",
        "Cluster-IP",
        "Port",
        "Node-Port",
    ]
    assert services["rows"][0]["cells"][:5] == ["web", "NodePort", "10.96.0.10", 80, 30080]
    nodes = requests.get(kube.url + "/api/v1/nodes", headers={"Accept": TABLE}, timeout=5).json()
    assert nodes["rows"][0]["cells"][:3] == ["n1", "True", "203.0.113.7"]
