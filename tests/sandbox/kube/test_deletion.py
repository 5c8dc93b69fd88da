"""Deletion: finalizers, preconditions, garbage collection, orphaning, namespaces."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client import ApiException

from edgio_sandbox.kube import KubeEmulator
from tests.support import eventually

from .conftest import GROUP, PLURAL, VERSION, WIDGET_CRD, install_crd_with, widget
from .watching import Recorder


def cm(name: str, **metadata: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, **metadata}}


def owned_by(owner: Any) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": owner.metadata.name,
            "uid": owner.metadata.uid,
        }
    ]


def exists(core: Any, name: str, namespace: str = "default") -> bool:
    try:
        core.read_namespaced_config_map(name, namespace)
    except ApiException as error:
        assert error.status == 404
        return False
    return True


def disappears(core: Any, name: str, namespace: str = "default") -> None:
    """Wait for a ConfigMap to be gone: at once on the emulator, after
    kube-controller-manager's garbage collector or namespace controller on a real server."""
    eventually(lambda: not exists(core, name, namespace), timeout=60)


def test_delete_without_finalizers_removes_with_deleted_event(
    core: Any, recorders: list[Recorder]
) -> None:
    core.create_namespaced_config_map("default", cm("a"))
    start = core.list_namespaced_config_map("default").metadata.resource_version
    recorder = Recorder(core.list_namespaced_config_map, "default", resource_version=start)
    recorders.append(recorder)
    core.delete_namespaced_config_map("a", "default")
    assert not exists(core, "a")
    assert recorder.wait_for(1)[0][0] == "DELETED"


def test_finalizers_hold_the_object_until_cleared(core: Any, recorders: list[Recorder]) -> None:
    core.create_namespaced_config_map("default", cm("a", finalizers=["example.com/cleanup"]))
    start = core.list_namespaced_config_map("default").metadata.resource_version
    recorder = Recorder(core.list_namespaced_config_map, "default", resource_version=start)
    recorders.append(recorder)
    core.delete_namespaced_config_map("a", "default")
    held = core.read_namespaced_config_map("a", "default")
    assert held.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map(
        "a", "default", [{"op": "remove", "path": "/metadata/finalizers"}]
    )
    assert not exists(core, "a")
    assert [kind for kind, _ in recorder.wait_for(2)] == ["MODIFIED", "DELETED"]


def test_adding_a_finalizer_while_terminating_is_422(core: Any) -> None:
    core.create_namespaced_config_map("default", cm("a", finalizers=["example.com/one"]))
    core.delete_namespaced_config_map("a", "default")
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_config_map(
            "a", "default", {"metadata": {"finalizers": ["example.com/two"]}}
        )
    assert caught.value.status == 422


def test_deleting_a_terminating_object_is_a_no_op(core: Any) -> None:
    core.create_namespaced_config_map("default", cm("a", finalizers=["example.com/one"]))
    core.delete_namespaced_config_map("a", "default")
    first = core.read_namespaced_config_map("a", "default")
    again = core.delete_namespaced_config_map("a", "default")
    assert again["metadata"]["resourceVersion"] == first.metadata.resource_version


def test_delete_preconditions(core: Any) -> None:
    created = core.create_namespaced_config_map("default", cm("a"))
    for preconditions in ({"uid": "not-the-uid"}, {"resourceVersion": "1"}):
        with pytest.raises(ApiException) as caught:
            core.delete_namespaced_config_map(
                "a", "default", body=client.V1DeleteOptions(preconditions=preconditions)
            )
        assert caught.value.status == 409
        assert json.loads(caught.value.body)["reason"] == "Conflict"
    matching = {"uid": created.metadata.uid, "resourceVersion": created.metadata.resource_version}
    core.delete_namespaced_config_map(
        "a", "default", body=client.V1DeleteOptions(preconditions=matching)
    )
    assert not exists(core, "a")


def test_garbage_collection_deletes_orphaned_dependents(core: Any) -> None:
    owner = core.create_namespaced_config_map("default", cm("owner"))
    other = core.create_namespaced_config_map("default", cm("other-owner"))
    core.create_namespaced_config_map("default", cm("child", ownerReferences=owned_by(owner)))
    shared = owned_by(owner) + owned_by(other)
    core.create_namespaced_config_map("default", cm("shared", ownerReferences=shared))
    core.create_namespaced_config_map(
        "default", cm("held", ownerReferences=owned_by(owner), finalizers=["example.com/x"])
    )
    core.delete_namespaced_config_map("owner", "default")
    disappears(core, "child")
    assert exists(core, "shared")
    eventually(
        lambda: core.read_namespaced_config_map("held", "default").metadata.deletion_timestamp
    )


def test_garbage_collection_can_be_switched_off() -> None:
    with KubeEmulator(gc=False) as kube:
        core = client.CoreV1Api(kube.api_client())
        owner = core.create_namespaced_config_map("default", cm("owner"))
        core.create_namespaced_config_map("default", cm("child", ownerReferences=owned_by(owner)))
        core.delete_namespaced_config_map("owner", "default")
        assert exists(core, "child")


def test_orphan_propagation_strips_owner_references(core: Any) -> None:
    owner = core.create_namespaced_config_map("default", cm("owner"))
    core.create_namespaced_config_map("default", cm("child", ownerReferences=owned_by(owner)))
    core.delete_namespaced_config_map("owner", "default", propagation_policy="Orphan")
    disappears(core, "owner")
    assert core.read_namespaced_config_map("child", "default").metadata.owner_references is None


def test_delete_collection_honours_selectors(core: Any) -> None:
    for name, team in [("a", "x"), ("b", "y"), ("c", "x")]:
        core.create_namespaced_config_map("default", cm(name, labels={"team": team}))
    core.delete_collection_namespaced_config_map("default", label_selector="team=x")
    assert [i.metadata.name for i in core.list_namespaced_config_map("default").items] == ["b"]


def test_system_namespaces_exist(core: Any) -> None:
    names = {item.metadata.name for item in core.list_namespace().items}
    assert names == {"default", "kube-system", "kube-public", "kube-node-lease"}


def test_creating_in_a_missing_namespace_is_404(core: Any) -> None:
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("nowhere", cm("a"))
    assert caught.value.status == 404


def test_namespace_deletion_terminates_empties_and_removes(core: Any) -> None:
    core.create_namespace({"metadata": {"name": "team"}})
    core.create_namespaced_config_map("team", cm("plain"))
    core.create_namespaced_config_map("team", cm("held", finalizers=["example.com/x"]))
    core.delete_namespace("team")
    namespace = core.read_namespace("team")
    assert namespace.status.phase == "Terminating"
    disappears(core, "plain", "team")
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("team", cm("late"))
    assert caught.value.status == 403
    assert json.loads(caught.value.body)["reason"] == "Forbidden"
    core.patch_namespaced_config_map("held", "team", {"metadata": {"finalizers": None}})
    eventually(lambda: "team" not in {n.metadata.name for n in core.list_namespace().items}, 60)


def test_deleting_a_crd_deletes_its_objects(widgets: Any, api: Any) -> None:
    extensions = client.ApiextensionsV1Api(api)
    widgets.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("w"))
    extensions.delete_custom_resource_definition("widgets.example.com")

    def crd_gone() -> bool:  # at once on the emulator; after its cleanup on a real server
        try:
            extensions.read_custom_resource_definition("widgets.example.com")
        except ApiException as error:
            return error.status == 404
        return False

    eventually(crd_gone, timeout=60)
    with pytest.raises(ApiException) as caught:
        widgets.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    assert caught.value.status == 404
    install_crd_with(api, WIDGET_CRD)
    assert widgets.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)["items"] == []


def test_delete_answers(core: Any, widgets: Any) -> None:
    core.create_namespaced_config_map("default", cm("gone"))
    answer = core.delete_namespaced_config_map("gone", "default")
    assert (answer["kind"], answer["status"]) == ("Status", "Success")
    assert answer["details"]["name"] == "gone"
    core.create_namespaced_config_map("default", cm("held", finalizers=["example.com/x"]))
    lingering = core.delete_namespaced_config_map("held", "default")
    assert lingering["metadata"]["deletionTimestamp"]
    widgets.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("w"))
    deleted = widgets.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w")
    assert (deleted["kind"], deleted["details"]["name"]) == ("Status", "w")


def test_foreground_deletion_waits_for_blocking_dependents(core: Any) -> None:
    owner = core.create_namespaced_config_map("default", cm("owner"))
    blocking = owned_by(owner)
    blocking[0]["blockOwnerDeletion"] = True
    core.create_namespaced_config_map(
        "default", cm("child", ownerReferences=blocking, finalizers=["example.com/x"])
    )
    core.delete_namespaced_config_map("owner", "default", propagation_policy="Foreground")
    waiting = core.read_namespaced_config_map("owner", "default")
    assert waiting.metadata.finalizers == ["foregroundDeletion"]
    eventually(
        lambda: core.read_namespaced_config_map("child", "default").metadata.deletion_timestamp
    )
    core.patch_namespaced_config_map("child", "default", {"metadata": {"finalizers": None}})
    disappears(core, "child")
    disappears(core, "owner")


def test_foreground_deletion_without_dependents_is_immediate(core: Any) -> None:
    core.create_namespaced_config_map("default", cm("alone"))
    core.delete_namespaced_config_map("alone", "default", propagation_policy="Foreground")
    disappears(core, "alone")
