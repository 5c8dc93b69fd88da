"""Leader election with the official client's LeaseLock: one leader, takeover on silence."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kubernetes import client
from kubernetes.leaderelection import electionconfig, leaderelection
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

from edgio_sandbox.kube import KubeEmulator
from tests.support import eventually


class Contender:
    """One candidate in a thread; it leads until told to stop renewing."""

    def __init__(self, kube: KubeEmulator, identity: str, leaders: list[str]):
        self.identity = identity
        self.step_down = threading.Event()
        lock = LeaseLock("controller", "default", identity)
        lock.api_instance = client.CoordinationV1Api(kube.api_client())

        def lead() -> None:
            leaders.append(identity)
            self.step_down.wait()
            raise RuntimeError(f"{identity} stops renewing")  # makes the elector give up

        config = electionconfig.Config(
            lock,
            lease_duration=4,
            renew_deadline=3,
            retry_period=1,
            onstarted_leading=lead,
            onstopped_leading=lambda: None,
        )
        self.thread = threading.Thread(
            target=leaderelection.LeaderElection(config).run, name=identity, daemon=True
        )
        self.thread.start()


def lease_reads(kube: KubeEmulator) -> int:
    path = "/apis/coordination.k8s.io/v1/namespaces/default/leases/controller"
    return kube.calls().get(("GET", path), 0)


@pytest.mark.emulator_only("counts Lease reads with the harness's calls()")
def test_one_leader_then_takeover_when_it_stops_renewing(kube: KubeEmulator, api: Any) -> None:
    leaders: list[str] = []
    contenders = [Contender(kube, name, leaders) for name in ("alpha", "beta")]
    first = eventually(lambda: leaders[:1])[0]
    reads = lease_reads(kube)
    eventually(lambda: lease_reads(kube) >= reads + 4)  # both have tried again since
    assert leaders == [first]
    by_name = {contender.identity: contender for contender in contenders}
    by_name[first].step_down.set()
    eventually(lambda: len(leaders) == 2, timeout=20)
    second = leaders[1]
    assert second != first
    lease = client.CoordinationV1Api(api).read_namespaced_lease("controller", "default")
    assert lease.spec.holder_identity == second
    for contender in contenders:
        contender.step_down.set()
