"""Every Kubernetes write of a pass asks the fence first: once it is closed, the route
writes, status patches, Ingress status and finalizer changes raise LeadershipLost and
the API server receives nothing (over real HTTP, with the real client)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edgio_sandbox.kube import KubeEmulator
from reconciler import api
from reconciler.cluster.config import api_client
from reconciler.cluster.kube import KubeCluster
from reconciler.fence import Fence, LeadershipLost
from reconciler.plan.routeset import RouteWrite, WriteAction
from reconciler.report.status import IngressHostnames
from tests.controller.conftest import WRITES

ROUTE: dict[str, Any] = {
    "apiVersion": api.API_VERSION,
    "kind": api.KIND,
    "metadata": {"name": "web", "namespace": "default", "finalizers": [api.FINALIZER]},
    "spec": {},
}
SHOWN = IngressHostnames(("exampleco.s.llnwi.net",), frozenset())
INGRESS = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": ROUTE["metadata"]}


def writes(cluster: KubeCluster) -> list[Callable[[], object]]:
    return [
        *(lambda a=a: cluster.write_route(RouteWrite(a, ROUTE, "test")) for a in WriteAction),
        lambda: cluster.write_route_status(ROUTE, {"conditions": []}),
        lambda: cluster.write_ingress_hosts(INGRESS, SHOWN),
        lambda: cluster.remove_finalizer(ROUTE),
    ]


@pytest.mark.parametrize("why", ["lost", "stopping"])
def test_no_cluster_write_leaves_once_the_fence_is_closed(tmp_path: Path, why: str) -> None:
    fence = Fence(10.0, clock=lambda: 100.0)
    fence.renewed(85.0)  # past the renew deadline
    if why == "stopping":
        fence = Fence(None)
        fence.stop("stopping on SIGTERM")
    with KubeEmulator() as kube:
        cluster = KubeCluster(api_client(str(kube.kubeconfig(tmp_path / "kubeconfig"))))
        cluster.fence = fence.check
        for write in writes(cluster):
            with pytest.raises(LeadershipLost):
                write()
        assert [call for call in kube.calls() if call[0] in WRITES] == []
