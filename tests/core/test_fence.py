"""The write fence: what every writer of a pass asks first, and what it answers."""

from __future__ import annotations

import pytest

from reconciler.fence import Fence, LeadershipLost
from reconciler.model import DnsRecord
from reconciler.plan.diff import plan
from reconciler.providers.apply import apply_plan
from tests.core.memory_providers import MemoryEdgio, MemoryVultr

DEADLINE = 10.0


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_the_fence_holds_only_within_the_renew_deadline_of_the_last_renewal() -> None:
    clock = Clock()
    fence = Fence(DEADLINE, clock)
    with pytest.raises(LeadershipLost, match="not held"):
        fence.check()
    fence.renewed(clock.now)
    clock.now += DEADLINE - 0.01
    fence.check()
    assert fence.holds()
    clock.now += 0.01
    with pytest.raises(LeadershipLost, match="renew deadline"):
        fence.check()
    assert not fence.holds()


def test_an_ended_lease_never_opens_again() -> None:
    clock = Clock()
    fence = Fence(DEADLINE, clock)
    fence.renewed(clock.now)
    fence.end("leadership lost: taken")
    fence.renewed(clock.now)
    with pytest.raises(LeadershipLost, match="taken"):
        fence.check()
    assert not fence.holds()


def test_a_stop_ends_the_pass_but_the_lease_is_held_until_released() -> None:
    clock = Clock()
    fence = Fence(DEADLINE, clock)
    fence.renewed(clock.now)
    fence.stop("stopping on SIGTERM")
    with pytest.raises(LeadershipLost, match="SIGTERM"):
        fence.check()
    assert fence.holds()  # the queued Events may still be flushed
    fence.end("released")
    assert not fence.holds()


def test_without_leader_election_only_a_stop_closes_the_fence() -> None:
    fence = Fence(None, Clock())
    fence.check()
    assert fence.holds()
    fence.stop("stopping on SIGINT")
    with pytest.raises(LeadershipLost):
        fence.check()


def test_a_plan_stops_at_the_first_write_the_fence_refuses() -> None:
    """Leadership ends after two writes: the third is not made, nor any after it."""
    vultr, edgio = MemoryVultr(), MemoryEdgio()
    wanted = [DnsRecord("example.com", f"n{i}", "A", f"203.0.113.{i}", 60) for i in range(5)]
    result = plan(wanted, [], [], [], owner="me")
    allowed = iter([True, True])

    def fence() -> None:
        if not next(allowed, False):
            raise LeadershipLost("leadership lost")

    with pytest.raises(LeadershipLost):
        apply_plan(result, vultr, edgio, fence)
    assert len(vultr.list_records("example.com")) == 2
    assert len(result.changes) > 2
