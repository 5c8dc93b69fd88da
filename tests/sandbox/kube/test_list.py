"""List semantics: selectors (with the real field-selector whitelist), paging, ordering."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client import ApiException

from edgio_sandbox.kube import KubeEmulator

from .conftest import GROUP, PLURAL, VERSION, widget


@pytest.fixture
def labelled(core: Any) -> Any:
    for name, labels in [
        ("a", {"app": "web", "tier": "front"}),
        ("b", {"app": "db"}),
        ("c", {"app": "web", "tier": "back"}),
        ("d", {}),
    ]:
        core.create_namespaced_config_map("default", {"metadata": {"name": name, "labels": labels}})
    return core


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("app=web", ["a", "c"]),
        ("app==web", ["a", "c"]),
        ("app!=web", ["b", "d"]),
        ("app in (web,db)", ["a", "b", "c"]),
        ("tier notin (front)", ["b", "c", "d"]),
        ("tier", ["a", "c"]),
        ("!tier", ["b", "d"]),
        ("app=web,tier=back", ["c"]),
    ],
)
def test_label_selectors(labelled: Any, selector: str, names: list[str]) -> None:
    found = labelled.list_namespaced_config_map("default", label_selector=selector)
    assert [item.metadata.name for item in found.items] == names


def test_field_selector_on_name(labelled: Any) -> None:
    found = labelled.list_namespaced_config_map("default", field_selector="metadata.name!=a")
    assert [item.metadata.name for item in found.items] == ["b", "c", "d"]


def test_field_selector_outside_whitelist_is_400(core: Any) -> None:
    with pytest.raises(ApiException) as caught:
        core.list_service_for_all_namespaces(field_selector="spec.sessionAffinity=None")
    assert caught.value.status == 400
    message = json.loads(caught.value.body)["message"]
    assert message == "field label not supported: spec.sessionAffinity"
    assert core.list_service_for_all_namespaces(field_selector="spec.type=NodePort").items == []


def test_secret_type_and_event_fields_are_selectable(core: Any) -> None:
    core.create_namespaced_secret(
        "default",
        {
            "metadata": {"name": "s"},
            "type": "kubernetes.io/tls",
            "stringData": {"tls.crt": "certificate", "tls.key": "key"},
        },
    )
    core.create_namespaced_secret("default", {"metadata": {"name": "o"}})
    tls = core.list_namespaced_secret("default", field_selector="type=kubernetes.io/tls")
    assert [item.metadata.name for item in tls.items] == ["s"]
    event = {
        "metadata": {"name": "e1"},
        "involvedObject": {"kind": "Ingress", "name": "web", "namespace": "default"},
        "reason": "Synced",
        "type": "Normal",
    }
    core.create_namespaced_event("default", event)
    found = core.list_namespaced_event(
        "default",
        field_selector="involvedObject.kind=Ingress,involvedObject.name=web,reason=Synced",
    )
    assert [item.metadata.name for item in found.items] == ["e1"]


def test_crd_selectable_fields(widgets: Any) -> None:
    for name, color in [("w1", "red"), ("w2", "blue")]:
        widgets.create_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, widget(name, color=color)
        )
    found = widgets.list_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, field_selector="spec.color=blue"
    )
    assert [item["metadata"]["name"] for item in found["items"]] == ["w2"]
    with pytest.raises(ApiException) as caught:
        widgets.list_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, field_selector="spec.size=1"
        )
    assert caught.value.status == 400


def test_items_sorted_by_namespace_then_name(core: Any) -> None:
    core.create_namespace({"metadata": {"name": "alpha"}})
    for namespace, name in [("default", "z"), ("alpha", "y"), ("default", "b"), ("alpha", "a")]:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name}})
    found = core.list_config_map_for_all_namespaces()
    ours = [i for i in found.items if i.metadata.namespace in ("alpha", "default")]
    assert [(i.metadata.namespace, i.metadata.name) for i in ours] == [
        ("alpha", "a"),
        ("alpha", "y"),
        ("default", "b"),
        ("default", "z"),
    ]


def test_list_resource_version_is_the_current_revision(core: Any) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    touched = core.create_namespace({"metadata": {"name": "later"}})
    listed = core.list_namespaced_config_map("default")
    assert listed.metadata.resource_version == touched.metadata.resource_version


def test_limit_and_continue_page_through_everything(labelled: Any) -> None:
    names, token, pages = [], None, 0
    while True:
        page = labelled.list_namespaced_config_map("default", limit=3, _continue=token)
        names += [item.metadata.name for item in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert (names, pages) == (["a", "b", "c", "d"], 2)


@pytest.mark.emulator_only("forces compaction via the harness; a real server compacts on a timer")
def test_continue_after_compaction_is_410(labelled: Any, kube: KubeEmulator) -> None:
    page = labelled.list_namespaced_config_map("default", limit=2)
    labelled.create_namespaced_config_map("default", {"metadata": {"name": "e"}})
    kube.compact()
    with pytest.raises(ApiException) as caught:
        labelled.list_namespaced_config_map("default", limit=2, _continue=page.metadata._continue)
    assert caught.value.status == 410
    assert json.loads(caught.value.body)["reason"] == "Expired"
