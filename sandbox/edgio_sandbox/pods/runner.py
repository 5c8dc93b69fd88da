"""The pod runner: the sandbox's stand-in for kubelet (and, with no kube-scheduler, for
the scheduler too), beside the real kube-apiserver and kube-controller-manager.

It registers Nodes with TEST-NET addresses and keeps them Ready with node Lease
heartbeats (so the node lifecycle controller leaves them alone), binds every pending
pod to the node with the fewest of its siblings (a minimal spreading scheduler), and runs
each pod bound to its nodes in a :class:`PodWorker`. It polls the pod list twice a second
rather than watching: a handful of pods, and nothing to resume after a dropped watch.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import requests

from edgio_sandbox.realkube import KUBE_VERSION, RealKube

from .container import timestamp
from .netns import Netns, NetnsError
from .pod import PodWorker

Obj = dict[str, Any]
POLL = 0.5  # seconds between pod listings
LEASE_SECONDS = 40  # kubelet's node lease duration ...
RENEW_SECONDS = 10  # ... and renew interval
POD_NETWORK = ipaddress.ip_network("10.244.0.0/16")


class PodRunnerError(RuntimeError):
    """The runner cannot run pods here (not root, no `ip`): the message says why."""


@dataclass(frozen=True)
class Node:
    name: str
    internal_ip: str
    external_ip: str  # TEST-NET-1 (192.0.2.0/24): documentation addresses, never routed


class PodRunner:
    """Nodes, a scheduler and kubelet for one sandbox's real API server."""

    def __init__(
        self,
        kube: RealKube,
        *,
        nodes: int = 2,
        forward: Sequence[int] = (),
        executable: str | None = None,
        prefix: str = "sandbox-node",
    ):
        self.kube = kube
        self.nodes = [
            Node(f"{prefix}-{i}", f"10.0.0.{10 + i}", f"192.0.2.{10 + i}")
            for i in range(1, nodes + 1)
        ]
        self.forward = sorted({kube.port, *forward})
        self.executable = executable or _installed_command()
        self.directory: Path | None = None
        self._workers: dict[str, PodWorker] = {}
        self._finished: set[str] = set()
        self._addresses: Iterator[ipaddress.IPv4Address] = POD_NETWORK.hosts()  # type: ignore[assignment]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pod-runner", daemon=True)
        self._api = kube.session()
        self._renewed = 0.0

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> Self:
        if os.geteuid() != 0 or shutil.which("ip") is None:
            raise PodRunnerError("running pods needs root and the `ip` command (iproute2)")
        self.directory = Path(tempfile.mkdtemp(prefix="edgio-pods-"))
        for node in self.nodes:
            self._register(node)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        workers = list(self._workers.values())
        for worker in workers:
            worker.stopping.set()
        for worker in workers:
            worker.stop()
        self._workers.clear()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def log(self, namespace: str, pod: str, container: str) -> str:
        """What a container wrote, every run of it (what `kubectl logs` would show, which
        needs a kubelet API this runner does not serve)."""
        assert self.directory is not None, "not started"
        found = self.directory / namespace / pod / f"{container}.log"
        return found.read_text(errors="replace") if found.exists() else ""

    # --- nodes ---------------------------------------------------------------------------

    def _register(self, node: Node) -> None:
        url = self.kube.url
        body = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": node.name,
                "labels": {
                    "kubernetes.io/hostname": node.name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                },
            },
        }
        answer = self._api.post(f"{url}/api/v1/nodes", json=body, timeout=10)
        if answer.status_code != 409:
            answer.raise_for_status()
        created = self._api.get(f"{url}/api/v1/nodes/{node.name}", timeout=10).json()
        self._patch_status(node)
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": node.name,
                "namespace": "kube-node-lease",
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "Node", "name": node.name,
                     "uid": created["metadata"]["uid"]}
                ],
            },
            "spec": {"holderIdentity": node.name, "leaseDurationSeconds": LEASE_SECONDS,
                     "renewTime": _micro_time()},
        }  # fmt: skip
        answer = self._api.post(
            f"{url}/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
            json=lease,
            timeout=10,
        )
        if answer.status_code != 409:
            answer.raise_for_status()

    def _patch_status(self, node: Node) -> None:
        now = timestamp()
        resources = {"cpu": "2", "memory": "4Gi", "pods": "110"}
        conditions = [
            {"type": kind, "status": "False", "reason": f"KubeletHasSufficient{kind[:-8]}"}
            for kind in ("MemoryPressure", "DiskPressure", "PIDPressure")
        ] + [{"type": "Ready", "status": "True", "reason": "KubeletReady",
              "message": "the sandbox pod runner is posting ready status"}]  # fmt: skip
        status = {
            "addresses": [
                {"type": "InternalIP", "address": node.internal_ip},
                {"type": "ExternalIP", "address": node.external_ip},
                {"type": "Hostname", "address": node.name},
            ],
            "capacity": resources,
            "allocatable": resources,
            "conditions": [
                {**c, "lastHeartbeatTime": now, "lastTransitionTime": now} for c in conditions
            ],
            "nodeInfo": {
                "machineID": node.name, "systemUUID": node.name, "bootID": node.name,
                "kernelVersion": os.uname().release, "osImage": "edgio-sandbox",
                "containerRuntimeVersion": "edgio-sandbox://0", "operatingSystem": "linux",
                "architecture": "amd64", "kubeletVersion": f"v{KUBE_VERSION}",
                "kubeProxyVersion": "",
            },
        }  # fmt: skip
        self._api.patch(
            f"{self.kube.url}/api/v1/nodes/{node.name}/status",
            json={"status": status},
            headers={"Content-Type": "application/strategic-merge-patch+json"},
            timeout=10,
        ).raise_for_status()

    def _renew(self) -> None:
        """The node heartbeat, as kubelet's: renew each node's Lease."""
        if time.monotonic() - self._renewed < RENEW_SECONDS:
            return
        for node in self.nodes:
            self._api.patch(
                f"{self.kube.url}/apis/coordination.k8s.io/v1/namespaces/kube-node-lease"
                f"/leases/{node.name}",
                json={"spec": {"renewTime": _micro_time()}},
                headers={"Content-Type": "application/merge-patch+json"},
                timeout=10,
            )
        self._renewed = time.monotonic()

    # --- pods ----------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._renew()
                self._sync()
            except requests.RequestException as error:  # the server may be stopping
                print(f"pod runner: {error}", file=sys.stderr)
            self._stopping.wait(POLL)

    def _sync(self) -> None:
        answer = self._api.get(f"{self.kube.url}/api/v1/pods", timeout=10)
        answer.raise_for_status()
        pods: list[Obj] = answer.json()["items"]
        ours = {node.name: node for node in self.nodes}
        listed = set()
        for pod in pods:
            uid = pod["metadata"]["uid"]
            listed.add(uid)
            node_name = pod["spec"].get("nodeName")
            if not node_name:
                self._schedule(pod, pods)
            elif node_name in ours:
                self._run(pod, ours[node_name])
        for uid in list(self._workers):
            worker = self._workers[uid]
            if uid not in listed:  # deleted at once (grace 0, or forced): kill
                worker.stopping.set()
            if worker.done.is_set():
                self._finished.add(uid)
                del self._workers[uid]

    def _schedule(self, pod: Obj, pods: list[Obj]) -> None:
        """Bind to the node with the fewest pods of the same owner, then the fewest pods."""
        meta, spec = pod["metadata"], pod["spec"]
        if meta.get("deletionTimestamp") or spec.get("schedulerName", "default-scheduler") != (
            "default-scheduler"
        ):
            return
        owner = _controller(pod)

        def load(node: Node) -> tuple[int, int]:
            here = [p for p in pods if p["spec"].get("nodeName") == node.name and _active(p)]
            siblings = [p for p in here if owner and _controller(p) == owner]
            return len(siblings), len(here)

        node = min(self.nodes, key=load)
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": meta["name"]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node.name},
        }
        path = f"{self.kube.url}/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/binding"
        self._api.post(path, json=binding, timeout=10)  # a conflict: bound meanwhile
        spec["nodeName"] = node.name  # so the next pod of this listing counts it

    def _run(self, pod: Obj, node: Node) -> None:
        uid = pod["metadata"]["uid"]
        if uid in self._workers:
            self._workers[uid].update(pod)
            return
        if uid in self._finished or not _active(pod):
            return
        assert self.directory is not None
        meta = pod["metadata"]
        worker = PodWorker(
            pod,
            api=self.kube.session,
            url=self.kube.url,
            kubeconfig=lambda path, token: self.kube.kubeconfig(path, token),
            netns=Netns(f"edgio-{uid[:18]}", str(next(self._addresses))),
            host_ip=node.internal_ip,
            forward=self.forward,
            executable=self.executable,
            directory=self.directory / meta["namespace"] / meta["name"],
        )
        self._workers[uid] = worker
        worker.update(pod)
        worker.start()


def _installed_command() -> str:
    """The `edgio-ingress` command beside this Python (the virtualenv's), else on PATH."""
    beside = Path(sys.executable).parent / "edgio-ingress"
    if beside.exists():
        return str(beside)
    found = shutil.which("edgio-ingress")
    if found is None:
        raise PodRunnerError("no `edgio-ingress` command installed: `pip install edgio-ingress`")
    return found


def _controller(pod: Obj) -> str | None:
    """The uid of the pod's controller (its ReplicaSet or Job), if any."""
    owners = pod["metadata"].get("ownerReferences") or []
    return next((o["uid"] for o in owners if o.get("controller")), None)


def _active(pod: Obj) -> bool:
    return pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")


def _micro_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


__all__ = ["NetnsError", "Node", "PodRunner", "PodRunnerError"]
