"""Helpers every test directory shares: where the repository is, polling with a deadline,
a retry policy fast enough for emulators on loopback, and an Ingress manifest."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from reconciler.providers.transport import RetryPolicy

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[1]
CRD_FILE = REPO / "crds" / "edgioroute.yaml"
EXAMPLES = REPO / "examples"

# Real backoff shape, millisecond waits: the emulators answer in microseconds. A
# Retry-After longer than max_retry_after fails the call at once as Throttled, so a test
# that wants one honoured sets its own policy (see tests/providers/test_transport.py).
FAST = RetryPolicy(attempts=8, initial_wait=0.001, max_wait=0.01, max_retry_after=0.05)


def eventually(probe: Callable[[], T | None], timeout: float = 10.0) -> T:
    """Poll until `probe` returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {probe}")
        time.sleep(0.02)


def ingress_manifest(
    name: str,
    paths: Sequence[str],
    service: str,
    port: dict[str, Any],
    *,
    host: str = "exampleco.s.llnwi.net",
    namespace: str = "default",
    path_type: str = "Exact",
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An Edgio Ingress (label `cdn: edgio`) of one host, each path to the same backend;
    `metadata` adds to (or replaces) its metadata fields."""
    rule_paths = [
        {
            "path": p,
            "pathType": path_type,
            "backend": {"service": {"name": service, "port": dict(port)}},
        }
        for p in paths
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"cdn": "edgio"},
            **(metadata or {}),
        },
        "spec": {"rules": [{"host": host, "http": {"paths": rule_paths}}]},
    }
