"""The controller's end-to-end world (emulators, kubectl, controller processes), shared
with tests/controller, plus a second cluster for the tests that need two."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edgio_sandbox.kube import KubeEmulator
from tests.controller.conftest import World, world
from tests.support import CRD_FILE, EXAMPLES

__all__ = ["kube", "other_cluster", "world"]


@pytest.fixture
def kube() -> Iterator[KubeEmulator]:
    """The safety scenarios run on the emulator only: what they prove is about the
    providers' side, and the controller's end-to-end tests already run on both servers."""
    with KubeEmulator() as server:
        yield server


@pytest.fixture
def other_cluster(world: World, tmp_path: Path) -> Iterator[World]:
    """Another cluster (its own Kubernetes emulator, the CRD and the seed Service
    installed) that shares the Vultr zone and the Edgio account with `world`."""
    with KubeEmulator() as kube:
        home = tmp_path / "other"
        home.mkdir()
        other = World(home, kube, world.vultr, world.edgio)
        other.kubectl(
            "apply", "-f", str(CRD_FILE), "-f", str(EXAMPLES / "pywai-inline-service.yaml")
        )
        try:
            yield other
        finally:
            other.stop_all()
