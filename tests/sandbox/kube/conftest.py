"""Fixtures for the Kubernetes emulator's conformance tests: a fresh server per test
(start-up takes milliseconds), the official client pointed at it, and a test CRD."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, TypeVar

import pytest
from kubernetes import client

from edgio_sandbox.kube import KubeEmulator

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


@pytest.fixture
def kube() -> Iterator[KubeEmulator]:
    with KubeEmulator() as server:
        yield server


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
    client.ApiextensionsV1Api(api).create_custom_resource_definition(copy.deepcopy(WIDGET_CRD))
    return client.CustomObjectsApi(api)


@pytest.fixture
def recorders() -> Iterator[list[Any]]:
    """Watch recorders a test starts; stopped when it ends, pass or fail."""
    started: list[Any] = []
    yield started
    for recorder in started:
        recorder.stop()
