"""Leader failover: the leader is SIGKILLed mid-work, the standby takes the Lease within
its duration, and no two passes ever apply at once, judged from the controllers' pass
logs against the providers' own write logs."""

from __future__ import annotations

import time

import pytest

from reconciler.cluster.lease import DURATION, RETRY
from tests.controller.conftest import World, converged, ingress
from tests.controller.replicas import leading_since, seconds
from tests.support import eventually

pytestmark = pytest.mark.slow
SLACK = 2.0  # a loaded machine: process scheduling, not the protocol


def passes(world: World, index: int) -> list[tuple[float, float]]:
    """(start, end) of every pass the process logged."""
    return [
        (seconds(line["timestamp"]) - float(line["duration"]), seconds(line["timestamp"]))
        for line in world.log_lines(index)
        if line.get("event") == "pass"
    ]


def test_the_standby_takes_over_within_the_lease_and_passes_never_overlap(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress())
    world.start("--interval", "1s")
    world.start("--interval", "1s")
    eventually(lambda: converged(world), timeout=30)
    leader = eventually(
        lambda: [i for i in (0, 1) if leading_since(world, i) is not None] or None, timeout=30
    )[0]
    standby = 1 - leader
    for path in ("/one", "/two"):  # the leader is busy writing
        world.apply(ingress(paths=("/fred", path)))
        eventually(lambda p=path: p in world.rules(), timeout=30)  # type: ignore[misc]
    lease = world.kube.get("coordination.k8s.io/v1", "Lease", "edgio-ingress", "default") or {}
    world.apply(ingress(paths=("/fred", "/three")))  # work in flight when it dies
    world.processes[leader][0].kill()
    killed_at = time.time()
    world.processes[leader][0].wait()
    renewed = seconds(lease["spec"]["renewTime"])
    took_over = eventually(lambda: leading_since(world, standby), timeout=DURATION + 20)
    # seen within one retry of the last renewal, then watched for a whole duration
    assert took_over - renewed <= DURATION + 2 * RETRY + SLACK
    assert took_over > killed_at - RETRY  # it did not lead before the leader died
    eventually(lambda: "/three" in world.rules(), timeout=30)
    eventually(lambda: converged(world), timeout=30)
    world.wait_passes(1, index=standby)

    mine, theirs = passes(world, leader), passes(world, standby)
    assert mine and theirs
    for start, end in mine:
        for other_start, other_end in theirs:
            assert end <= other_start or other_end <= start, "two passes overlapped"
    writes = [w for e in (world.vultr, world.edgio) for w in e.writes()]
    assert writes
    for write in writes:
        inside = [
            owner
            for owner, intervals in ((leader, mine), (standby, theirs))
            if any(s - 0.05 <= write.started and write.finished <= e + 0.05 for s, e in intervals)
        ]
        assert len(inside) == 1, (write, inside)
