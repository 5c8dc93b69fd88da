"""The EdgioRoute CRD is a valid, structural apiextensions.k8s.io/v1 definition."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from reconciler import api
from tests.support import CRD_FILE as CRD_PATH


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    return yaml.safe_load(CRD_PATH.read_text())


@pytest.fixture(scope="module")
def schema(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = crd["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]


def walk(node: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path or "<root>", node)]
    for name, child in (node.get("properties") or {}).items():
        found += walk(child, f"{path}.{name}" if path else name)
    if isinstance(node.get("items"), dict):
        found += walk(node["items"], f"{path}[]")
    return found


def test_identity_agrees_with_api(crd: dict[str, Any]) -> None:
    spec = crd["spec"]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == f"{api.PLURAL}.{api.GROUP}"
    assert spec["group"] == api.GROUP
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == api.KIND
    assert spec["names"]["plural"] == api.PLURAL
    assert spec["names"]["singular"] == api.SINGULAR
    assert spec["names"]["shortNames"] == [api.SHORT_NAME]
    (version,) = spec["versions"]
    assert version["name"] == api.VERSION and version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}


def test_descriptions_name_the_real_label_and_conditions(schema: dict[str, Any]) -> None:
    assert f"{api.DERIVED_LABEL}: {api.DERIVED_FROM_INGRESS}" in " ".join(
        schema["description"].split()
    )
    conditions = dict(walk(schema))["status.conditions"]["description"]
    assert all(kind.value in conditions for kind in api.ConditionType)


def test_schema_is_structural(schema: dict[str, Any]) -> None:
    """Every node has a type (or is int-or-string), as apiextensions v1 requires."""
    untyped = [
        path
        for path, node in walk(schema)
        if "type" not in node and not node.get("x-kubernetes-int-or-string")
    ]
    assert untyped == []


def test_every_field_has_a_description(schema: dict[str, Any]) -> None:
    """So that `kubectl explain edgioroute.spec...` is useful for every field. Except
    `metadata`: kube-apiserver refuses a CRD that says anything about it beyond
    `type: object` (explain prints ObjectMeta's own description there)."""
    missing = [
        path for path, node in walk(schema) if not node.get("description") and path != "metadata"
    ]
    assert missing == []
    assert set(dict(walk(schema))["metadata"]) == {"type"}


def test_known_values_are_constrained(schema: dict[str, Any]) -> None:
    nodes = dict(walk(schema))
    assert nodes["spec.rules[].pathType"]["enum"] == ["Exact", "Prefix", "ImplementationSpecific"]
    assert nodes["spec.deletionPolicy"]["enum"] == ["Delete", "Orphan"]
    assert nodes["spec.rules[].path"]["pattern"] == "^/"
    assert "pattern" in nodes["spec.rules[].host"]
    assert "pattern" in nodes["spec.origin.hostname"]
    assert nodes["spec"]["required"] == ["rules"]


def test_printer_columns(crd: dict[str, Any]) -> None:
    """`kubectl get er` shows the first set; `-o wide` adds the priority-1 columns."""
    (version,) = crd["spec"]["versions"]
    columns = version["additionalPrinterColumns"]
    names = [column["name"] for column in columns if not column.get("priority")]
    assert names == ["Ready", "Hosts", "Origin", "Age"]
    wide = [column["name"] for column in columns if column.get("priority") == 1]
    assert wide == ["Shortname", "Rules", "Reason"]


def test_cel_rules_say_what_a_structural_schema_cannot(schema: dict[str, Any]) -> None:
    nodes = dict(walk(schema))
    (port_rule,) = nodes["spec.rules[].backend.service.port"]["x-kubernetes-validations"]
    assert port_rule["rule"] == "has(self.name) != has(self.number)"
    # One rule per host and path: a map list keyed by both, which the API server checks
    # at no CEL cost (a CEL rule comparing every pair exceeded the cost budget).
    assert "x-kubernetes-validations" not in nodes["spec.rules"]
    assert nodes["spec.rules"]["x-kubernetes-list-type"] == "map"
    assert nodes["spec.rules"]["x-kubernetes-list-map-keys"] == ["host", "path"]
    assert nodes["spec.rules"]["maxItems"] <= 200
    assert nodes["spec.rules[].host"]["maxLength"] and nodes["spec.rules[].path"]["maxLength"]
