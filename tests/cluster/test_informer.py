"""Our informer over real HTTP against the Kubernetes emulator, with the official client:
a watch that fails resumes from the last resourceVersion without listing, only 410 Gone
lists again, a silent watch is replaced within its read timeout, and a first listing
that fails is retried until it goes through (and the cache says synced only then)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from kubernetes import client

from edgio_sandbox.kube import KubeEmulator
from reconciler.cluster.informer import Informer, Timing
from tests.support import eventually

CONFIGMAPS = "/namespaces/default/configmaps$"
FAST = Timing(first_backoff=0.05, max_backoff=0.2)


class Recorded:
    """The client's list call, recording how it was called: listing or watching."""

    def __init__(self, call: Any):
        self.call = call
        self.seen: list[dict[str, Any]] = []

    def __call__(self, **params: Any) -> Any:
        self.seen.append(params)
        return self.call(**params)

    def lists(self) -> int:
        return sum(1 for params in self.seen if not params.get("watch"))

    def watches(self) -> list[dict[str, Any]]:
        return [params for params in self.seen if params.get("watch")]


class Running:
    def __init__(self, kube: KubeEmulator, timing: Timing):
        self.kube = kube
        self.core: Any = client.CoreV1Api(kube.api_client())
        self.calls = Recorded(self.core.list_namespaced_config_map)
        self.stop = threading.Event()
        self.informer = Informer(
            "configmaps",
            self.calls,
            lambda: None,
            self.stop,
            ("v1", "ConfigMap"),
            timing=timing,
            namespace="default",
        )
        self.thread = self.informer.start()

    def create(self, name: str) -> None:
        self.core.create_namespaced_config_map("default", {"metadata": {"name": name}})

    def cached(self) -> set[str]:
        return {o["metadata"]["name"] for o in self.informer.objects()}

    def close(self) -> None:
        """Stopped, its watch cut so the thread sees it at once."""
        self.stop.set()
        self.kube.faults.clear()

        def stopped() -> bool:
            self.kube.drop_streams()
            return not self.thread.is_alive()

        eventually(stopped)


@pytest.fixture
def kube() -> Iterator[KubeEmulator]:
    with KubeEmulator() as server:
        yield server


@contextmanager
def running(kube: KubeEmulator, timing: Timing = FAST) -> Iterator[Running]:
    started = Running(kube, timing)
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def informer(kube: KubeEmulator) -> Iterator[Running]:
    with running(kube) as started:
        yield started


@pytest.mark.parametrize(
    "fault",
    [
        {"status": None, "reset": True},  # the connection is cut without an answer
        {"status": 500},
        {"status": 403},
        # an ERROR event other than 410, in an answer the server ends at once
        {"status": 200, "body": b'{"type": "ERROR", "object": {"code": 500, "message": "x"}}\n'},
    ],
    ids=["reset", "500", "403", "error-event"],
)
def test_a_failed_watch_resumes_from_its_last_version_without_listing(
    informer: Running, kube: KubeEmulator, fault: dict[str, Any]
) -> None:
    informer.create("a")
    eventually(lambda: informer.cached() == {"a"})
    version = informer.informer.version
    added = kube.faults.add(method="GET", path=CONFIGMAPS, times=3, **fault)
    kube.drop_streams()
    eventually(lambda: added.times == 0)
    informer.create("b")
    eventually(lambda: informer.cached() == {"a", "b"})
    assert informer.calls.lists() == 1, "a failed watch listed again"
    resumed = informer.calls.watches()[1]
    assert resumed["resource_version"] == version


def test_a_watch_asks_to_end_within_about_a_minute(informer: Running) -> None:
    """The default timing: the server ends every watch after 50-70 s, and the client
    gives up on a read a little after that, so a silent watch is not trusted for long."""
    eventually(informer.calls.watches)
    watch = informer.calls.watches()[0]
    assert 50 <= watch["timeout_seconds"] <= 70
    assert 70 < watch["_request_timeout"][1] <= 90


def test_gone_lists_again(informer: Running, kube: KubeEmulator) -> None:
    informer.create("a")
    eventually(lambda: informer.cached() == {"a"})
    kube.faults.add(method="GET", path=CONFIGMAPS, status=500)
    kube.drop_streams()
    eventually(lambda: len(informer.calls.watches()) >= 3)  # resuming, and failing
    informer.create("b")
    kube.compact()  # the version it resumes from is now too old: 410
    kube.faults.clear()
    eventually(lambda: informer.calls.lists() == 2)
    eventually(lambda: informer.cached() == {"a", "b"})


def test_a_silent_watch_is_replaced_within_its_read_timeout(kube: KubeEmulator) -> None:
    with running(kube, Timing(read_timeout=1.0, first_backoff=0.05)) as started:
        eventually(started.informer.synced.is_set)
        # The next watch hangs: the server holds it 30 s without a word.
        hung = kube.faults.add(method="GET", path=CONFIGMAPS, status=None, delay=30.0, times=1)
        kube.drop_streams()
        eventually(lambda: hung.times == 0)
        started.create("late")
        eventually(lambda: started.cached() == {"late"}, timeout=5.0)
        assert started.calls.lists() == 1


def test_a_refused_first_listing_is_retried_until_it_goes_through(kube: KubeEmulator) -> None:
    kube.faults.add(method="GET", path=CONFIGMAPS, status=403, times=4)
    with running(kube) as started:
        eventually(lambda: started.calls.lists() >= 4)
        assert not started.informer.synced.is_set()
        started.create("a")
        eventually(started.informer.synced.is_set)
        assert started.cached() == {"a"}
