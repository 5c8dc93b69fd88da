"""The emulator's record of Lease writes, and a restart that keeps its state: what the
fault campaign judges leadership by, and how it restarts the API server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from kubernetes import client

from edgio_sandbox.kube import KubeEmulator

pytestmark = pytest.mark.emulator_only("the harness's Lease history and restart")


def lease(holder: str | None) -> dict[str, Any]:
    return {
        "metadata": {"name": "controller", "namespace": "default"},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15},
    }


def test_every_accepted_lease_write_is_recorded_in_commit_order(
    kube: KubeEmulator, api: Any
) -> None:
    leases = client.CoordinationV1Api(api)
    created = leases.create_namespaced_lease("default", lease("a"))
    created.spec.renew_time = datetime.now(UTC)
    renewed = leases.replace_namespaced_lease("controller", "default", created)
    stale = lease("b")
    stale["metadata"]["resourceVersion"] = created.metadata.resource_version
    with pytest.raises(client.ApiException):  # a conflict is not a write
        leases.replace_namespaced_lease("controller", "default", stale)
    renewed.spec.holder_identity = None  # a release
    released = leases.replace_namespaced_lease("controller", "default", renewed)
    leases.delete_namespaced_lease("controller", "default")
    history = kube.leases.history("controller", "default")
    assert [w.holder for w in history] == ["a", "a", "", ""]
    assert [w.resource_version for w in history[:3]] == [
        created.metadata.resource_version,
        renewed.metadata.resource_version,
        released.metadata.resource_version,
    ]
    assert [w.at for w in history] == sorted(w.at for w in history)
    assert history[0].duration == 15


def test_a_restarted_server_keeps_its_state_and_port_and_drops_old_connections(
    kube: KubeEmulator, api: Any
) -> None:
    client.CoordinationV1Api(api).create_namespaced_lease("default", lease("a"))
    session = requests.Session()
    url = f"{kube.url}/apis/coordination.k8s.io/v1/namespaces/default/leases/controller"
    assert session.get(url, timeout=5).status_code == 200  # a kept-alive connection
    port = kube.port
    kube.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(url, timeout=5)
    kube.start()
    assert kube.port == port
    assert session.get(url, timeout=5).json()["spec"]["holderIdentity"] == "a"
