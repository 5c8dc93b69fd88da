"""OpenAPI v3 documents and strict field validation: kubectl works without --validate=false."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
import yaml

from edgio_sandbox.kube import KubeEmulator
from tests.support import eventually

from .conftest import widget

KUBECTL = Path(sys.executable).parent / "kubectl"


def kubectl(kube: KubeEmulator, tmp_path: Path, *args: str, stdin: str = "") -> Any:
    config = kube.kubeconfig(tmp_path / "kubeconfig")
    env = dict(os.environ, KUBECONFIG=str(config))
    return subprocess.run(
        [str(KUBECTL), *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


def test_openapi_root_lists_every_group_version(widgets: Any, kube: KubeEmulator) -> None:
    def published() -> Any:  # a real server publishes a new CRD's document a moment later
        paths = requests.get(kube.url + "/openapi/v3", timeout=5).json()["paths"]
        return paths if "apis/example.com/v1" in paths else None

    paths = eventually(published, timeout=60)
    assert {"api/v1", "apis/apps/v1", "apis/example.com/v1"} <= set(paths)
    document = requests.get(kube.url + paths["apis/example.com/v1"]["serverRelativeURL"], timeout=5)
    patch = document.json()["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]
    assert patch["patch"]["x-kubernetes-group-version-kind"]["kind"] == "Widget"
    assert "fieldValidation" in [parameter["name"] for parameter in patch["patch"]["parameters"]]


def test_strict_field_validation_refuses_unknown_fields(widgets: Any, kube: KubeEmulator) -> None:
    url = kube.url + "/apis/example.com/v1/namespaces/default/widgets"
    body = widget("w", undeclared="x")
    strict = requests.post(url + "?fieldValidation=Strict", json=body, timeout=5)
    assert strict.status_code == 400
    assert 'unknown field "spec.undeclared"' in strict.json()["message"]
    lenient = requests.post(url, json=body, timeout=5)
    assert lenient.status_code == 201 and "undeclared" not in lenient.json()["spec"]


def test_kubectl_apply_validates_on_the_server(
    widgets: Any, kube: KubeEmulator, tmp_path: Path
) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"type": "NodePort", "ports": [{"port": 80}]},
    }
    applied = kubectl(kube, tmp_path, "apply", "-f", "-", stdin=yaml.safe_dump(service))
    assert applied.returncode == 0, applied.stderr
    assert kube.get("v1", "Service", "web", "default") is not None
    refused = kubectl(
        kube, tmp_path, "apply", "-f", "-", stdin=yaml.safe_dump(widget("w", undeclared="x"))
    )
    assert refused.returncode != 0
    assert "spec.undeclared" in refused.stderr
    accepted = kubectl(kube, tmp_path, "apply", "-f", "-", stdin=yaml.safe_dump(widget("w")))
    assert accepted.returncode == 0, accepted.stderr


def test_kubectl_explain_reads_the_crd_schema(
    widgets: Any, kube: KubeEmulator, tmp_path: Path
) -> None:
    # The real server publishes a new CRD's OpenAPI a moment after the CRD is served.
    def explained() -> str:
        return str(kubectl(kube, tmp_path, "explain", "widget.spec").stdout)

    def shows_the_schema() -> bool:
        text = explained()  # one reading for both fields: a read can come back empty
        return "size\t<integer> -required-" in text and "color\t<string>" in text

    eventually(shows_the_schema, 60)
