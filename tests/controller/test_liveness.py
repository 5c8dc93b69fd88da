"""Liveness means "stuck", not "long": a pass that keeps reading pages keeps /healthz at
200 however long it runs; a pass waiting on a hung call with nothing else moving fails
it. The stuck limit is made small here (`--stuck-after`) so that seconds show it."""

from __future__ import annotations

import time

import pytest

from tests.controller.conftest import SHORTNAME, World, converged, ingress
from tests.controller.test_observability import free_port, get
from tests.providers.edgio.conftest import instance_body
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.emulator_only("Edgio latency is the emulator's")]
LIST = f"/shortname/{SHORTNAME}$"


def start(world: World, stuck_after: str) -> str:
    health = free_port()
    world.start(
        "--interval", "60s", "--stuck-after", stuck_after, "--health-addr", f"127.0.0.1:{health}"
    )
    return f"http://127.0.0.1:{health}/healthz"


def test_a_long_pass_that_keeps_reading_pages_stays_alive(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress())
    for i in range(500):  # six pages of rules, each page a second late: a pass of 6 s+
        world.edgio.seed_instance(SHORTNAME, instance_body(path=f"/other{i}/"))
    world.edgio.faults.add(method="GET", path=LIST, status=None, delay=1.0)
    healthz = start(world, "2s")
    eventually(lambda: get(healthz)[0] == 200)  # listening
    answers = []
    deadline = time.monotonic() + 60
    while world.passes() == 0:  # probed all through the first pass
        answers.append(get(healthz)[0])
        assert time.monotonic() < deadline, "no pass ended"
    first = next(line for line in world.log_lines() if line.get("event") == "pass")
    assert first["duration"] > 4.0  # twice the stuck limit, at least
    assert set(answers) == {200}, answers
    eventually(lambda: converged(world), timeout=30)


def test_a_pass_stuck_on_a_hung_call_fails_healthz(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress())
    hung = world.edgio.faults.add(method="GET", path=LIST, status=None, delay=12.0, times=1)
    healthz = start(world, "2s")
    eventually(lambda: get(healthz)[0] == 200)
    eventually(lambda: hung.times == 0, timeout=20)  # the listing is hanging now
    eventually(lambda: get(healthz)[0] == 503, timeout=8)
    eventually(lambda: get(healthz)[0] == 200, timeout=20)  # the call came back: progress
    eventually(lambda: converged(world), timeout=30)
