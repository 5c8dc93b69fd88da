"""Events leave the pass at once: queued, sent by one thread, dropped (counted) when the
queue is full, flushed before the process exits, and sent only while the Lease is held."""

from __future__ import annotations

import threading
import time
from typing import Any

from reconciler.cluster.events import EventRecorder
from reconciler.fence import Fence
from reconciler.metrics import EVENTS_DROPPED

ROUTE = {"apiVersion": "v1", "kind": "Ingress", "metadata": {"name": "web", "uid": "u1"}}


class Raw:
    data = b"{}"

    def release_conn(self) -> None:
        pass


class SlowCore:
    """An API server whose Event writes wait until the test lets them through."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.sending = threading.Event()
        self.created: list[dict[str, Any]] = []
        self.patched: list[dict[str, Any]] = []

    def create_namespaced_event(self, namespace: str, body: Any, **_: Any) -> Raw:
        self.sending.set()
        self.open.wait(10)
        self.created.append(body)
        return Raw()

    def patch_namespaced_event(self, name: str, namespace: str, body: Any, **_: Any) -> Raw:
        self.patched.append(body)
        return Raw()


def test_a_pass_never_waits_and_a_full_queue_drops_counted() -> None:
    core = SlowCore()
    recorder = EventRecorder(core, "test", capacity=2)  # type: ignore[arg-type]
    dropped = EVENTS_DROPPED._value.get()
    recorder.record(ROUTE, "RuleCreated", "rule 0", warning=False)
    assert core.sending.wait(10)  # the sender holds the first
    for index in range(1, 5):  # the queue takes two: two are dropped
        recorder.record(ROUTE, "RuleCreated", f"rule {index}", warning=False)
    assert not recorder.flush(0.05)  # still waiting for the server
    core.open.set()
    assert recorder.flush(10)
    assert len(core.created) == 3
    assert EVENTS_DROPPED._value.get() - dropped == 2


def test_a_repeated_event_is_counted_on_the_first() -> None:
    core = SlowCore()
    core.open.set()
    recorder = EventRecorder(core, "test")  # type: ignore[arg-type]
    for _ in range(3):
        recorder.record(ROUTE, "BackendNotFound", "svc not found", warning=True)
    assert recorder.flush(10)
    assert len(core.created) == 1 and core.created[0]["type"] == "Warning"
    assert [p["count"] for p in core.patched] == [2, 3]


def test_events_queued_when_the_lease_is_gone_are_dropped_not_written() -> None:
    """Events are writes: a process that no longer holds the Lease sends none of them."""
    core = SlowCore()
    recorder = EventRecorder(core, "test")  # type: ignore[arg-type]
    fence = Fence(10.0)
    fence.renewed(time.monotonic())
    recorder.may_send = fence.holds
    recorder.record(ROUTE, "RuleCreated", "rule 0", warning=False)
    assert core.sending.wait(10)  # in flight while the Lease is held: it goes
    recorder.record(ROUTE, "RuleCreated", "rule 1", warning=False)
    fence.end("the Lease was released")
    dropped = EVENTS_DROPPED._value.get()
    core.open.set()
    assert recorder.flush(10)
    assert [e["message"] for e in core.created] == ["rule 0"]
    assert EVENTS_DROPPED._value.get() - dropped == 1
