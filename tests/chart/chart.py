"""Rendering the chart with the real helm (copied into .venv/bin by `make`)."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.support import REPO

HELM = Path(sys.executable).parent / "helm"
CHART = REPO / "charts" / "edgio-ingress"
RELEASE = "edge"
NAMESPACE = "edgio-system"
FULLNAME = "edge-edgio-ingress"
SECRET_ID = "monitoring-stack-secret-do-not-print"

# The non-default set the issue names: an existing Secret, no CronJob, the ServiceMonitor,
# the PrometheusRule and the dashboard on, and namespaced mode.
CUSTOM: dict[str, Any] = {
    "credentials": {"existingSecret": "edgio-credentials"},
    "driftCorrection": {"enabled": False},
    "metrics": {"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}},
    "dashboard": {"enabled": True},
    "watchNamespaces": ["shop", "blog"],
    "controller": {
        "zones": ["example.com"],
        "originHostname": "k8s-origin.example.com",
        "shortnames": ["exampleco", "other"],
        "edgeHostnames": {"exampleco": "edge.example.net"},
        "ttl": 120,
    },
}
# The chart creates the Secret from these.
INLINE_CREDENTIALS: dict[str, Any] = {
    "credentials": {
        "vultrApiKey": SECRET_ID,
        "edgioApiUser": "control-user",
        "edgioApiSharedKey": "0123abcd",
    }
}


def helm(*args: str, values: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(HELM), *args]
    if values is not None:
        command += ["--values", "-"]
    return subprocess.run(command, input=values, capture_output=True, text=True, timeout=120)


@functools.cache
def _render(values: str) -> str:
    result = helm("template", RELEASE, str(CHART), "--namespace", NAMESPACE, values=values)
    assert result.returncode == 0, result.stderr
    return result.stdout


def render(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rendered objects, in helm's order."""
    text = _render(yaml.safe_dump(values or {}))
    return [obj for obj in yaml.safe_load_all(text) if obj]


def notes(values: dict[str, Any] | None = None) -> str:
    """What `helm install` prints after installing: the rendered NOTES.txt."""
    args = ["install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=client"]
    result = helm(*args, values=yaml.safe_dump(values or {}))
    assert result.returncode == 0, result.stderr
    return result.stdout.partition("NOTES:")[2]


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [
        obj
        for obj in objects
        if obj["kind"] == kind and (name is None or obj["metadata"]["name"] == name)
    ]
    assert len(matches) == 1, f"{len(matches)} {kind} named {name}"
    return matches[0]


def kinds(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(obj["kind"] for obj in objects)
