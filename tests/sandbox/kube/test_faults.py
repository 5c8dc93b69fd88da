"""Fault injection on the Kubernetes emulator, as resilience tests of the controller use it."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import ApiException

from edgio_sandbox.kube import KubeEmulator

pytestmark = pytest.mark.emulator_only("fault injection is the emulator's harness")


def test_error_status_for_one_verb_and_resource(kube: KubeEmulator, core: Any) -> None:
    kube.faults.add(status=500, method="POST", path="/configmaps$", times=1)
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    assert caught.value.status == 500
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    core.create_namespaced_secret("default", {"metadata": {"name": "s"}})


def test_throttling_with_retry_after_is_retried_by_the_client(
    kube: KubeEmulator, core: Any
) -> None:
    """The official client's urllib3 pool honours Retry-After on a 429 by itself."""
    kube.faults.add(status=429, method="GET", path="/services$", retry_after="0", times=1)
    kube.reset_calls()
    assert core.list_namespaced_service("default").items == []
    assert kube.calls()[("GET", "/api/v1/namespaces/default/services")] == 2


def test_lost_answer_still_applies_the_write(kube: KubeEmulator, core: Any) -> None:
    kube.faults.add(status=503, method="POST", path="/configmaps$", times=1, after=True)
    with pytest.raises(ApiException):
        core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    assert kube.get("v1", "ConfigMap", "a", "default") is not None
