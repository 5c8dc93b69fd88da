"""The rendered chart applied with the real kubectl to the Kubernetes API emulator, as
`helm template | kubectl apply -f -` would apply it to a cluster: the defaults, and the
non-default set after the Prometheus Operator CRDs it needs (minimal ones, as an operator
installation would have applied them)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgio_sandbox.kube import KubeEmulator
from tests.chart.chart import CUSTOM, NAMESPACE, render
from tests.support import EXAMPLES

KUBECTL = Path(sys.executable).parent / "kubectl"


def monitoring_crd(kind: str, plural: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.monitoring.coreos.com"},
        "spec": {
            "group": "monitoring.coreos.com",
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                }
                            },
                        }
                    },
                }
            ],
        },
    }


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


class Kubectl:
    def __init__(self, kube: KubeEmulator, workdir: Path) -> None:
        kubeconfig = kube.kubeconfig(workdir / "kubeconfig")
        self.base = [str(KUBECTL), "--kubeconfig", str(kubeconfig)]
        self.base += ["--cache-dir", str(workdir / "cache")]

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [*self.base, *args], input=stdin, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout

    def apply(self, objects: list[dict[str, Any]]) -> str:
        return self("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))


@pytest.fixture
def kube() -> Iterator[KubeEmulator]:
    with KubeEmulator() as emulator:
        yield emulator


@pytest.fixture
def kubectl(kube: KubeEmulator, tmp_path: Path) -> Kubectl:
    return Kubectl(kube, tmp_path)


def stored(kube: KubeEmulator, obj: dict[str, Any]) -> dict[str, Any] | None:
    metadata = obj["metadata"]
    found = kube.get(obj["apiVersion"], obj["kind"], metadata["name"], metadata.get("namespace"))
    return dict(found) if found else None


def resource_version(kube: KubeEmulator, obj: dict[str, Any]) -> str:
    found = stored(kube, obj)
    assert found is not None
    return str(found["metadata"]["resourceVersion"])


def test_defaults_apply_cleanly(kube: KubeEmulator, kubectl: Kubectl) -> None:
    objects = render()
    kubectl.apply([namespace(NAMESPACE)])
    output = kubectl.apply(objects)
    assert output.count(" created") == len(objects), output
    for obj in objects:
        assert stored(kube, obj) is not None, f"{obj['kind']}/{obj['metadata']['name']}"
    # Applied again, nothing changes: every object is as the server keeps it. (kubectl
    # still sends the PodDisruptionBudget's selector, whose patch strategy is `replace`,
    # and says "configured"; the server finds nothing to change.)
    versions = [resource_version(kube, obj) for obj in objects]
    kubectl.apply(objects)
    assert [resource_version(kube, obj) for obj in objects] == versions
    # The CRD is served, with its -o wide columns.
    kubectl("apply", "-f", "-", stdin=(EXAMPLES / "edgioroutes" / "pywai-direct.yaml").read_text())
    wide = kubectl("get", "er", "-o", "wide").splitlines()[0].split()
    assert wide[-3:] == ["SHORTNAME", "RULES", "REASON"]
    assert "SHORTNAME" not in kubectl("get", "er")


def test_non_default_set_applies_after_the_monitoring_crds(
    kube: KubeEmulator, kubectl: Kubectl
) -> None:
    kubectl.apply(
        [
            monitoring_crd("ServiceMonitor", "servicemonitors"),
            monitoring_crd("PrometheusRule", "prometheusrules"),
            *(namespace(name) for name in (NAMESPACE, *CUSTOM["watchNamespaces"])),
        ]
    )
    objects = render(CUSTOM)
    output = kubectl.apply(objects)
    assert output.count(" created") == len(objects), output
    for obj in objects:
        assert stored(kube, obj) is not None, f"{obj['kind']}/{obj['metadata']['name']}"
    roles = kubectl("get", "roles", "-A", "-o", "name").split()
    assert len(roles) == 3  # the release namespace and the two watched ones


def test_a_binding_cannot_change_its_role(kube: KubeEmulator, kubectl: Kubectl) -> None:
    """As in a cluster, roleRef is immutable: a chart upgrade that changed it would fail."""
    kubectl.apply([namespace(NAMESPACE)])
    (binding,) = [obj for obj in render() if obj["kind"] == "RoleBinding"]
    kubectl.apply([binding])
    binding["roleRef"]["name"] = "another"
    result = subprocess.run(
        [*kubectl.base, "apply", "-f", "-"],
        input=yaml.safe_dump(binding),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "roleRef" in result.stderr
