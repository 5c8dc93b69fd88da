"""PATCH semantics of the Kubernetes API emulator: RFC 7386, RFC 6902, strategic merge, apply."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgio_sandbox.kube.patch import (
    PatchError,
    apply_patch,
    json_equal,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
keys = st.text(alphabet="abc~/", min_size=1, max_size=3)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=10,
)
json_objects = st.dictionaries(keys, json_values, max_size=4)

# The machine is shared: generation speed is not what these tests are about.
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- RFC 7386 ------------------------------------------------------------------------------

# The test vectors of RFC 7386, appendix A.
RFC7386_VECTORS = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC7386_VECTORS)
def test_merge_patch_follows_rfc7386_vectors(target: Any, patch: Any, expected: Any) -> None:
    assert merge_patch(target, patch) == expected


@relaxed
@given(json_objects, json_objects)
def test_merge_patch_is_idempotent_and_leaves_its_inputs_alone(
    target: dict[str, Any], patch: dict[str, Any]
) -> None:
    before_target, before_patch = copy.deepcopy(target), copy.deepcopy(patch)
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once
    assert (target, patch) == (before_target, before_patch)


@relaxed
@given(json_objects, json_objects)
def test_merge_patch_sets_every_non_null_patch_key_and_drops_null_ones(
    target: dict[str, Any], patch: dict[str, Any]
) -> None:
    result = merge_patch(target, patch)
    for key, value in patch.items():
        if value is None:
            assert key not in result
        elif not isinstance(value, dict):
            assert result[key] == value
    for key in target.keys() - patch.keys():
        assert result[key] == target[key]


# --- RFC 6902 ------------------------------------------------------------------------------


def test_json_patch_supports_all_six_operations() -> None:
    document = {"metadata": {"labels": {"a": "1"}}, "spec": {"items": [1, 2]}}
    result = json_patch(
        document,
        [
            {"op": "test", "path": "/metadata/labels/a", "value": "1"},
            {"op": "add", "path": "/metadata/labels/b", "value": "2"},
            {"op": "replace", "path": "/metadata/labels/a", "value": "one"},
            {"op": "add", "path": "/spec/items/-", "value": 3},
            {"op": "add", "path": "/spec/items/0", "value": 0},
            {"op": "remove", "path": "/spec/items/1"},
            {"op": "copy", "from": "/metadata/labels/b", "path": "/spec/copied"},
            {"op": "move", "from": "/spec/copied", "path": "/spec/moved"},
        ],
    )
    assert result == {
        "metadata": {"labels": {"a": "one", "b": "2"}},
        "spec": {"items": [0, 2, 3], "moved": "2"},
    }
    assert document == {"metadata": {"labels": {"a": "1"}}, "spec": {"items": [1, 2]}}


def test_json_patch_unescapes_pointer_tokens() -> None:
    document = {"metadata": {"annotations": {"cdn.edgio.io/short~name": "x"}}}
    result = json_patch(
        document,
        [
            {
                "op": "replace",
                "path": "/metadata/annotations/cdn.edgio.io~1short~0name",
                "value": "y",
            }
        ],
    )
    assert result == {"metadata": {"annotations": {"cdn.edgio.io/short~name": "y"}}}


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "test", "path": "/a", "value": "other"},
        {"op": "test", "path": "/n", "value": True},  # JSON's true is not 1
        {"op": "remove", "path": "/missing"},
        {"op": "replace", "path": "/missing", "value": 1},
        {"op": "add", "path": "/missing/child", "value": 1},
        {"op": "add", "path": "/list/5", "value": 1},
        {"op": "add", "path": "/list/01", "value": 1},
        {"op": "remove", "path": "/list/-"},
        {"op": "move", "from": "/missing", "path": "/b"},
        {"op": "move", "from": "/obj", "path": "/obj/inner"},
        {"op": "add", "path": "no-slash", "value": 1},
        {"op": "add", "path": "/b"},
        {"op": "frobnicate", "path": "/a"},
    ],
)
def test_json_patch_rejects_what_cannot_apply(operation: dict[str, Any]) -> None:
    document = {"a": "value", "n": 1, "list": [1], "obj": {}}
    with pytest.raises(PatchError):
        json_patch(document, [{"op": "add", "path": "/a", "value": "changed"}, operation])
    assert document == {"a": "value", "n": 1, "list": [1], "obj": {}}


def test_json_patch_test_failure_names_the_path() -> None:
    with pytest.raises(PatchError, match="/metadata/resourceVersion"):
        json_patch(
            {"metadata": {"resourceVersion": "5"}},
            [{"op": "test", "path": "/metadata/resourceVersion", "value": "4"}],
        )


def test_json_patch_on_the_root_replaces_the_document() -> None:
    assert json_patch({"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}]) == {"b": 2}


@relaxed
@given(json_objects, keys, json_values)
def test_json_patch_add_then_remove_restores_the_document(
    document: dict[str, Any], key: str, value: Any
) -> None:
    pointer = "/" + key.replace("~", "~0").replace("/", "~1")
    added = json_patch(document, [{"op": "add", "path": pointer, "value": value}])
    assert json_equal(added[key], value)
    if key not in document:
        assert json_patch(added, [{"op": "remove", "path": pointer}]) == document


def test_json_equal_follows_json_not_python() -> None:
    assert json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert not json_equal(0, False)
    assert json_equal({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
    assert not json_equal({"a": 1}, {"a": 1, "b": 2})


# --- strategic merge patch -----------------------------------------------------------------


def test_finalizers_merge_as_a_set() -> None:
    target = {"metadata": {"finalizers": ["a", "b"]}}
    result = strategic_merge_patch(target, {"metadata": {"finalizers": ["b", "c"]}}, "Ingress")
    assert result["metadata"]["finalizers"] == ["a", "b", "c"]


def test_delete_from_primitive_list_removes_finalizers() -> None:
    target = {"metadata": {"finalizers": ["a", "b", "c"]}}
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a", "c"]}}
    assert strategic_merge_patch(target, patch, "Service") == {"metadata": {"finalizers": ["b"]}}


def test_owner_references_merge_by_uid() -> None:
    target = {"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2"}]}}
    patch = {"metadata": {"ownerReferences": [{"uid": "2", "name": "b"}, {"uid": "3"}]}}
    result = strategic_merge_patch(target, patch, "ConfigMap")
    assert result["metadata"]["ownerReferences"] == [
        {"uid": "1", "name": "a"},
        {"uid": "2", "name": "b"},
        {"uid": "3"},
    ]


def test_conditions_merge_by_type_and_delete_directive_removes_one() -> None:
    target = {
        "status": {
            "conditions": [
                {"type": "Ready", "status": "False", "reason": "Starting"},
                {"type": "MemoryPressure", "status": "False"},
            ]
        }
    }
    patch = {
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True", "reason": None},
                {"type": "MemoryPressure", "$patch": "delete"},
            ]
        }
    }
    result = strategic_merge_patch(target, patch, "Node")
    assert result["status"]["conditions"] == [{"type": "Ready", "status": "True"}]


def test_service_ports_merge_by_port_but_other_lists_are_replaced() -> None:
    target = {
        "spec": {
            "ports": [{"port": 80, "name": "http", "nodePort": 30080}],
            "externalIPs": ["1.1.1.1"],
        }
    }
    patch = {"spec": {"ports": [{"port": 443, "name": "https"}], "externalIPs": ["2.2.2.2"]}}
    result = strategic_merge_patch(target, patch, "Service")
    # New items first, as kube-apiserver orders them (normalizeElementOrder).
    assert result["spec"]["ports"] == [
        {"port": 443, "name": "https"},
        {"port": 80, "name": "http", "nodePort": 30080},
    ]
    assert result["spec"]["externalIPs"] == ["2.2.2.2"]


def test_node_addresses_merge_by_type() -> None:
    target = {"status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}}
    patch = {"status": {"addresses": [{"type": "ExternalIP", "address": "203.0.113.1"}]}}
    result = strategic_merge_patch(target, patch, "Node")
    assert [a["type"] for a in result["status"]["addresses"]] == ["ExternalIP", "InternalIP"]


def test_deployment_containers_merge_by_name_down_to_env() -> None:
    target = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "image": "v1", "env": [{"name": "A", "value": "1"}]}
                    ]
                }
            }
        }
    }
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "app", "env": [{"name": "B", "value": "2"}]}]}
            }
        }
    }
    result = strategic_merge_patch(target, patch, "Deployment")
    (container,) = result["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "v1"
    assert container["env"] == [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]


def test_merged_lists_keep_both_orders_where_they_meet() -> None:
    """Live items the patch does not name go before a patch item they preceded in the
    live list; new items come where the patch puts them (checked against kube-apiserver
    1.34: live [b, a, c] patched with [c, d] gives [b, a, c, d])."""
    live = {"metadata": {"finalizers": ["b", "a", "c"]}, "spec": {"ports": []}}
    result = strategic_merge_patch(live, {"metadata": {"finalizers": ["c", "d"]}}, "Service")
    assert result["metadata"]["finalizers"] == ["b", "a", "c", "d"]
    ports = {"spec": {"ports": [{"port": 80}, {"port": 443}]}}
    patch = {"spec": {"ports": [{"port": 443, "name": "tls"}, {"port": 9000}]}}
    result = strategic_merge_patch(ports, patch, "Service")
    assert [p["port"] for p in result["spec"]["ports"]] == [80, 443, 9000]


def test_replace_directives_on_maps_and_lists() -> None:
    target = {
        "metadata": {"labels": {"a": "1", "b": "2"}},
        "status": {"conditions": [{"type": "A"}, {"type": "B"}]},
    }
    patch = {
        "metadata": {"labels": {"$patch": "replace", "c": "3"}},
        "status": {"conditions": [{"$patch": "replace"}, {"type": "C"}]},
    }
    result = strategic_merge_patch(target, patch, "Pod")
    assert result["metadata"]["labels"] == {"c": "3"}
    assert result["status"]["conditions"] == [{"type": "C"}]


def test_delete_directive_on_a_map_and_null_delete_a_key() -> None:
    target = {"metadata": {"annotations": {"a": "1"}, "labels": {"x": "y"}}, "spec": {"k": 1}}
    patch = {"metadata": {"annotations": {"$patch": "delete"}, "labels": None}}
    assert strategic_merge_patch(target, patch, "Secret") == {"metadata": {}, "spec": {"k": 1}}


def test_set_element_order_and_retain_keys_are_accepted() -> None:
    target = {"metadata": {"finalizers": ["a"]}, "spec": {"type": "A", "old": 1}}
    patch = {
        "metadata": {"$setElementOrder/finalizers": ["b", "a"], "finalizers": ["b"]},
        "spec": {"$retainKeys": ["type", "new"], "type": "B", "new": 2},
    }
    result = strategic_merge_patch(target, patch, "Service")
    assert sorted(result["metadata"]["finalizers"]) == ["a", "b"]
    assert result["spec"] == {"type": "B", "new": 2}


@pytest.mark.parametrize(
    "patch",
    [
        {"metadata": {"ownerReferences": [{"name": "no-uid"}]}},
        {"metadata": {"ownerReferences": ["not-an-object"]}},
        {"spec": {"$patch": "explode"}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}},
    ],
)
def test_strategic_merge_patch_rejects_malformed_patches(patch: dict[str, Any]) -> None:
    with pytest.raises(PatchError):
        strategic_merge_patch({"metadata": {}, "spec": {}}, patch, "ConfigMap")


@relaxed
@given(json_objects, json_objects)
def test_strategic_merge_patch_equals_merge_patch_without_lists_or_directives(
    target: dict[str, Any], patch: dict[str, Any]
) -> None:
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if not k.startswith("$")}
        return "list" if isinstance(value, list) else value

    target, patch = plain(target), plain(patch)
    assert strategic_merge_patch(target, patch, "ConfigMap") == merge_patch(target, patch)


# --- server-side apply ---------------------------------------------------------------------


def test_apply_creates_when_missing() -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {}}
    assert apply_patch(None, config, "ConfigMap") == config


def test_apply_merges_keyed_lists_and_replaces_others() -> None:
    live = {
        "metadata": {"name": "a", "labels": {"keep": "1"}, "finalizers": ["x"]},
        "spec": {"rules": [{"host": "a"}]},
        "status": {"conditions": [{"type": "Ready", "status": "False"}]},
    }
    config = {
        "metadata": {"name": "a", "labels": {"new": "2"}, "finalizers": ["y"]},
        "spec": {"rules": [{"host": "b"}]},
        "status": {"conditions": [{"type": "Synced", "status": "True"}]},
    }
    result = apply_patch(live, config, "EdgioRoute")
    assert result["metadata"]["labels"] == {"keep": "1", "new": "2"}
    assert result["metadata"]["finalizers"] == ["x", "y"]
    assert result["spec"]["rules"] == [{"host": "b"}]
    assert [c["type"] for c in result["status"]["conditions"]] == ["Ready", "Synced"]
    assert live["spec"]["rules"] == [{"host": "a"}]
