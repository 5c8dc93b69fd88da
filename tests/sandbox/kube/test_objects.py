"""Server-managed metadata, status codes, optimistic concurrency, PUT, PATCH, status split."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from kubernetes import client
from kubernetes.client import ApiException

from edgio_sandbox.kube import KubeEmulator

from .conftest import GROUP, PLURAL, VERSION, widget

CM_URL = "/api/v1/namespaces/default/configmaps"


def error(call: Any, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ApiException) as caught:
        call(*args, **kwargs)
    return caught.value.status, json.loads(caught.value.body)


# --- server-managed metadata ---------------------------------------------------------------


def test_create_fills_uid_timestamp_and_global_resource_version(core: Any) -> None:
    first = core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    second = core.create_namespaced_config_map("default", {"metadata": {"name": "b"}})
    assert re.fullmatch(r"[0-9a-f-]{36}", first.metadata.uid)
    assert first.metadata.uid != second.metadata.uid
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)
    assert first.metadata.creation_timestamp is not None


def test_creation_timestamp_is_rfc3339_utc(kube: KubeEmulator) -> None:
    answer = requests.post(kube.url + CM_URL, json={"metadata": {"name": "a"}}, timeout=5)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", answer.json()["metadata"]["creationTimestamp"]
    )
    assert answer.json()["apiVersion"] == "v1" and answer.json()["kind"] == "ConfigMap"


def test_create_answers_201_so_custom_objects_create_returns_the_object(widgets: Any) -> None:
    created = widgets.create_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, widget("w")
    )
    assert created is not None and created["metadata"]["generation"] == 1


def test_generation_counts_spec_changes_only(widgets: Any) -> None:
    created = widgets.create_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, widget("w")
    )
    labelled = widgets.patch_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "w", {"metadata": {"labels": {"a": "b"}}}
    )
    assert labelled["metadata"]["generation"] == 1
    assert labelled["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    resized = widgets.patch_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "w", {"spec": {"size": 2}}
    )
    assert resized["metadata"]["generation"] == 2
    status = widgets.patch_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "w", {"status": {"phase": "Ready"}}
    )
    assert status["metadata"]["generation"] == 2


def test_namespace_in_body_must_match_url(kube: KubeEmulator) -> None:
    body = {"metadata": {"name": "a", "namespace": "kube-system"}}
    answer = requests.post(kube.url + CM_URL, json=body, timeout=5)
    assert (answer.status_code, answer.json()["reason"]) == (400, "BadRequest")


def test_namespace_comes_from_the_url(kube: KubeEmulator) -> None:
    answer = requests.post(kube.url + CM_URL, json={"metadata": {"name": "a"}}, timeout=5)
    assert answer.json()["metadata"]["namespace"] == "default"


def test_generate_name_appends_five_characters(core: Any) -> None:
    created = core.create_namespaced_config_map("default", {"metadata": {"generateName": "job-"}})
    assert re.fullmatch(r"job-[a-z0-9]{5}", created.metadata.name)


@pytest.mark.parametrize("name", ["Upper", "under_score", "-dash", "x" * 254])
def test_invalid_names_are_422(core: Any, name: str) -> None:
    code, body = error(core.create_namespaced_config_map, "default", {"metadata": {"name": name}})
    assert (code, body["reason"]) == (422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.name"


def test_wrong_kind_in_body_is_400(kube: KubeEmulator) -> None:
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"}}
    assert requests.post(kube.url + CM_URL, json=body, timeout=5).status_code == 400


# --- status codes and Status bodies --------------------------------------------------------


def test_missing_object_is_404_status(core: Any) -> None:
    code, body = error(core.read_namespaced_config_map, "nope", "default")
    assert (code, body["kind"], body["reason"]) == (404, "Status", "NotFound")
    assert body["details"] == {"name": "nope", "kind": "configmaps"}


def test_duplicate_create_is_409_already_exists(core: Any) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    code, body = error(core.create_namespaced_config_map, "default", {"metadata": {"name": "a"}})
    assert (code, body["reason"]) == (409, "AlreadyExists")


@pytest.mark.emulator_only(
    "the emulator speaks no protobuf and says so with 415; a real server decodes it"
)
def test_unsupported_body_type_is_415(kube: KubeEmulator) -> None:
    answer = requests.post(
        kube.url + CM_URL,
        data=b"\x00",
        headers={"Content-Type": "application/vnd.kubernetes.protobuf"},
        timeout=5,
    )
    assert (answer.status_code, answer.json()["reason"]) == (415, "UnsupportedMediaType")


def test_malformed_json_is_400(kube: KubeEmulator) -> None:
    answer = requests.post(
        kube.url + CM_URL, data=b"{", headers={"Content-Type": "application/json"}, timeout=5
    )
    assert answer.status_code == 400


# --- optimistic concurrency ----------------------------------------------------------------


def test_stale_put_is_409_conflict(core: Any) -> None:
    stale = core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    fresh = core.read_namespaced_config_map("a", "default")
    fresh.data = {"k": "1"}
    core.replace_namespaced_config_map("a", "default", fresh)
    stale.data = {"k": "2"}
    code, body = error(core.replace_namespaced_config_map, "a", "default", stale)
    assert (code, body["reason"]) == (409, "Conflict")


def test_stale_patch_with_resource_version_is_409(core: Any) -> None:
    created = core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    core.patch_namespaced_config_map("a", "default", {"data": {"k": "1"}})
    stale = {"metadata": {"resourceVersion": created.metadata.resource_version}, "data": {"k": "2"}}
    code, _ = error(core.patch_namespaced_config_map, "a", "default", stale)
    assert code == 409


def test_custom_resource_put_needs_resource_version(widgets: Any) -> None:
    widgets.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("w"))
    code, body = error(
        widgets.replace_namespaced_custom_object,
        GROUP,
        VERSION,
        "default",
        PLURAL,
        "w",
        widget("w", 3),
    )
    assert (code, body["reason"]) == (422, "Invalid")
    assert "must be specified for an update" in body["message"]


def test_builtin_put_without_resource_version_is_unconditional(core: Any) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    replaced = core.replace_namespaced_config_map(
        "a", "default", {"metadata": {"name": "a"}, "data": {"k": "v"}}
    )
    assert replaced.data == {"k": "v"}


def test_no_op_write_keeps_resource_version(core: Any) -> None:
    created = core.create_namespaced_config_map(
        "default", {"metadata": {"name": "a"}, "data": {"k": "v"}}
    )
    same = core.replace_namespaced_config_map("a", "default", created)
    patched = core.patch_namespaced_config_map("a", "default", {"data": {"k": "v"}})
    assert same.metadata.resource_version == created.metadata.resource_version
    assert patched.metadata.resource_version == created.metadata.resource_version


# --- PUT replaces ----------------------------------------------------------------------------


def test_put_replaces_and_keeps_server_fields(core: Any) -> None:
    created = core.create_namespaced_config_map(
        "default", {"metadata": {"name": "a", "labels": {"x": "1"}}, "data": {"old": "1"}}
    )
    replaced = core.replace_namespaced_config_map(
        "a", "default", {"metadata": {"name": "a"}, "data": {"new": "1"}}
    )
    assert replaced.data == {"new": "1"}
    assert replaced.metadata.labels is None
    assert replaced.metadata.uid == created.metadata.uid
    assert replaced.metadata.creation_timestamp == created.metadata.creation_timestamp


def test_put_name_must_match_url(kube: KubeEmulator, core: Any) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    answer = requests.put(kube.url + CM_URL + "/a", json={"metadata": {"name": "b"}}, timeout=5)
    assert answer.status_code == 400


# --- PATCH flavours --------------------------------------------------------------------------


def test_merge_patch_null_deletes(core: Any) -> None:
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "a"}, "data": {"x": "1", "y": "2"}}
    )
    patched = core.patch_namespaced_config_map(
        "a", "default", {"data": {"x": None}}, _content_type="application/merge-patch+json"
    )
    assert patched.data == {"y": "2"}


def test_json_patch_from_a_list_body(core: Any) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"x": "1"}})
    patched = core.patch_namespaced_config_map(
        "a", "default", [{"op": "replace", "path": "/data/x", "value": "2"}]
    )
    assert patched.data == {"x": "2"}


def test_failing_json_patch_is_422_and_changes_nothing(core: Any) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"x": "1"}})
    operations = [{"op": "test", "path": "/data/x", "value": "9"}]
    code, _ = error(core.patch_namespaced_config_map, "a", "default", operations)
    assert code == 422
    assert core.read_namespaced_config_map("a", "default").data == {"x": "1"}


def test_strategic_merge_unions_finalizers_and_merges_ports(core: Any) -> None:
    core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "web", "finalizers": ["a.io/x"]},
            "spec": {"ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]},
        },
    )
    patched = core.patch_namespaced_service(
        "web",
        "default",
        {
            "metadata": {"finalizers": ["b.io/y"]},
            "spec": {"ports": [{"port": 80, "targetPort": 8080}]},
        },
    )
    # The API server's order: the patch's new items before the live ones it left alone.
    assert patched.metadata.finalizers == ["b.io/y", "a.io/x"]
    assert [(p.port, p.target_port) for p in patched.spec.ports] == [(80, 8080), (443, 443)]
    removed = core.patch_namespaced_service(
        "web", "default", {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.io/x"]}}
    )
    assert removed.metadata.finalizers == ["b.io/y"]
    again = core.patch_namespaced_service(
        "web", "default", {"metadata": {"finalizers": ["c.io/z", "b.io/y", "d.io/w"]}}
    )
    assert again.metadata.finalizers == ["c.io/z", "b.io/y", "d.io/w"]


def test_strategic_merge_is_415_for_custom_resources(widgets: Any, kube: KubeEmulator) -> None:
    widgets.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("w"))
    answer = requests.patch(
        kube.url + "/apis/example.com/v1/namespaces/default/widgets/w",
        data=json.dumps({"spec": {"size": 2}}),
        headers={"Content-Type": "application/strategic-merge-patch+json"},
        timeout=5,
    )
    assert (answer.status_code, answer.json()["reason"]) == (415, "UnsupportedMediaType")


def test_patch_of_missing_object_is_404(core: Any) -> None:
    code, _ = error(core.patch_namespaced_config_map, "nope", "default", {"data": {}})
    assert code == 404


def apply(
    kube: KubeEmulator, body: dict[str, Any], manager: str | None = "tests"
) -> requests.Response:
    query = f"?fieldManager={manager}" if manager else ""
    return requests.patch(
        kube.url + CM_URL + "/applied" + query,
        data=json.dumps(body),
        headers={"Content-Type": "application/apply-patch+yaml"},
        timeout=5,
    )


def test_server_side_apply_creates_then_merges(kube: KubeEmulator) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "applied"},
        "data": {"a": "1"},
    }
    created = apply(kube, body)
    assert created.status_code == 201
    merged = apply(kube, body | {"data": {"b": "2"}}, manager="other")
    assert merged.status_code == 200
    assert merged.json()["data"] == {"a": "1", "b": "2"}


def test_server_side_apply_requires_field_manager(kube: KubeEmulator) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}}
    answer = apply(kube, body, manager=None)
    assert (answer.status_code, answer.json()["message"]) == (
        422,
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for'
        " apply patch",
    )


# --- status subresource split ----------------------------------------------------------------


def test_main_resource_write_keeps_old_status(widgets: Any) -> None:
    widgets.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("w"))
    widgets.patch_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "w", {"status": {"phase": "Ready"}}
    )
    written = widgets.patch_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "w", {"spec": {"size": 5}, "status": {"phase": "Hacked"}}
    )
    assert written["status"] == {"phase": "Ready"}
    assert written["spec"]["size"] == 5


def test_status_write_changes_only_status(widgets: Any) -> None:
    created = widgets.create_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, widget("w") | {"status": {"phase": "Ignored"}}
    )
    assert "status" not in created
    written = widgets.patch_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "w", {"spec": {"size": 9}, "status": {"phase": "Ready"}}
    )
    assert written["spec"]["size"] == 1 and written["status"] == {"phase": "Ready"}
    assert int(written["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])


def test_node_status_replace(core: Any) -> None:
    core.create_node({"metadata": {"name": "n1"}})
    node = core.read_node("n1")
    node.status = client.V1NodeStatus(
        addresses=[client.V1NodeAddress(type="ExternalIP", address="203.0.113.5")]
    )
    written = core.replace_node_status("n1", node)
    assert written.status.addresses[0].address == "203.0.113.5"
    relabelled = core.patch_node(
        "n1", {"metadata": {"labels": {"zone": "a"}}, "status": {"addresses": []}}
    )
    assert relabelled.status.addresses[0].address == "203.0.113.5"


# --- harness API -------------------------------------------------------------------------------


def test_seed_and_direct_reads(kube: KubeEmulator, core: Any) -> None:
    seeded = kube.seed(
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "status": {"phase": "x"}}
    )
    assert seeded["metadata"]["uid"] and seeded["metadata"]["resourceVersion"]
    assert core.read_node("n1").metadata.uid == seeded["metadata"]["uid"]
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    assert kube.get("v1", "ConfigMap", "a", "default")["metadata"]["name"] == "a"
    assert kube.get("v1", "ConfigMap", "b", "default") is None
    assert [obj["metadata"]["name"] for obj in kube.list("v1", "Node")] == ["n1"]


def test_patch_cannot_rename(core: Any) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    code, _ = error(core.patch_namespaced_config_map, "a", "default", {"metadata": {"name": "b"}})
    assert code == 400
    assert [item.metadata.name for item in core.list_namespaced_config_map("default").items] == [
        "a"
    ]


def test_dry_run_answers_without_storing(core: Any) -> None:
    answered = core.create_namespaced_config_map(
        "default", {"metadata": {"name": "a"}}, dry_run="All"
    )
    assert answered.metadata.name == "a"
    assert core.list_namespaced_config_map("default").items == []
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"k": "1"}})
    core.patch_namespaced_config_map("a", "default", {"data": {"k": "2"}}, dry_run="All")
    core.delete_namespaced_config_map("a", "default", dry_run="All")
    assert core.read_namespaced_config_map("a", "default").data == {"k": "1"}


def test_put_keeps_deletion_timestamp_and_generation(widgets: Any) -> None:
    body = widget("w") | {"metadata": {"name": "w", "finalizers": ["example.com/x"]}}
    widgets.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, body)
    widgets.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w")
    current = widgets.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w")
    replacement = widget("w", 2) | {
        "metadata": {
            "name": "w",
            "finalizers": ["example.com/x"],
            "resourceVersion": current["metadata"]["resourceVersion"],
        }
    }
    replaced = widgets.replace_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, "w", replacement
    )
    assert replaced["metadata"]["deletionTimestamp"] == current["metadata"]["deletionTimestamp"]
    # Setting deletionTimestamp counted as a change (1 -> 2); the new size makes it 3.
    assert replaced["metadata"]["generation"] == 3


def test_create_drops_status_except_for_nodes(core: Any, api: Any) -> None:
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    path = {"path": "/", "pathType": "Prefix", "backend": backend}
    ingress = {
        "metadata": {"name": "web"},
        "spec": {"rules": [{"host": "a.example", "http": {"paths": [path]}}]},
        "status": {"loadBalancer": {"ingress": [{"hostname": "claimed.example"}]}},
    }
    created = client.NetworkingV1Api(api).create_namespaced_ingress("default", ingress)
    assert not created.status.load_balancer.ingress
    node = core.create_node(
        {
            "metadata": {"name": "n1"},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]},
        }
    )
    assert node.status.addresses[0].address == "10.0.0.1"
