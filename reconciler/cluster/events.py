"""Kubernetes Events on EdgioRoutes and Ingresses, deduplicated, sent in the background.

The same Event (object, reason, message) is counted, not repeated: a second occurrence
raises the count of the first. A problem is reported when it appears, not on every pass
it lasts, so a route that stays broken for a day has one Event, not 1,440.

As client-go's recorder does, a pass only queues its Events; one thread writes them, so
a pass never waits for the API server on their account (they were half of a first
pass's wall time at 10,000 routes). The queue is bounded: when it is full the Event is
dropped and counted (`edgio_ingress_events_dropped_total`) rather than holding up the
pass. `flush` waits for what is queued, on shutdown and before `run --once` exits.
Which Events were sent is remembered for the last `REMEMBERED` of them (client-go's
correlator keeps 4,096 too), so memory does not grow with every route ever reported.

An Event is a write like any other: it is sent only while `may_send` (the Lease's fence)
says this process still holds the Lease, and dropped, counted, otherwise. A stopping
controller flushes its queue before it releases the Lease, so what its last pass did is
told; an Event still queued once the Lease is gone is dropped, never written by a process
that no longer leads.
"""

from __future__ import annotations

import queue
import secrets
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from reconciler import api
from reconciler.cluster import informer
from reconciler.metrics import EVENTS_DROPPED

log = structlog.get_logger(__name__)
Obj = dict[str, Any]
MESSAGE_LIMIT = 1024
CAPACITY = 1000  # client-go's queue length
REMEMBERED = 4096


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class _Pending:
    """One Event to write: the involved object's reference, not the object itself."""

    involved: Obj
    reason: str
    message: str
    warning: bool


class EventRecorder:
    def __init__(
        self,
        core: client.CoreV1Api,
        instance: str | None = None,
        capacity: int = CAPACITY,
    ):
        self._core: Any = core  # dict bodies; the signatures name models
        self._instance = instance or socket.gethostname()
        self._queue: queue.Queue[_Pending] = queue.Queue(capacity)
        self._sender: threading.Thread | None = None
        self._start = threading.Lock()
        self._sent: OrderedDict[tuple[str, str, str], tuple[str, str, int]] = OrderedDict()
        self._active: dict[str, set[tuple[str, str]]] = {}
        self.may_send: Callable[[], bool] = lambda: True  # replaceable: the Lease's fence

    def record(self, obj: Obj, reason: str, message: str, *, warning: bool) -> None:
        """Queue one Event; never waits (a full queue drops it, counted)."""
        pending = _Pending(_involved(obj), reason, message[:MESSAGE_LIMIT], warning)
        self._ensure_sender()
        try:
            self._queue.put_nowait(pending)
        except queue.Full:
            EVENTS_DROPPED.inc()
            log.warning("event dropped: queue full", reason=reason)

    def problems(self, obj: Obj, problems: Iterable[tuple[str, str]]) -> None:
        """Warning Events for the problems that are new since the last pass."""
        uid = str((obj.get("metadata") or {}).get("uid") or "")
        current = set(problems)
        for reason, message in sorted(current - self._active.get(uid, set())):
            self.record(obj, reason, message, warning=True)
        if current:
            self._active[uid] = current
        else:
            self._active.pop(uid, None)

    def flush(self, timeout: float) -> bool:
        """Wait until every queued Event was written (or failed); False on timeout."""
        done = self._queue.all_tasks_done
        with done:
            return done.wait_for(lambda: not self._queue.unfinished_tasks, timeout)

    def _ensure_sender(self) -> None:
        with self._start:
            if self._sender is None:
                self._sender = threading.Thread(target=self._send_all, name="events", daemon=True)
                self._sender.start()

    def _send_all(self) -> None:
        while True:
            pending = self._queue.get()
            try:
                self._send(pending)
            except Exception as error:  # the sender must outlive any one Event
                log.warning("event not recorded", reason=pending.reason, error=type(error).__name__)
            finally:
                self._queue.task_done()

    def _send(self, pending: _Pending) -> None:
        if not self.may_send():
            EVENTS_DROPPED.inc()
            log.info("event dropped: the Lease is no longer held", reason=pending.reason)
            return
        involved = pending.involved
        key = (str(involved.get("uid") or ""), pending.reason, pending.message)
        try:
            if key in self._sent:
                name, namespace, count = self._sent[key]
                body = {"count": count + 1, "lastTimestamp": _stamp()}
                informer.body(
                    self._core.patch_namespaced_event(name, namespace, body, _preload_content=False)
                )
                self._remember(key, (name, namespace, count + 1))
                return
            name = f"{involved.get('name')}.{secrets.token_hex(8)}"
            namespace = str(involved["namespace"])
            informer.body(
                self._core.create_namespaced_event(
                    namespace, self._event(pending, name), _preload_content=False
                )
            )
            self._remember(key, (name, namespace, 1))
        except ApiException as error:
            log.warning("event not recorded", reason=pending.reason, status=error.status)

    def _remember(self, key: tuple[str, str, str], sent: tuple[str, str, int]) -> None:
        self._sent[key] = sent
        self._sent.move_to_end(key)
        while len(self._sent) > REMEMBERED:
            self._sent.popitem(last=False)

    def _event(self, pending: _Pending, name: str) -> Obj:
        now = _stamp()
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": pending.involved["namespace"]},
            "involvedObject": pending.involved,
            "reason": pending.reason,
            "message": pending.message,
            "type": "Warning" if pending.warning else "Normal",
            "source": {"component": api.EVENT_SOURCE},
            "reportingComponent": api.EVENT_SOURCE,
            "reportingInstance": self._instance,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }


def _involved(obj: Obj) -> Obj:
    metadata = obj.get("metadata") or {}
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "name": metadata.get("name"),
        "namespace": metadata.get("namespace") or "default",
        "uid": metadata.get("uid"),
        "resourceVersion": metadata.get("resourceVersion"),
    }
