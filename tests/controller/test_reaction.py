"""Edits reach Edgio in seconds: watch events wake the loop, the interval is a safety net."""

from __future__ import annotations

import time

import pytest

from tests.controller.conftest import World, converged, ingress
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
    for index in range(40):
        world.kubectl("label", "node", "n1", f"storm={index}", "--overwrite")
    eventually(lambda: world.passes() > before)
    assert world.passes() - before <= 40  # debounced: far fewer passes than events
