"""The controller as users run it: a real `edgio-ingress` process against the emulators.

Each test gets its own Kubernetes, Vultr and Edgio emulators (in this process, so the
test can seed, drift and read them directly) and a kubeconfig; `kubectl` applies the
manifests; every test runs a second time on the real kube-apiserver (`tests/realkube.py`)
unless marked `emulator_only`; the controller reads exactly the environment
`edgio-sandbox up --env-file` writes. Assertions poll with a deadline, never sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.kube import KubeEmulator
from edgio_sandbox.vultr import VultrEmulator
from tests.realkube import parametrize_kube
from tests.support import CRD_FILE, EXAMPLES, eventually, ingress_manifest

BIN = Path(sys.executable).parent
ZONE = "example.com"
SHORTNAME = "exampleco"
HOST = "exampleco.s.llnwi.net"
ORIGIN = f"origin.{ZONE}"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def node(name: str, address: str, ready: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "addresses": [{"type": "ExternalIP", "address": address}],
        },
    }


def ingress(
    name: str = "web",
    namespace: str = "default",
    paths: tuple[str, ...] = ("/fred",),
    service: str = "pywai-inline-service",
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    metadata = {"annotations": annotations or {}}
    port = {"name": "http"}
    return ingress_manifest(
        name, paths, service, port, host=HOST, namespace=namespace, metadata=metadata
    )


def service(name: str = "pywai-inline-service", namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "type": "NodePort",
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 80, "targetPort": 8000}],
        },
    }


class World:
    """Emulators, kubectl, and controller processes started for one test."""

    def __init__(self, tmp: Path, kube: KubeEmulator, vultr: VultrEmulator, edgio: EdgioEmulator):
        self.tmp, self.kube, self.vultr, self.edgio = tmp, kube, vultr, edgio
        self.kubeconfig = kube.kubeconfig(tmp / "kubeconfig")
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("KUBECONFIG",)},
            "KUBECONFIG": str(self.kubeconfig),
            **vultr.env(),
            **edgio.env(),
        }
        self.processes: list[tuple[subprocess.Popen[bytes], Path]] = []

    # --- the cluster ------------------------------------------------------------------

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        result = subprocess.run(
            [str(BIN / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr}")
        return result.stdout

    def apply(self, *objects: dict[str, Any]) -> None:
        self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))

    def seed_cluster(self, nodes: int = 2) -> None:
        """The CRD, the seed's Service and `nodes` Ready nodes 203.0.113.1..n."""
        self.kubectl(
            "apply", "-f", str(CRD_FILE), "-f", str(EXAMPLES / "pywai-inline-service.yaml")
        )
        for index in range(1, nodes + 1):
            self.kube.seed(node(f"n{index}", f"203.0.113.{index}"))

    def route(self, name: str = "web", namespace: str = "default") -> dict[str, Any] | None:
        return self.kube.get("cdn.edgio.io/v1alpha1", "EdgioRoute", name, namespace)

    def condition(
        self, name: str = "web", kind: str = "Ready", namespace: str = "default"
    ) -> dict[str, Any]:
        route = self.route(name, namespace) or {}
        for condition in (route.get("status") or {}).get("conditions") or []:
            if condition["type"] == kind:
                return dict(condition)
        return {}

    def node_port(self, name: str = "pywai-inline-service", namespace: str = "default") -> int:
        svc = self.kube.get("v1", "Service", name, namespace) or {}
        return int(svc["spec"]["ports"][0]["nodePort"])

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.kube.list("v1", "Event") if e["involvedObject"]["kind"] == kind]

    def kube_writes(self) -> int:
        """Writes to the cluster, but the Lease renewals the leader makes every 2 s."""
        return sum(
            n
            for (method, path), n in self.kube.calls().items()
            if method in WRITES and "/leases/" not in path
        )

    # --- the providers ----------------------------------------------------------------

    def a_records(self) -> list[str]:
        return sorted(
            r["data"]
            for r in self.vultr.records(ZONE)
            if r["type"] == "A" and r["name"] == "origin"
        )

    def txt_records(self) -> list[str]:
        return [r["data"] for r in self.vultr.records(ZONE) if r["name"] == "a-origin"]

    def rules(self) -> dict[str, dict[str, Any]]:
        """Edgio instances by published path."""
        return {i["body"]["publishedUrlPath"]: i for i in self.edgio.instances(SHORTNAME)}

    def source_port(self, path: str = "/fred") -> int | None:
        rule = self.rules().get(path)
        return rule["body"]["protocolSets"][0].get("sourcePort") if rule else None

    # --- the controller ---------------------------------------------------------------

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """`edgio-ingress run ARGS` in the background; its JSON log goes to a file."""
        log = self.tmp / f"controller-{len(self.processes)}.log"
        argv = [str(BIN / "edgio-ingress"), "run", "--metrics-addr", "0", "--health-addr", "0"]
        process = subprocess.Popen(
            [*argv, *args],
            env=env or self.env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
        self.processes.append((process, log))
        return process

    def once(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "edgio-ingress"), "run", "--once", *args],
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def log_lines(self, index: int = 0) -> list[dict[str, Any]]:
        lines = []
        for line in self.processes[index][1].read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return lines

    def passes(self, index: int = 0) -> int:
        return sum(1 for line in self.log_lines(index) if line.get("event") == "pass")

    def wait_passes(self, more: int, index: int = 0, timeout: float = 20.0) -> None:
        target = self.passes(index) + more
        eventually(lambda: self.passes(index) >= target, timeout=timeout)

    def stop_all(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _ in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_kube(metafunc)


@pytest.fixture
def world(tmp_path: Path, kube: Any) -> Iterator[World]:
    with (
        VultrEmulator(zones=(ZONE,)) as vultr,
        EdgioEmulator(shortnames=(SHORTNAME,)) as edgio,
    ):
        world = World(tmp_path, kube, vultr, edgio)
        try:
            yield world
        finally:
            world.stop_all()


def converged(world: World, name: str = "web", namespace: str = "default") -> bool:
    return world.condition(name, "Ready", namespace).get("status") == "True"
