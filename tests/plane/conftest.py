"""A real control plane for the chart: etcd, kube-apiserver, kube-controller-manager with
every controller the sandbox runs, the Vultr and Edgio emulators, and the sandbox's pod
runner standing in for kubelet and kube-scheduler. One per test module (a minute's
start-up is paid once); needs the built binaries and root (network namespaces)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.pods import PodRunner
from edgio_sandbox.realkube import RealKube
from edgio_sandbox.vultr import VultrEmulator
from tests.realkube import require_binaries

BIN = Path(sys.executable).parent


@dataclass
class Plane:
    kube: RealKube
    vultr: VultrEmulator
    edgio: EdgioEmulator
    pods: PodRunner
    kubeconfig: Path

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        return self._run(BIN / "kubectl", args, stdin, check)

    def helm(self, *args: str, check: bool = True) -> str:
        return self._run(BIN / "helm", args, None, check)

    def apply(self, *objects: dict[str, Any]) -> str:
        return self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))

    def _run(self, tool: Path, args: tuple[str, ...], stdin: str | None, check: bool) -> str:
        command = [str(tool), "--kubeconfig", str(self.kubeconfig), *args]
        result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=300)
        if check:
            assert result.returncode == 0, f"{tool.name} {' '.join(args)}: {result.stderr}"
        return result.stdout + result.stderr


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plane]:
    require_binaries()
    if os.geteuid() != 0:
        pytest.skip("the pod runner needs root for its network namespaces")
    workdir = tmp_path_factory.mktemp("plane")
    with (
        RealKube() as kube,
        VultrEmulator(zones=("example.com",)) as vultr,
        EdgioEmulator(shortnames=("exampleco",)) as edgio,
        PodRunner(kube, forward=[vultr.port, edgio.port]) as pods,
    ):
        yield Plane(kube, vultr, edgio, pods, kube.kubeconfig(workdir / "kubeconfig"))
