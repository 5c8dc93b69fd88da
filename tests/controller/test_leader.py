"""One writer: the Lease decides, a killed leader is replaced, `--once` shares the Lease."""

from __future__ import annotations

import pytest

from tests.controller.conftest import World, converged, ingress
from tests.support import eventually

pytestmark = pytest.mark.slow


def leaders(world: World) -> list[int]:
    return [
        index
        for index in range(len(world.processes))
        if world.processes[index][0].poll() is None
        and any(line.get("event") == "leading" for line in world.log_lines(index))
    ]


def test_only_the_leader_writes_and_a_standby_takes_over(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress())
    world.start("--interval", "1s")
    world.start("--interval", "1s")
    eventually(lambda: converged(world), timeout=20)
    (leader,) = eventually(lambda: leaders(world))
    standby = 1 - leader
    world.wait_passes(2, index=leader)
    assert world.passes(standby) == 0
    world.processes[leader][0].kill()  # no goodbye: the Lease must expire
    world.processes[leader][0].wait()
    eventually(lambda: leaders(world) == [standby], timeout=40)
    world.apply(ingress(paths=("/taken-over",)))
    eventually(lambda: sorted(world.rules()) == ["/taken-over"], timeout=20)


def test_once_runs_back_to_back_do_not_wait_for_each_other(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress())
    for _ in range(3):
        result = world.once()
        assert result.returncode == 0
        assert "waiting for the lease" not in result.stderr  # the last one released it
        assert "lease released" in result.stderr
    assert converged(world)


def test_once_waits_for_a_running_leader_then_leaves_the_work_to_it(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress())
    world.start("--interval", "60s")
    eventually(lambda: converged(world), timeout=20)
    result = world.once()
    assert result.returncode == 0  # the CronJob does not fail while the Deployment leads
    assert "nothing to do: the Lease" in result.stderr
    assert "held by another instance" in result.stderr
