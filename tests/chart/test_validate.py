"""Offline validation: every rendered object against the Kubernetes 1.34 OpenAPI schemas
(kubernetes-validate, strict: unknown fields are errors), and EdgioRoutes against our CRD.

ServiceMonitor and PrometheusRule are Prometheus Operator custom resources, not in the
Kubernetes schemas: they get a structural check of the fields the operator requires.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from edgio_sandbox.kube.schema import validate as validate_against_crd
from reconciler.derive.ingress import class_controllers, derive_route, is_edgio_ingress
from tests.chart.chart import CUSTOM, INLINE_CREDENTIALS, render
from tests.support import CRD_FILE, EXAMPLES

KUBERNETES = "1.34.0"
MONITORING = {"ServiceMonitor", "PrometheusRule"}


def rendered_sets() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("defaults", {}),
        ("custom", CUSTOM),
        ("inline-credentials", INLINE_CREDENTIALS),
        ("no-topology-spread", {"topologySpread": {"enabled": False}}),
    ]


@pytest.mark.parametrize(("name", "values"), rendered_sets(), ids=[n for n, _ in rendered_sets()])
def test_every_rendered_object_is_valid_kubernetes_1_34(name: str, values: dict[str, Any]) -> None:
    checked = 0
    for obj in render(values):
        if obj["kind"] in MONITORING:
            check_monitoring(obj)
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path)
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {where}: {error.message}")
        checked += 1
    assert checked >= 10


def test_the_validator_catches_a_wrong_object() -> None:
    """So that the test above is not vacuous."""
    (deployment,) = [obj for obj in render() if obj["kind"] == "Deployment"]
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)
    deployment["spec"]["replicas"] = 2
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


def check_monitoring(obj: dict[str, Any]) -> None:
    assert obj["apiVersion"] == "monitoring.coreos.com/v1"
    spec = obj["spec"]
    if obj["kind"] == "ServiceMonitor":
        assert spec["selector"]["matchLabels"]
        for endpoint in spec["endpoints"]:
            assert set(endpoint) <= {"port", "path", "interval", "scrapeTimeout"}
    else:
        for group in spec["groups"]:
            assert group["name"] and group["rules"]
            for rule in group["rules"]:
                assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
                assert rule["alert"] and rule["expr"] and rule["labels"]["severity"]


def crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD_FILE.read_text())
    (version,) = crd["spec"]["versions"]
    return dict(version["schema"]["openAPIV3Schema"])


def example_routes() -> list[dict[str, Any]]:
    """EdgioRoutes written in the examples, and those derived from the examples' Ingresses."""
    objects = [
        obj
        for path in sorted(EXAMPLES.rglob("*.yaml"))
        for obj in yaml.safe_load_all(path.read_text())
        if obj
    ]
    controllers = class_controllers(obj for obj in objects if obj["kind"] == "IngressClass")
    routes = [obj for obj in objects if obj["kind"] == "EdgioRoute"]
    for obj in objects:
        if obj["kind"] == "Ingress" and is_edgio_ingress(obj, controllers):
            routes.append(derive_route(obj).manifest)
    return routes


def test_example_edgioroutes_validate_against_the_crd() -> None:
    routes = example_routes()
    assert any(
        route["metadata"].get("labels", {}).get("cdn.edgio.io/derived-from") for route in routes
    )
    assert len(routes) >= 3
    schema = crd_schema()
    for route in routes:
        assert validate_against_crd(route, schema) == [], route["metadata"]["name"]
