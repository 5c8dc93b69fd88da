"""At most one writer, ever: real controller processes on the sandbox, each talking to
the emulators through its own proxies (tests/controller/replicas.py), so a test can cut
one off and tell from the proxies' request logs who wrote what, and when."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reconciler.cluster.lease import DURATION, RENEW_DEADLINE, RETRY
from tests.controller.conftest import ORIGIN, World, converged, ingress
from tests.controller.replicas import Wired, leading_since, logged_at, wired
from tests.support import eventually

pytestmark = [
    pytest.mark.slow,
    pytest.mark.emulator_only("cuts, stops and proxies processes on the emulators"),
]
SLACK = 2.0  # between a fence check and its request on the wire, on a loaded machine
LEASE = ("coordination.k8s.io/v1", "Lease", "edgio-ingress", "default")
RESYNC = ("--interval", "0.5s", "--provider-resync", "0.5s")
PROMPT = 5.0  # seconds from a signal to the exit: one request in flight, a release


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


def leader_and_standby(world: World, stack: contextlib.ExitStack) -> Wired:
    """Process 0 leads through its own proxies, correcting drift all the time; process 1
    is a standby talking to the emulators directly."""
    world.seed_cluster()
    world.apply(ingress())
    leader = wired(world, stack, "old")
    world.start(*RESYNC, env=leader.env)
    eventually(lambda: converged(world), timeout=30)
    world.start(*RESYNC)
    eventually(lambda: logged_at(world, 1, "started"), timeout=20)
    stack.enter_context(drifting(world))
    eventually(lambda: len(leader.writes(leases=False)) > 3, timeout=20)  # it corrects drift
    return leader


@pytest.mark.parametrize("cut", ["refuse", "hang"])
def test_a_leader_cut_off_from_the_api_server_stops_writing_before_another_takes_over(
    world: World, cut: str
) -> None:
    with contextlib.ExitStack() as stack:
        old = leader_and_standby(world, stack)
        old.kube.cut(cut)
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
    late = [w for w in old.writes() if w[0] > last_renewal + RENEW_DEADLINE]
    assert max(w[0] for w in old.writes()) <= last_renewal + RENEW_DEADLINE + SLACK, late
    assert took_over >= last_renewal + DURATION  # it watched the record for a whole duration
    assert max(w[0] for w in old.writes()) < first_new


def test_a_leader_frozen_past_its_lease_writes_nothing_when_it_wakes(world: World) -> None:
    with contextlib.ExitStack() as stack:
        old = leader_and_standby(world, stack)
        leader = world.processes[0][0]
        leader.send_signal(signal.SIGSTOP)
        took_over = eventually(lambda: leading_since(world, 1), timeout=DURATION + 20)
        eventually(lambda: provider_writes_after(world, took_over), timeout=20)
        woke = time.time()
        leader.send_signal(signal.SIGCONT)
        eventually(lambda: leader.poll() is not None, timeout=PROMPT + 2 * RETRY)
    assert leader.returncode == 1  # leadership lost: it exits, to campaign afresh
    assert [w for w in old.writes() if w[0] >= woke] == []


@pytest.mark.parametrize("once", [False, True], ids=["run", "once"])
def test_sigterm_mid_pass_stops_at_the_next_write_then_releases_the_lease(
    world: World, once: bool
) -> None:
    world.seed_cluster()
    world.apply(ingress(paths=tuple(f"/p{i}" for i in range(6))))
    world.edgio.faults.add(status=None, method="POST", delay=1.0)  # a slow pass
    process = world.start(*(["--once"] if once else []))
    eventually(lambda: world.edgio.writes(), timeout=30)
    process.send_signal(signal.SIGTERM)
    stopped = time.time()
    process.wait(timeout=PROMPT)
    assert process.returncode == (1 if once else 0)  # a CronJob run cut short did not run
    assert (world.kube.get(*LEASE) or {})["spec"].get("holderIdentity") is None
    released = max(w.started for w in world.kube.writes() if "/leases/" in w.label)
    everything = [w for e in (world.kube, world.vultr, world.edgio) for w in e.writes()]
    assert all(w.finished <= released for w in everything if "/leases/" not in w.label)
    # at most the write whose fence check came just before the signal; none after it
    assert len([w for w in world.edgio.writes() if w.started > stopped]) <= 1
    assert len(world.rules()) < 6


def test_sigterm_while_waiting_for_the_caches_exits_within_seconds(world: World) -> None:
    with contextlib.ExitStack() as stack:
        unreachable = wired(world, stack, "unreachable")
        unreachable.kube.cut("hang")
        process = world.start("--owner-id", "k8s-test", env=unreachable.env)
        eventually(lambda: logged_at(world, 0, "started"), timeout=20)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=PROMPT)
    assert process.returncode == 0


def skewed_lease(holder: str) -> dict[str, Any]:
    """A renewal by a replica whose clock is ten minutes behind ours."""
    behind = datetime.now(UTC) - timedelta(minutes=10)
    return {
        "apiVersion": LEASE[0],
        "kind": LEASE[1],
        "metadata": {"name": LEASE[2], "namespace": LEASE[3]},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": int(DURATION),
            "renewTime": behind.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
    }


def test_a_holder_whose_clock_is_minutes_behind_keeps_the_lease_while_it_renews(
    world: World,
) -> None:
    world.seed_cluster()
    world.apply(ingress())
    renewing = threading.Event()

    def hold() -> None:
        while not renewing.wait(RETRY):
            world.kube.seed(skewed_lease("skewed"))

    world.kube.seed(skewed_lease("skewed"))
    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    written = world.kube_writes()  # kubectl's
    try:
        world.start("--interval", "1s")
        eventually(lambda: logged_at(world, 0, "started"), timeout=20)
        watched_until = time.monotonic() + DURATION + 2 * RETRY
        while not renewing.wait(0.5) and time.monotonic() < watched_until:
            assert leading_since(world, 0) is None
        assert (world.kube.get(*LEASE) or {})["spec"]["holderIdentity"] == "skewed"
        assert world.kube_writes() == written
        assert [*world.vultr.writes(), *world.edgio.writes()] == []
    finally:
        renewing.set()
        holder.join()
    stopped = time.time()
    took_over = eventually(lambda: leading_since(world, 0), timeout=DURATION + 10)
    assert took_over >= stopped + DURATION - RETRY
    eventually(lambda: converged(world), timeout=20)


def test_once_beside_a_leader_reads_nothing_and_writes_nothing(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress())
    world.start("--interval", "60s")
    eventually(lambda: converged(world), timeout=30)
    with contextlib.ExitStack() as stack:
        once = wired(world, stack, "once")
        result = world.once(env=once.env)
        assert result.returncode == 0, result.stderr
        assert "nothing to do: the Lease" in result.stderr
        assert once.writes() == []
        caches = ("ingresses", "edgioroutes", "services", "nodes")
        assert [r for r in once.kube.requests() if any(c in r[2] for c in caches)] == []
        waiting = world.start("--once", env=once.env)
        eventually(lambda: logged_at(world, 1, "waiting for the lease"), timeout=20)
        waiting.send_signal(signal.SIGTERM)
        waiting.wait(timeout=PROMPT)
    assert waiting.returncode == 1


def test_once_alone_takes_the_lease_first_renews_it_through_a_long_pass_and_releases_it(
    world: World,
) -> None:
    world.seed_cluster()
    paths = tuple(f"/p{i}" for i in range(6))
    world.apply(ingress(paths=paths))
    world.edgio.faults.add(status=None, method="POST", delay=2.0)  # past the renew deadline
    with contextlib.ExitStack() as stack:
        once = wired(world, stack, "once")
        result = world.once(env=once.env)
    assert result.returncode == 0, result.stderr
    assert sorted(world.rules()) == sorted(paths)
    leases = once.lease_writes()
    listed = min(when for when, method, path in once.kube.requests(("GET",)) if "ingresses" in path)
    assert leases[0] < listed  # the snapshot is taken holding the Lease
    rules = [when for when, method, path in once.edgio.requests(("POST",))]
    assert rules[-1] - rules[0] > RENEW_DEADLINE
    assert any(rules[0] < when < rules[-1] for when in leases)  # renewed during the pass
    assert (world.kube.get(*LEASE) or {})["spec"].get("holderIdentity") is None
    assert max(w[0] for w in once.writes(leases=False)) < leases[-1]  # nothing after release
