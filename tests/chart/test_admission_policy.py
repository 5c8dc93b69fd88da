"""The chart's ValidatingAdmissionPolicy on the real kube-apiserver: `kubectl apply` of an
Edgio Ingress with a bad `cdn.edgio.io/*` annotation prints a warning in the terminal,
before any pass runs, and still stores the Ingress (Warn, never Deny). The policy warns
exactly where the controller's own parser reports an error, for the checks it makes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgio_sandbox.realkube import RealKube
from reconciler.derive.annotations import parse_annotations, published_protocols
from tests.chart.chart import render
from tests.support import eventually, ingress_manifest

KUBECTL = Path(sys.executable).parent / "kubectl"
P = "cdn.edgio.io/"

# Annotations the policy checks, each with whether the controller refuses it.
CASES: list[tuple[dict[str, str], str | None]] = [
    ({P + "origin-protocol": "https", P + "deletion-policy": "Orphan"}, None),
    (
        {P + "orgin-hostname": "origin.example.com"},
        "unknown annotation cdn.edgio.io/orgin-hostname",
    ),
    ({P + "origin-protocol": "ftp"}, P + 'origin-protocol: unsupported value "ftp"'),
    ({P + "deletion-policy": "delete"}, P + 'deletion-policy: unsupported value "delete"'),
    ({P + "adopt": "yes"}, P + 'adopt: unsupported value "yes"'),
    ({P + "published-protocols": "http, https"}, None),
    ({P + "published-protocols": "https,https"}, P + "published-protocols: unsupported value"),
    ({P + "options": '[{"name": "refresh_absmin", "parameters": [3600, "x"]}]'}, None),
    ({P + "options": "[ ]"}, None),
    ({P + "options": '[{"parameters": [], "name": "a_b"}]'}, None),
    ({P + "options": '[{"name": "refresh_absmin", "parameters": [3600]'}, P + "options must be"),
    ({P + "options": '{"name": "refresh_absmin"}'}, P + "options must be"),
    ({P + "options": '[{"name": "Refresh"}]'}, P + "options must be"),
    ({P + "options": '[{"name": "x", "parameters": [true]}]'}, P + "options must be"),
]


def controller_refuses(annotations: dict[str, str]) -> bool:
    return bool(parse_annotations(annotations)[1] or published_protocols(annotations)[1])


@pytest.mark.parametrize(("annotations", "warning"), CASES)
def test_the_policy_warns_where_the_controller_refuses(
    annotations: dict[str, str], warning: str | None
) -> None:
    assert controller_refuses(annotations) == (warning is not None)


class Kubectl:
    def __init__(self, kube: RealKube, workdir: Path) -> None:
        kubeconfig = kube.kubeconfig(workdir / "kubeconfig")
        self.base = [str(KUBECTL), "--kubeconfig", str(kubeconfig)]

    def apply(self, objects: list[dict[str, Any]], *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.base, "apply", *extra, "-f", "-"],
            input=yaml.safe_dump_all(objects),
            capture_output=True,
            text=True,
            timeout=60,
        )


def ingress(annotations: dict[str, str], name: str = "shop") -> dict[str, Any]:
    return ingress_manifest(
        name, ["/"], "web", {"number": 80}, path_type="Prefix",
        metadata={"annotations": annotations},
    )  # fmt: skip


@pytest.fixture
def kubectl(real_kube: RealKube, tmp_path: Path) -> Iterator[Kubectl]:
    """kubectl on the real server with the chart's policy and binding applied and in
    force (the API server loads a new policy a moment after it is stored)."""
    kubectl = Kubectl(real_kube, tmp_path)
    policy = [o for o in render() if o["kind"].startswith("ValidatingAdmissionPolicy")]
    assert len(policy) == 2
    applied = kubectl.apply(policy)
    assert applied.returncode == 0, applied.stderr
    probe = ingress({P + "adopt": "maybe"}, "probe")

    def in_force() -> bool:
        return "Warning" in kubectl.apply([probe], "--dry-run=server").stderr

    eventually(in_force, timeout=60)
    yield kubectl


@pytest.mark.parametrize(("annotations", "warning"), CASES)
def test_kubectl_apply_prints_the_policys_warning(
    kubectl: Kubectl, annotations: dict[str, str], warning: str | None
) -> None:
    applied = kubectl.apply([ingress(annotations)])
    assert applied.returncode == 0, applied.stderr  # warned, never refused
    assert "ingress.networking.k8s.io/shop created" in applied.stdout
    if warning is None:
        assert "Warning" not in applied.stderr, applied.stderr
    else:
        assert applied.stderr.startswith("Warning: Validation failed for ValidatingAdmissionPolicy")
        assert warning in applied.stderr, applied.stderr


def test_an_ingress_without_our_annotations_is_not_looked_at(kubectl: Kubectl) -> None:
    plain = ingress({"example.com/other": json.dumps({"not": "ours"})})
    applied = kubectl.apply([plain])
    assert applied.returncode == 0 and "Warning" not in applied.stderr, applied.stderr
