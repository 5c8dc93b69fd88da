"""Throughput of the Kubernetes API emulator.

Simple requests (create, get) from one client, the time of one list of 10,000 small
objects, and watch fan-out (N watchers each receiving M events), driven through plain
``requests`` with keep-alive and through the official ``kubernetes`` client. The
controller's tests and the demo run on this server, so these numbers bound how large a
sandbox scenario can be.

Tests run the emulator inside the test process, where client and server share one GIL;
the demo runs it as its own process (``python -m edgio_sandbox.kube``). Both are
measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from kubernetes import client, watch

from bench import Measurement, timed
from edgio_sandbox.kube import KubeEmulator

PLAIN = "requests keep-alive"
OFFICIAL = "kubernetes client"
TOKEN = "sandbox-token"
CONFIGMAPS = "/api/v1/namespaces/{namespace}/configmaps"
NAMESPACES = "/api/v1/namespaces"


@dataclass(frozen=True, slots=True)
class Sizes:
    requests: int = 2000
    list_objects: int = 10_000
    list_repeats: int = 3
    watchers: int = 50
    events: int = 200
    client_watchers: int = 10

    @classmethod
    def quick(cls) -> Sizes:
        return cls(requests=200, list_objects=1000, list_repeats=1, watchers=5, events=20)


@dataclass(frozen=True, slots=True)
class Server:
    """One running emulator as the benchmarks see it."""

    url: str
    where: str  # "in-process" or "own process", shown in the client column
    session: requests.Session
    core: Any  # kubernetes.client.CoreV1Api

    def namespace(self, name: str) -> str:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        self.session.post(self.url + NAMESPACES, json=body).raise_for_status()
        return name

    def configmaps(self, namespace: str) -> str:
        return self.url + CONFIGMAPS.format(namespace=namespace)

    def label(self, client_name: str) -> str:
        return f"{client_name}, {self.where}"


def run(quick: bool = False) -> list[Measurement]:
    sizes = Sizes.quick() if quick else Sizes()
    results: list[Measurement] = []
    with KubeEmulator(gc=False) as kube:
        server = _server(kube.url, "in-process")
        results += _simple_requests(server, sizes.requests)
        results += _list(server, sizes, kube)
        results += _watches(server, sizes)
    with _own_process() as url:
        server = _server(url, "own process")
        results += _simple_requests(server, sizes.requests)
        results += _watches(server, sizes)
    return results


def _server(url: str, where: str) -> Server:
    session = requests.Session()
    session.trust_env = False  # no proxy lookups from the environment on every call
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    configuration = client.Configuration(
        host=url, api_key={"BearerToken": TOKEN}, api_key_prefix={"BearerToken": "Bearer"}
    )
    return Server(url, where, session, client.CoreV1Api(client.ApiClient(configuration)))


@contextmanager
def _own_process() -> Iterator[str]:
    """The emulator as the demo runs it; its first stdout line is JSON with its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "edgio_sandbox.kube"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield json.loads(process.stdout.readline())["kube"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def config_map(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


def _simple_requests(server: Server, count: int) -> list[Measurement]:
    names = [f"cm-{index}" for index in range(count)]
    plain = server.configmaps(server.namespace("bench-plain"))
    official = server.namespace("bench-client")

    def create_plain() -> None:
        for name in names:
            server.session.post(plain, json=config_map(name)).raise_for_status()

    def get_plain() -> None:
        for name in names:
            server.session.get(f"{plain}/{name}").raise_for_status()

    def create_official() -> None:
        for name in names:
            server.core.create_namespaced_config_map(official, config_map(name))

    def get_official() -> None:
        for name in names:
            server.core.read_namespaced_config_map(name, official)

    return [
        timed("create ConfigMap", server.label(PLAIN), count, create_plain),
        timed("get ConfigMap", server.label(PLAIN), count, get_plain),
        timed("create ConfigMap", server.label(OFFICIAL), count, create_official),
        timed("get ConfigMap", server.label(OFFICIAL), count, get_official),
    ]


def _list(server: Server, sizes: Sizes, kube: KubeEmulator) -> list[Measurement]:
    """One list of many objects, seeded directly into the store (creating 10,000 over
    HTTP would measure creates again)."""
    namespace = server.namespace("bench-list")
    for index in range(sizes.list_objects):
        item = config_map(f"item-{index:05d}")
        item["metadata"]["namespace"] = namespace
        kube.seed(item)
    url = server.configmaps(namespace)
    subject = f"list {sizes.list_objects} ConfigMaps (one request)"

    def list_plain() -> None:
        response = server.session.get(url)
        response.raise_for_status()
        assert len(response.json()["items"]) == sizes.list_objects

    def list_official() -> None:
        items = server.core.list_namespaced_config_map(namespace).items
        assert len(items) == sizes.list_objects

    plain = server.label(PLAIN + " + JSON decode")
    official = server.label(OFFICIAL + " + models")
    return [
        _best(sizes.list_repeats, lambda: timed(subject, plain, 1, list_plain)),
        _best(sizes.list_repeats, lambda: timed(subject, official, 1, list_official)),
    ]


def _best(repeats: int, measure: Callable[[], Measurement]) -> Measurement:
    return min((measure() for _ in range(repeats)), key=lambda m: m.seconds)


# --- watch fan-out -------------------------------------------------------------------------

# A watcher: (server, namespace, from revision, events to see, connected, finished) -> None
Watcher = Callable[[Server, str, str, int, threading.Event, threading.Event], None]


def _watches(server: Server, sizes: Sizes) -> list[Measurement]:
    return [
        _watch_fan_out(server, sizes.watchers, sizes.events, _plain_watch, PLAIN),
        _watch_fan_out(server, sizes.client_watchers, sizes.events, _client_watch, OFFICIAL),
    ]


def _watch_fan_out(
    server: Server, watchers: int, events: int, watcher: Watcher, client_name: str
) -> Measurement:
    """Time from the first write until every watcher has seen all ``events`` events."""
    namespace = server.namespace(f"bench-watch-{watchers}")
    url = server.configmaps(namespace)
    revision = server.session.get(url).json()["metadata"]["resourceVersion"]
    connected = [threading.Event() for _ in range(watchers)]
    finished = [threading.Event() for _ in range(watchers)]
    threads = [
        threading.Thread(
            target=watcher,
            args=(server, namespace, revision, events, connected[i], finished[i]),
            daemon=True,
        )
        for i in range(watchers)
    ]
    for thread in threads:
        thread.start()
    for flag in connected:
        flag.wait(timeout=60)
    started = time.perf_counter()
    for index in range(events):
        server.session.post(url, json=config_map(f"w-{index}")).raise_for_status()
    for flag in finished:
        flag.wait(timeout=120)
    elapsed = time.perf_counter() - started
    if not all(flag.is_set() for flag in finished):
        raise RuntimeError(f"watch fan-out via {client_name}: some watchers missed events")
    return Measurement(
        f"watch fan-out: {watchers} watchers x {events} events (events delivered)",
        server.label(client_name),
        watchers * events,
        elapsed,
    )


def _plain_watch(
    server: Server,
    namespace: str,
    revision: str,
    events: int,
    connected: threading.Event,
    finished: threading.Event,
) -> None:
    params = {"watch": "true", "resourceVersion": revision, "timeoutSeconds": "120"}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with requests.get(
        server.configmaps(namespace), params=params, headers=headers, stream=True, timeout=120
    ) as response:
        connected.set()
        _count_added((json.loads(line) for line in response.iter_lines() if line), events, finished)


def _client_watch(
    server: Server,
    namespace: str,
    revision: str,
    events: int,
    connected: threading.Event,
    finished: threading.Event,
) -> None:
    stream = watch.Watch().stream(  # type: ignore[no-untyped-call]
        server.core.list_namespaced_config_map,
        namespace,
        resource_version=revision,
        timeout_seconds=120,
    )
    # The request goes out on the first next(); starting from `revision`, no event is lost
    # if it goes out after the first write, it only starts the clock a little early.
    connected.set()
    _count_added(stream, events, finished)


def _count_added(stream: Any, events: int, finished: threading.Event) -> None:
    seen = 0
    for event in stream:
        if event["type"] == "ADDED":
            seen += 1
            if seen == events:
                finished.set()
                return
