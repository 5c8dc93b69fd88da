"""Fixtures for the Kubernetes emulator's conformance tests: a fresh server per test
(start-up takes milliseconds), the official client pointed at it, and a test CRD.

Every test that uses `kube` runs twice: on the emulator and on the real kube-apiserver
(`tests/realkube.py`), so a difference between the two fails a test. A test about the
emulator's own harness, or about behaviour a bare API server lacks, is marked
`emulator_only(reason)` and runs on the emulator alone.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, TypeVar

import pytest
from kubernetes import client

from edgio_sandbox.kube import KubeEmulator
from tests.realkube import parametrize_kube
from tests.support import eventually

T = TypeVar("T")

WIDGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer", "minimum": 1},
                "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
        },
        "status": {
            "type": "object",
            "properties": {"phase": {"type": "string"}, "observedGeneration": {"type": "integer"}},
        },
    },
}

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {
            "plural": "widgets",
            "singular": "widget",
            "kind": "Widget",
            "shortNames": ["wd"],
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": WIDGET_SCHEMA},
                "subresources": {"status": {}},
                "selectableFields": [{"jsonPath": ".spec.color"}],
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                ],
            }
        ],
    },
}

GROUP, VERSION, PLURAL = "example.com", "v1", "widgets"


def widget(name: str, size: int = 1, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"size": size, **spec},
    }


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_kube(metafunc)


@pytest.fixture
def api(kube: KubeEmulator) -> Iterator[Any]:
    api_client = kube.api_client()
    yield api_client
    api_client.close()


@pytest.fixture
def core(api: Any) -> Any:
    return client.CoreV1Api(api)


@pytest.fixture
def custom(api: Any) -> Any:
    return client.CustomObjectsApi(api)


@pytest.fixture
def widgets(api: Any) -> Any:
    """The Widget CRD installed through the API; returns the CustomObjectsApi."""
    install_crd_with(api, WIDGET_CRD)
    return client.CustomObjectsApi(api)


def install_crd(kube: Any, crd: dict[str, Any]) -> None:
    api = kube.api_client()
    try:
        install_crd_with(api, crd)
    finally:
        api.close()


def install_crd_with(api: Any, crd: dict[str, Any]) -> None:
    """Create a CRD and wait until it is Established. A real server serves the new
    resource only from then on, a moment after the create returns; the emulator
    establishes it at once."""
    extensions = client.ApiextensionsV1Api(api)
    extensions.create_custom_resource_definition(copy.deepcopy(crd))
    await_established(extensions, crd["metadata"]["name"])


def await_established(extensions: Any, name: str) -> None:
    def established() -> bool:
        found = extensions.read_custom_resource_definition(name)
        conditions = (found.status and found.status.conditions) or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    eventually(established, timeout=60)  # seconds on a loaded machine


@pytest.fixture
def recorders() -> Iterator[list[Any]]:
    """Watch recorders a test starts; stopped when it ends, pass or fail."""
    started: list[Any] = []
    yield started
    for recorder in started:
        recorder.stop()
