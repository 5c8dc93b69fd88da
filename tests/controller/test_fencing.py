"""At most one writer, ever: real controller processes on the sandbox, each talking to
the emulators through its own proxies (tests/controller/replicas.py), so a test can cut
one off and tell from the proxies' request logs who wrote what, and when."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from reconciler.cluster.lease import DURATION, RENEW_DEADLINE, RETRY
from tests.controller.conftest import ORIGIN, World, converged, ingress
from tests.controller.replicas import Wired, leading_since, logged_at, wired
from tests.support import eventually

pytestmark = [
    pytest.mark.slow,
    pytest.mark.emulator_only("cuts, stops and proxies processes on the emulators"),
]
SLACK = 1.0  # a request already on the wire when the fence closed, on a loaded machine
LEASE = ("coordination.k8s.io/v1", "Lease", "edgio-ingress", "default")


@contextlib.contextmanager
def drifting(world: World, every: float = 0.5) -> Iterator[None]:
    """Someone keeps editing our rule in the Edgio portal: whoever leads keeps writing."""
    stop = threading.Event()

    def tamper() -> None:
        while not stop.wait(every):
            rule = world.rules().get("/fred")
            if rule and rule["body"]["sourceHostname"] == ORIGIN:
                world.edgio.edit_instance(rule["uuid"], sourceHostname="tampered.example.net")

    thread = threading.Thread(target=tamper, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def exited(world: World, index: int) -> int | None:
    return world.processes[index][0].poll()


def provider_writes_after(world: World, moment: float) -> list[float]:
    return sorted(
        w.started for e in (world.vultr, world.edgio) for w in e.writes() if w.started > moment
    )


def test_a_leader_cut_off_from_the_api_server_stops_writing_before_another_takes_over(
    world: World,
) -> None:
    world.seed_cluster()
    world.apply(ingress())
    resync = ("--interval", "0.5s", "--provider-resync", "0.5s")
    with contextlib.ExitStack() as stack:
        old = wired(world, stack, "old")
        world.start(*resync, env=old.env)
        eventually(lambda: converged(world), timeout=30)
        world.start(*resync)
        eventually(lambda: logged_at(world, 1, "started"), timeout=20)
        stack.enter_context(drifting(world))
        eventually(lambda: len(old.writes(leases=False)) > 3, timeout=20)  # it corrects drift
        old.kube.cut("refuse")
        cut_at = time.time()
        eventually(lambda: exited(world, 0) is not None, timeout=RENEW_DEADLINE + 5)
        assert exited(world, 0) == 1
        assert logged_at(
            world, 0, "leader election lost: exiting, to campaign afresh when restarted"
        )
        took_over = eventually(lambda: leading_since(world, 1), timeout=DURATION + 20)
        first_new = eventually(lambda: provider_writes_after(world, took_over), timeout=20)[0]
    last_renewal = max(old.lease_writes())
    assert last_renewal < cut_at
    assert max(w[0] for w in old.writes()) <= last_renewal + RENEW_DEADLINE + SLACK
    assert took_over >= last_renewal + DURATION  # it watched the record for a whole duration
    assert max(w[0] for w in old.writes()) < first_new
