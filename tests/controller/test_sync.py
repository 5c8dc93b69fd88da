"""Knowledge before action: no pass runs on a cache that never synced.

A cache that could not list is not "nothing exists": a pass on an empty EdgioRoute cache
would take every published rule for one no route wants. The controller keeps retrying
the listing, stays unready, and runs no pass until every cache has synced; `plan` and
`run --once` fail with one line instead."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.controller.conftest import BIN, World, converged
from tests.controller.test_deletion import direct_route
from tests.controller.test_observability import free_port, get
from tests.support import eventually

# The faults are the emulator's: the real server cannot be told to refuse one listing.
pytestmark = [pytest.mark.slow, pytest.mark.emulator_only("injects faults into the emulator")]
ROUTES = "/edgioroutes$"
OLD_SYNC_WAIT = 60.0  # how long `run` used to wait for its caches before passing anyway


def route_listings(world: World) -> int:
    return sum(
        n
        for (method, path), n in world.kube.calls().items()
        if method == "GET" and path.endswith("/edgioroutes")
    )


def test_no_pass_runs_before_every_cache_synced(world: World) -> None:
    world.seed_cluster()
    world.apply(direct_route())
    assert world.once().returncode == 0
    assert "/direct/" in world.rules()
    world.kube.faults.add(method="GET", path=ROUTES, status=500)
    health = free_port()
    # Even with the mass-deletion guard off: the sync gate alone keeps the rule.
    world.start("--interval", "1s", "--allow-mass-delete", "--health-addr", f"127.0.0.1:{health}")
    started = time.monotonic()
    eventually(lambda: route_listings(world) >= 3, timeout=20)  # retried, not given up
    while time.monotonic() - started < OLD_SYNC_WAIT + 5:
        assert get(f"http://127.0.0.1:{health}/readyz")[0] == 503
        assert world.passes() == 0
        assert "/direct/" in world.rules()
        time.sleep(1.0)
    why = [line for line in world.log_lines() if line.get("event") == "cache not synced yet"]
    assert why and why[0]["resource"] == "edgioroutes" and "500" in why[0]["error"]
    world.kube.faults.clear()
    eventually(lambda: get(f"http://127.0.0.1:{health}/readyz")[0] == 200, timeout=30)
    eventually(lambda: converged(world, "direct"), timeout=20)
    assert "/direct/" in world.rules()


@pytest.mark.parametrize("command", ["plan", "once"])
def test_plan_and_once_fail_in_one_line_when_a_cache_cannot_be_filled(
    world: World, command: str
) -> None:
    world.seed_cluster()
    world.apply(direct_route())
    assert world.once().returncode == 0
    world.kube.faults.add(method="GET", path=ROUTES, status=403)
    if command == "plan":
        result = subprocess.run(
            [str(BIN / "edgio-ingress"), "plan"],
            env=world.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    else:
        result = world.once()
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    # `--once` logs taking and releasing the Lease around it (JSON lines): one message besides
    lines = [line for line in result.stderr.splitlines() if not line.startswith("{")]
    assert lines == ["error: cannot list edgioroutes: HTTP 403: Forbidden"], lines
    assert "/direct/" in world.rules()
