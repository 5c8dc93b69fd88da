"""Edits reach Edgio in seconds: watch events wake the loop, the interval is a safety net."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.controller.conftest import World, converged, ingress, node
from tests.support import eventually

pytestmark = pytest.mark.slow


def test_an_ingress_edit_reaches_edgio_within_seconds(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress())
    world.start("--interval", "300s")
    eventually(lambda: converged(world), timeout=20)
    started = time.monotonic()
    world.apply(ingress(paths=("/fast",)))
    eventually(lambda: sorted(world.rules()) == ["/fast"], timeout=5)
    assert time.monotonic() - started < 5


def test_an_event_storm_does_not_starve_the_loop(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress())
    world.start("--interval", "300s")
    eventually(lambda: converged(world), timeout=20)
    before = world.passes()
    for index in range(200):
        world.kube.seed(
            {
                **node("n1", "203.0.113.1"),
                "metadata": {"name": "n1", "labels": {"storm": str(index)}},
            }
        )
    eventually(lambda: world.passes() > before)
    world.apply(ingress(paths=("/after-the-storm",)))
    eventually(lambda: sorted(world.rules()) == ["/after-the-storm"], timeout=10)
    assert world.passes() - before < 50  # debounced: far fewer passes than events


@pytest.mark.emulator_only("drops watches and compacts through the emulator's harness")
def test_dropped_watches_and_a_compacted_history_are_recovered(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress())
    world.start("--interval", "300s")
    eventually(lambda: converged(world), timeout=20)
    world.kube.compact()
    world.kube.drop_streams()
    world.apply(ingress(paths=("/after-410",)))
    eventually(lambda: sorted(world.rules()) == ["/after-410"], timeout=15)
    restarts = [
        line for line in world.log_lines() if line.get("event") == "watch expired, listing again"
    ]
    assert restarts or world.passes() >= 2


def test_a_status_only_update_wakes_no_pass_but_is_cached(world: World) -> None:
    """Our own status writes (and anyone's) wake nothing; the next pass still reads them."""
    world.seed_cluster()
    world.apply(ingress())
    world.start("--interval", "300s", "--log-level", "debug")
    eventually(lambda: converged(world), timeout=20)
    eventually(lambda: world.passes() >= 2)  # the first, and the one its route create woke
    conditions = (world.route() or {})["status"]["conditions"]
    tampered = [{**c, "message": "tampered"} if c["type"] == "Ready" else c for c in conditions]
    patched = world.kubectl(
        "patch", "edgioroute", "web", "--subresource=status", "--type=merge", "-o", "json",
        "-p", json.dumps({"status": {"conditions": tampered}}),
    )  # fmt: skip
    version = json.loads(patched)["metadata"]["resourceVersion"]

    def ignored() -> int | None:
        for index, line in enumerate(world.log_lines()):
            if line.get("event") == "unchanged for a pass" and line.get("version") == version:
                return index
        return None

    seen = eventually(ignored)
    world.kube.seed(node("n3", "203.0.113.3"))  # a change a pass acts on
    eventually(lambda: world.condition().get("message") == "published at Edgio", timeout=20)

    def passes() -> list[dict[str, Any]]:
        """The passes since (a pass logs its line after its status writes)."""
        return [line for line in world.log_lines()[seen:] if line.get("event") == "pass"]

    eventually(passes)
    assert passes()[0]["applied"] >= 1  # no pass came between, woken by the status
