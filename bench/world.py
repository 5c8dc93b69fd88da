"""The sandbox a scenario runs in: the three emulators, the workload, and what they saw.

The emulators run in the benchmark's process; the controller (or the seed's algorithm)
runs in a process of its own and reaches them over loopback, as it would reach the real
APIs. Every provider call is counted where it arrives, by the emulators
(`EmulatorServer.calls`), never by our clients. Two small subclasses add what only a
benchmark needs, without changing the emulators' behaviour:

- `BenchVultr` checks, after every write it serves, whether the origin name still has an
  A record, and adds up the seconds it had none (exact, where a sampling thread could
  miss a gap of a millisecond);
- `BenchEdgio` notes when each create finished, by published path, so an edit's
  reaction time ends when the new rule exists, not when our client hears about it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from edgio_sandbox.edgio import MAX_PAGE_SIZE, EdgioEmulator, _natural_key
from edgio_sandbox.httpbase import Request, Response
from edgio_sandbox.kube import KubeEmulator
from edgio_sandbox.vultr import VultrEmulator

ZONE = "example.com"
ORIGIN_NAME = "origin"
ORIGIN = f"{ORIGIN_NAME}.{ZONE}"
SHORTNAME = "exampleco"
HOST = "exampleco.s.llnwi.net"
NAMESPACES = 50
SERVICES_PER_NAMESPACE = 20  # NodePorts are a scarce range (30000-32767): share Services
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REPO = Path(__file__).resolve().parents[1]
CRD_FILE = REPO / "crds" / "edgioroute.yaml"
Obj = dict[str, Any]


class BenchVultr(VultrEmulator):
    """A Vultr emulator that knows how long the origin name resolved to nothing."""

    name = "vultr"

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._origin_lock = threading.Lock()
        self._seen = False  # the origin had records once: emptiness from then on counts
        self._empty_since: float | None = None
        self.empty_seconds = 0.0
        self.empty_episodes = 0

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        if request.method in WRITES:
            self._check_origin()
        return response

    def origin_addresses(self) -> list[str]:
        return sorted(
            r["data"] for r in self.records(ZONE) if r["type"] == "A" and r["name"] == ORIGIN_NAME
        )

    def _check_origin(self) -> None:
        count = len(self.origin_addresses())
        now = time.monotonic()
        with self._origin_lock:
            if count and self._empty_since is not None:
                self.empty_seconds += now - self._empty_since
                self._empty_since = None
            elif not count and self._seen and self._empty_since is None:
                self._empty_since = now
                self.empty_episodes += 1
            self._seen = self._seen or count > 0

    def origin_empty(self) -> tuple[float, int]:
        """Seconds without any A record since the origin first had one, and how often."""
        with self._origin_lock:
            open_gap = time.monotonic() - self._empty_since if self._empty_since else 0.0
            return self.empty_seconds + open_gap, self.empty_episodes

    def reset_origin_watch(self) -> None:
        with self._origin_lock:
            self.empty_seconds, self.empty_episodes = 0.0, 0
            self._empty_since = None


class BenchEdgio(EdgioEmulator):
    """An Edgio emulator that notes when each create of a published path finished.

    It also gives the same answers with less work per request, so that 15,000 rules
    measure the controller rather than the emulator: the emulator checks a create for a
    duplicate host + path by scanning every instance (quadratic over a run of creates),
    and renders every instance of the account for each page of a listing. Here an index
    names the candidates (each checked against the instance as it is now, so a stale
    entry can only be skipped, never wrongly refuse), and only the page is rendered.
    The benchmark uses no out-of-band edits, whose paths the index does not follow.
    """

    name = "edgio"

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._created_lock = threading.Lock()
        self.created_at: dict[str, float] = {}
        self._by_key: dict[tuple[str, Any], set[str]] = {}

    def _check_unique(self, shortname: str, body: Obj, uuid: str | None) -> None:
        key = _natural_key(body)
        for other_id in sorted(self._by_key.get((shortname, key), ())):
            other = self._instances.get(other_id)
            if other is None or other_id == uuid or _natural_key(other.latest.body) != key:
                continue
            super()._check_unique(shortname, body, uuid)  # the emulator's own answer

    def _store(self, shortname: str, body: Obj, author: str, published_at: float) -> Any:
        instance = super()._store(shortname, body, author, published_at)
        self._index(instance)
        return instance

    def _add_version(self, instance: Any, body: Obj, author: str) -> None:
        super()._add_version(instance, body, author)
        self._index(instance)

    def _index(self, instance: Any) -> None:
        key = (instance.shortname, _natural_key(instance.latest.body))
        self._by_key.setdefault(key, set()).add(instance.uuid)

    def _list(self, request: Request, shortname: str, *, search: bool) -> Response:
        if search or self.list_total or self.newest_first:
            return super()._list(request, shortname, search=search)
        self._require_access(shortname)
        size = min(self._int_param(request, "size", 100, MAX_PAGE_SIZE), self.max_page_size)
        page = self._int_param(request, "page", 1, None)
        start = (page - 1) * size
        found = [i for i in self._instances.values() if i.shortname == shortname]
        return Response.json(
            200, {"results": [self._render(i) for i in found[start : start + size]]}
        )

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        if request.method == "POST" and 200 <= response.status < 300:
            try:
                path = (request.json().get("body") or {}).get("publishedUrlPath")
            except Exception:  # not a create we can read: not an edit we wait for
                path = None
            if isinstance(path, str):
                with self._created_lock:
                    self.created_at[path] = time.monotonic()
        return response

    def created(self, path: str) -> float | None:
        with self._created_lock:
            return self.created_at.get(path)


# --- the workload -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Workload:
    """N Ingresses over 50 namespaces, one or two paths each, and some Nodes."""

    routes: int
    nodes: int

    def namespaces(self) -> list[str]:
        return [f"ns-{i:02d}" for i in range(NAMESPACES)]

    def services_per_namespace(self) -> int:
        return max(1, min(SERVICES_PER_NAMESPACE, -(-self.routes // NAMESPACES)))

    def ingress(self, index: int, *, paths: tuple[str, ...] | None = None) -> Obj:
        namespace = f"ns-{index % NAMESPACES:02d}"
        service = f"svc-{(index // NAMESPACES) % self.services_per_namespace():02d}"
        chosen = paths or self.paths(index)
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": f"ing-{index:05d}",
                "namespace": namespace,
                "labels": {"cdn": "edgio"},
            },
            "spec": {
                "rules": [
                    {
                        "host": HOST,
                        "http": {
                            "paths": [
                                {
                                    "path": path,
                                    "pathType": "Exact",
                                    "backend": {
                                        "service": {"name": service, "port": {"name": "http"}}
                                    },
                                }
                                for path in chosen
                            ]
                        },
                    }
                ]
            },
        }

    @staticmethod
    def paths(index: int) -> tuple[str, ...]:
        """Every other Ingress has two paths: 1.5 rules per Ingress on average."""
        if index % 2:
            return (f"/r{index}/a",)
        return (f"/r{index}/a", f"/r{index}/b")

    def rule_count(self) -> int:
        return sum(len(self.paths(i)) for i in range(self.routes))

    def services(self) -> Iterator[Obj]:
        for namespace in self.namespaces():
            for s in range(self.services_per_namespace()):
                yield {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": f"svc-{s:02d}", "namespace": namespace},
                    "spec": {
                        "type": "NodePort",
                        "selector": {"app": f"svc-{s:02d}"},
                        "ports": [{"name": "http", "port": 80, "targetPort": 8000}],
                    },
                }

    @staticmethod
    def node(index: int, ready: bool = True) -> Obj:
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": f"node-{index:03d}"},
            "status": {
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                "addresses": [
                    {"type": "InternalIP", "address": f"10.0.{index // 250}.{index % 250 + 1}"},
                    {"type": "ExternalIP", "address": node_address(index)},
                ],
            },
        }


def node_address(index: int) -> str:
    return f"203.0.{113 + index // 250}.{index % 250 + 1}"


# --- the sandbox --------------------------------------------------------------------------


class World:
    """Three emulators, seeded with a workload, and a process under test."""

    def __init__(self, workdir: Path, workload: Workload):
        self.workdir = workdir
        self.workload = workload
        self.kube = KubeEmulator()
        # No server-side rate limit at emulator speed: our clients pace themselves, and
        # the scenarios that need the real pace switch it on in the client.
        self.vultr = BenchVultr(zones=(ZONE,), rate_limit=None)
        self.edgio = BenchEdgio(shortnames=(SHORTNAME,))
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.headers["Authorization"] = "Bearer sandbox-token"
        self.node_count = workload.nodes
        self.present = list(range(workload.nodes))  # node indexes, oldest first

    def __enter__(self) -> World:
        self.kube.start()
        self.vultr.start()
        self.edgio.start()
        self.kubeconfig = self.kube.kubeconfig(self.workdir / "kubeconfig")
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        for server in (self.edgio, self.vultr, self.kube):
            server.stop()

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("VULTR_", "EDGIO_"))}
        return {
            **keep,
            "KUBECONFIG": str(self.kubeconfig),
            **self.vultr.env(),
            **self.edgio.env(),
        }

    def seed(self) -> None:
        """The CRD, namespaces, Services, Nodes and Ingresses, straight into the store."""
        for crd in yaml.safe_load_all(CRD_FILE.read_text()):
            if crd:
                self.kube.seed(crd)
        for namespace in self.workload.namespaces():
            self.kube.seed(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            )
        for service in self.workload.services():
            self.kube.seed(service)
        for index in range(self.workload.nodes):
            self.kube.seed(self.workload.node(index))
        for index in range(self.workload.routes):
            self.kube.seed(self.workload.ingress(index))

    # --- changes, through the API as a user would make them ------------------------------

    def edit_path(self, index: int, path: str) -> None:
        ingress = self.workload.ingress(index, paths=(path,))
        namespace, name = ingress["metadata"]["namespace"], ingress["metadata"]["name"]
        url = f"{self.kube.url}/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/{name}"
        response = self.http.patch(
            url,
            json={"spec": ingress["spec"]},
            headers={"Content-Type": "application/merge-patch+json"},
            timeout=30,
        )
        response.raise_for_status()

    def delete_ingress(self, index: int) -> None:
        ingress = self.workload.ingress(index)
        namespace, name = ingress["metadata"]["namespace"], ingress["metadata"]["name"]
        url = f"{self.kube.url}/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/{name}"
        self.http.delete(url, timeout=30).raise_for_status()

    def join_node(self) -> str:
        index = self.node_count
        self.node_count += 1
        self.present.append(index)
        url = f"{self.kube.url}/api/v1/nodes"
        self.http.post(url, json=self.workload.node(index), timeout=30).raise_for_status()
        return node_address(index)

    def leave_node(self) -> str:
        index = self.present.pop()
        url = f"{self.kube.url}/api/v1/nodes/node-{index:03d}"
        self.http.delete(url, timeout=30).raise_for_status()
        return node_address(index)

    # --- what the emulators hold and saw --------------------------------------------------

    def ready_addresses(self) -> list[str]:
        found = []
        for node in self.kube.list("v1", "Node"):
            ready = any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in node.get("status", {}).get("conditions", [])
            )
            for address in node.get("status", {}).get("addresses", []):
                if ready and address["type"] == "ExternalIP":
                    found.append(address["address"])
        return sorted(found)

    def ready_routes(self) -> int:
        """EdgioRoutes whose Ready condition is True, read from the store without copies."""
        count = 0
        for route in self.kube.store.items(("cdn.edgio.io", "edgioroutes"), None):
            for condition in (route.get("status") or {}).get("conditions") or []:
                if condition.get("type") == "Ready" and condition.get("status") == "True":
                    count += 1
        return count

    def wrong_routes(self, ingresses: dict[int, tuple[str, ...]], deleted: set[int]) -> int:
        """Routes the CDN serves wrongly: a rule missing or pointing elsewhere, a rule left
        behind by a deleted Ingress, or (for every route, since they share it) an origin
        name whose addresses are not the Ready nodes'."""
        ports = self._node_ports()
        expected: dict[str, tuple[str, int]] = {}
        for index, paths in ingresses.items():
            ingress = self.workload.ingress(index, paths=paths)
            namespace = ingress["metadata"]["namespace"]
            service = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
            for path in paths:
                expected[path] = (ingress["metadata"]["name"], ports[(namespace, service)])
        served: dict[str, tuple[str, Any]] = {}
        for instance in self.edgio.instances(SHORTNAME):
            body = instance.get("body") or {}
            sets = body.get("protocolSets") or [{}]
            served[body.get("publishedUrlPath", "")] = (
                body.get("sourceHostname", ""),
                sets[0].get("sourcePort"),
            )
        origin_ok = self.vultr.origin_addresses() == self.ready_addresses()
        wrong = set()
        for path, (name, port) in expected.items():
            if not origin_ok or served.get(path) != (ORIGIN, port):
                wrong.add(name)
        for index in deleted:
            if any(path in served for path in self.workload.paths(index)):
                wrong.add(f"deleted-{index}")
        return len(wrong)

    def _node_ports(self) -> dict[tuple[str, str], int]:
        ports = {}
        for service in self.kube.store.items(("", "services"), None):
            metadata = service["metadata"]
            ports[(metadata["namespace"], metadata["name"])] = service["spec"]["ports"][0][
                "nodePort"
            ]
        return ports


@dataclass
class Calls:
    """Requests the three emulators served between two moments, by method and route."""

    vultr: Counter[str]
    edgio: Counter[str]
    kube: Counter[str]

    def provider_total(self) -> int:
        return sum(self.vultr.values()) + sum(self.edgio.values())

    def provider_writes(self) -> int:
        return _writes(self.vultr) + _writes(self.edgio)

    def vultr_writes(self) -> int:
        return _writes(self.vultr)

    def edgio_writes(self) -> int:
        return _writes(self.edgio)

    def kube_total(self) -> int:
        return sum(self.kube.values())

    def kube_writes(self) -> int:
        return _writes(self.kube)

    def documented_seconds(self) -> float:
        """The time these provider calls take at the providers' documented pace, one
        after another: Edgio one request per 1.2 s, Vultr 30 per second."""
        return sum(self.edgio.values()) * 1.2 + sum(self.vultr.values()) / 30.0

    def by_method(self) -> dict[str, dict[str, int]]:
        return {
            "vultr": dict(sorted(self.vultr.items())),
            "edgio": dict(sorted(self.edgio.items())),
        }


def _writes(counter: Counter[str]) -> int:
    return sum(n for label, n in counter.items() if label.split(" ", 1)[0] in WRITES)


def _snapshot(server: Any, by_path: bool) -> Counter[str]:
    counted: Counter[str] = Counter()
    for (method, route), n in server.calls().items():
        counted[f"{method} {route}" if by_path else method] += n
    return counted


@contextmanager
def counting(world: World) -> Iterator[Calls]:
    """The calls the emulators served inside the block (filled in when it ends)."""
    before = (
        _snapshot(world.vultr, True),
        _snapshot(world.edgio, True),
        _snapshot(world.kube, False),
    )
    calls = Calls(Counter(), Counter(), Counter())
    yield calls
    after = (
        _snapshot(world.vultr, True),
        _snapshot(world.edgio, True),
        _snapshot(world.kube, False),
    )
    calls.vultr, calls.edgio, calls.kube = (a - b for a, b in zip(after, before, strict=True))


def wait_for(probe: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    """Poll with a deadline; every loop of the benchmark is bounded in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(step)
    return probe()


def spawn(module: str, env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    """A process of this interpreter running `module`, JSON lines on its stdin/stdout."""
    path = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return subprocess.Popen(
        [sys.executable, "-m", module],
        env={**env, "PYTHONPATH": path},
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        bufsize=1,
    )
