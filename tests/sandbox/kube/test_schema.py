"""CRD structural schemas in the Kubernetes API emulator: validation, pruning, defaulting."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgio_sandbox.kube.schema import apply_defaults, prune, validate

relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

ROUTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["rules"],
            "properties": {
                "shortname": {"type": "string", "pattern": "^[a-z0-9]+$", "maxLength": 12},
                "origin": {
                    "type": "object",
                    "properties": {
                        "hostname": {"type": "string", "format": "hostname", "minLength": 1},
                        "protocol": {
                            "type": "string",
                            "enum": ["http", "https"],
                            "default": "http",
                        },
                        "port": {"x-kubernetes-int-or-string": True},
                    },
                },
                "rules": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 2,
                    "items": {
                        "type": "object",
                        "required": ["host", "path"],
                        "properties": {
                            "host": {"type": "string"},
                            "path": {"type": "string", "minLength": 1},
                            "pathType": {
                                "type": "string",
                                "enum": ["Exact", "Prefix"],
                                "default": "Prefix",
                            },
                            "weight": {"type": "integer", "minimum": 1, "maximum": 100},
                        },
                    },
                },
                "options": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                },
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "note": {"type": "string", "nullable": True},
                "deletionPolicy": {"type": "string", "default": "Delete"},
            },
        },
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    },
}


def route(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"rules": [{"host": "a.example", "path": "/"}]}
    return {
        "apiVersion": "cdn.edgio.io/v1alpha1",
        "kind": "EdgioRoute",
        "metadata": {"name": "r"},
        "spec": base | spec,
    }


def messages(obj: Any) -> list[str]:
    return [str(error) for error in validate(obj, ROUTE_SCHEMA)]


def test_a_valid_object_has_no_errors() -> None:
    obj = route(
        shortname="exampleco",
        origin={"hostname": "k8s-origin.example.com", "protocol": "https", "port": "http"},
        options={"cache": "60s"},
        extra={"anything": [1, {"x": None}]},
        note=None,
    )
    assert messages(obj) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"rules": [{"host": "a", "path": "/", "pathType": "Foo"}]},
            'spec.rules[0].pathType: Unsupported value: "Foo": supported values: "Exact", "Prefix"',
        ),
        ({"rules": [{"host": "a"}]}, "spec.rules[0].path: Required value"),
        (
            {"shortname": "Bad_Name"},
            'spec.shortname: Invalid value: "Bad_Name": spec.shortname in body should match '
            "'^[a-z0-9]+$'",
        ),
        ({"shortname": "a" * 13}, "spec.shortname: Too long: may not be longer than 12"),
        (
            {"rules": [{"host": "a", "path": ""}]},
            'spec.rules[0].path: Invalid value: "": spec.rules[0].path in body should be at '
            "least 1 chars long",
        ),
        (
            {"origin": {"hostname": "under_score.example"}},
            'spec.origin.hostname: Invalid value: "under_score.example": spec.origin.hostname '
            'in body must be of type hostname: "under_score.example"',
        ),
        (
            {"origin": {"port": True}},
            'spec.origin.port: Invalid value: "boolean": spec.origin.port in body must be of '
            'type integer,string: "boolean"',
        ),
        (
            {"rules": [{"host": "a", "path": "/", "weight": 0}]},
            "spec.rules[0].weight: Invalid value: 0: spec.rules[0].weight in body should be "
            "greater than or equal to 1",
        ),
        (
            {"rules": [{"host": "a", "path": "/", "weight": 101}]},
            "spec.rules[0].weight: Invalid value: 101: spec.rules[0].weight in body should be "
            "less than or equal to 100",
        ),
        (
            {"rules": [{"host": "a", "path": "/", "weight": "5"}]},
            'spec.rules[0].weight: Invalid value: "string": spec.rules[0].weight in body must '
            'be of type integer: "string"',
        ),
        (
            {"rules": []},
            "spec.rules: Invalid value: 0: spec.rules in body should have at least 1 items",
        ),
        (
            {"rules": [{"host": "a", "path": "/"}] * 3},
            "spec.rules: Too many: 3: must have at most 2 items",
        ),
        (
            {"options": {"cache": 60}},
            'spec.options.cache: Invalid value: "integer": spec.options.cache in body must be '
            'of type string: "integer"',
        ),
        (
            {"deletionPolicy": None},
            'spec.deletionPolicy: Invalid value: "null": spec.deletionPolicy in body must be of '
            'type string: "null"',
        ),
    ],
)
def test_errors_use_kube_apiserver_wording(spec: dict[str, Any], expected: str) -> None:
    assert messages(route(**spec)) == [expected]


def test_missing_spec_and_several_errors_are_all_reported() -> None:
    obj = route(shortname="BAD", rules=[{"pathType": "Foo"}])
    assert sorted(error.path for error in validate(obj, ROUTE_SCHEMA)) == [
        "spec.rules[0].host",
        "spec.rules[0].path",
        "spec.rules[0].pathType",
        "spec.shortname",
    ]


def test_integral_floats_are_integers_and_booleans_are_not() -> None:
    assert messages(route(rules=[{"host": "a", "path": "/", "weight": 5.0}])) == []
    assert messages(route(rules=[{"host": "a", "path": "/", "weight": True}]))


def test_formats() -> None:
    schema = {
        "type": "object",
        "properties": {
            name: {"type": "string", "format": name}
            for name in ("date-time", "ipv4", "ipv6", "uuid", "byte")
        },
    }
    good = {
        "date-time": "2026-11-25T17:00:00Z",
        "ipv4": "203.0.113.7",
        "ipv6": "2001:db8::1",
        "uuid": "0b1f0c4e-8f8b-4a57-9d6e-0c2f1b2a3c4d",
        "byte": "aGVsbG8=",
    }
    assert validate(good, schema) == []
    bad = dict.fromkeys(good, "nope!")
    assert sorted(error.path for error in validate(bad, schema)) == sorted(good)


def test_set_and_map_lists_refuse_duplicates() -> None:
    schema = {
        "type": "object",
        "properties": {
            "finalizers": {
                "type": "array",
                "x-kubernetes-list-type": "set",
                "items": {"type": "string"},
            },
            "conditions": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
                "items": {"type": "object", "properties": {"type": {"type": "string"}}},
            },
            "plain": {"type": "array", "items": {"type": "string"}},
        },
    }
    good = {"finalizers": ["a", "b"], "conditions": [{"type": "A"}, {"type": "B"}]}
    assert validate(good | {"plain": ["x", "x"]}, schema) == []
    bad = {"finalizers": ["a", "a"], "conditions": [{"type": "A"}, {"type": "A", "x": 1}]}
    assert [str(error) for error in validate(bad, schema)] == [
        'finalizers[1]: Duplicate value: "a"',
        'conditions[1]: Duplicate value: {"type":"A"}',
    ]


# --- pruning -------------------------------------------------------------------------------


def test_prune_drops_undeclared_fields_at_every_level() -> None:
    obj = route(
        undeclared=1,
        origin={"hostname": "o.example", "typo": "x"},
        rules=[{"host": "a", "path": "/", "bogus": True}],
    )
    obj["topLevel"] = "gone"
    pruned = prune(obj, ROUTE_SCHEMA)
    assert "topLevel" not in pruned
    assert "undeclared" not in pruned["spec"]
    assert pruned["spec"]["origin"] == {"hostname": "o.example"}
    assert pruned["spec"]["rules"] == [{"host": "a", "path": "/"}]
    assert "typo" in obj["spec"]["origin"]  # the input is left alone


def test_prune_keeps_resource_fields_maps_and_preserved_subtrees() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object"}}}
    obj = {
        "apiVersion": "v1",
        "kind": "Thing",
        "metadata": {"name": "n", "labels": {"a": "b"}},
        "spec": {"x": 1},
    }
    assert prune(obj, schema) == {**obj, "spec": {}}
    routed = route(options={"a": "1", "b": "2"}, extra={"deep": {"er": [1]}})
    routed["status"] = {"conditions": [{"type": "Ready"}]}
    pruned = prune(routed, ROUTE_SCHEMA)
    assert pruned["spec"]["options"] == {"a": "1", "b": "2"}
    assert pruned["spec"]["extra"] == {"deep": {"er": [1]}}
    assert pruned["status"] == routed["status"]


def test_prune_keeps_metadata_of_embedded_resources() -> None:
    schema = {
        "type": "object",
        "properties": {
            "template": {
                "type": "object",
                "x-kubernetes-embedded-resource": True,
                "properties": {"spec": {"type": "object"}},
            }
        },
    }
    obj = {"template": {"kind": "Pod", "metadata": {"name": "p"}, "spec": {}, "junk": 1}}
    assert prune(obj, schema) == {
        "template": {"kind": "Pod", "metadata": {"name": "p"}, "spec": {}}
    }


json_leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=4)
json_trees = st.recursive(
    json_leaves,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["spec", "rules", "host", "x", "origin"]), inner)
    ),
    max_leaves=12,
)


@relaxed
@given(json_trees)
def test_prune_is_idempotent(obj: Any) -> None:
    once = prune(obj, ROUTE_SCHEMA)
    assert prune(once, ROUTE_SCHEMA) == once


# --- defaulting ----------------------------------------------------------------------------


def test_defaults_fill_absent_fields_recursively() -> None:
    obj = route(origin={"hostname": "o.example"})
    defaulted = apply_defaults(obj, ROUTE_SCHEMA)
    assert defaulted["spec"]["origin"]["protocol"] == "http"
    assert defaulted["spec"]["rules"][0]["pathType"] == "Prefix"
    assert defaulted["spec"]["deletionPolicy"] == "Delete"
    assert "protocol" not in obj["spec"]["origin"]


def test_defaults_keep_given_values_and_replace_non_nullable_nulls() -> None:
    obj = route(deletionPolicy=None, rules=[{"host": "a", "path": "/", "pathType": "Exact"}])
    defaulted = apply_defaults(obj, ROUTE_SCHEMA)
    assert defaulted["spec"]["deletionPolicy"] == "Delete"
    assert defaulted["spec"]["rules"][0]["pathType"] == "Exact"


def test_defaults_apply_inside_defaulted_values() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "default": {},
                "properties": {"mode": {"type": "string", "default": "auto"}},
            }
        },
    }
    assert apply_defaults({}, schema) == {"spec": {"mode": "auto"}}


@relaxed
@given(st.lists(st.sampled_from(["Exact", "Prefix", None]), min_size=1, max_size=3))
def test_defaulted_objects_validate(path_types: list[str | None]) -> None:
    rules = [
        {"host": "a", "path": "/"} | ({"pathType": kind} if kind else {}) for kind in path_types
    ][:2]
    defaulted = apply_defaults(route(rules=rules), ROUTE_SCHEMA)
    assert validate(defaulted, ROUTE_SCHEMA) == []
    assert all(rule["pathType"] in ("Exact", "Prefix") for rule in defaulted["spec"]["rules"])
