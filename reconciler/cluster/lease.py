"""Leader election on a `coordination.k8s.io/v1` Lease, judged as client-go judges it.

Only the holder of the Lease writes. The holder renews every `retry` seconds and holds
the Lease for as long as its last successful renewal, on its own monotonic clock, is
younger than the renew deadline (shorter than the lease duration); a renewal that fails
in any way (refused, reset, hung past its timeout, a 5xx, any exception) is simply not a
renewal, and once the deadline passes without one, leadership is over for good.

A candidate takes a Lease held by another only after it has itself watched the record
(holder, times, transitions, resourceVersion) stand still for a whole lease duration on
its own monotonic clock. The holder's timestamps are never compared with our wall clock,
so replicas whose clocks differ by minutes still never both lead; and since the holder
stops writing at the renew deadline while a candidate waits the whole duration, their
writes never overlap. Every take and renewal is a replace conditional on the
resourceVersion read, so two candidates cannot both win one record.

Releasing (on exit) empties the holder, so the next candidate, such as the next
`run --once` of the drift-correction CronJob, takes it at once instead of waiting the
duration out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from reconciler.fence import Fence

log = structlog.get_logger(__name__)
DURATION = 15.0
RENEW_DEADLINE = 10.0
RETRY = 2.0
# (connect, read) of every Lease call: a renewal is a read and a replace, so even two
# hung calls end well inside the renew deadline.
CALL_TIMEOUT = (2.0, 2.0)


def _micro(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _describe(error: Exception) -> str:
    if isinstance(error, ApiException):
        return f"HTTP {error.status}"
    return f"{type(error).__name__}: {error}"[:200]


class LeaseElector:
    def __init__(
        self,
        coordination: client.CoordinationV1Api,
        name: str,
        namespace: str,
        identity: str,
        *,
        duration: float = DURATION,
        renew_deadline: float = RENEW_DEADLINE,
        retry: float = RETRY,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not retry < renew_deadline < duration:
            raise ValueError("the Lease needs retry < renew deadline < duration")
        self._api: Any = coordination  # dict bodies; the signatures name models
        self.name, self.namespace, self.identity = name, namespace, identity
        self.duration, self.renew_deadline, self.retry = duration, renew_deadline, retry
        self._clock = clock
        self.fence = Fence(renew_deadline, clock)
        self.leading = False
        self.lost = threading.Event()  # we led and no longer do: never campaign again
        self._released = False
        self._lock = threading.Lock()  # one call on the Lease at a time: a release waits
        self._last_renewal = 0.0
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0

    def try_acquire(self) -> bool:
        """One attempt to take or renew the Lease; True while we hold it. Never raises."""
        with self._lock:
            if self.leading and self._clock() - self._last_renewal >= self.renew_deadline:
                self._lose(f"not renewed within the renew deadline ({self.renew_deadline:g} s)")
            if self.lost.is_set() or self._released:
                return False
            started = self._clock()
            if self._attempted():
                if not self.leading:
                    where = f"{self.namespace}/{self.name}"
                    log.info("leading", lease=where, identity=self.identity)
                self.leading, self._last_renewal = True, started
                self.fence.renewed(started)
            elif self.leading and self._clock() - self._last_renewal >= self.renew_deadline:
                self._lose(f"not renewed within the renew deadline ({self.renew_deadline:g} s)")
            return self.leading

    def _attempted(self) -> bool:
        try:
            return self._attempt()
        except Exception as error:  # any failure is a renewal that did not happen
            what = "lease not renewed" if self.leading else "lease not taken"
            log.info(what, lease=self.name, error=_describe(error))
            return False

    def campaign(self, stop: threading.Event, on_change: Callable[[], None]) -> None:
        """Take, then renew, every `retry` seconds until `stop` or until leadership is
        lost; `on_change` is told when we start or stop leading."""
        while not stop.is_set() and not self.lost.is_set():
            was_leading = self.leading
            self.try_acquire()
            if self.leading != was_leading:
                on_change()
            stop.wait(self.retry)

    def release(self) -> None:
        """Hand the Lease back, if ours, so the next candidate need not wait. The fence
        closes first: nothing of ours is written once the release is on its way."""
        self.fence.end("the Lease was released")
        with self._lock:  # after a renewal in flight, and none after it
            self._released = True
            if self.leading:
                self.leading = False
                self._hand_back()

    def _hand_back(self) -> None:
        try:
            lease = self._read()
            if lease is None or _spec(lease).get("holderIdentity") != self.identity:
                return
            now = _micro(datetime.now(UTC))
            lease["spec"].update(
                {"holderIdentity": None, "leaseDurationSeconds": 1, "renewTime": now}
            )
            self._api.replace_namespaced_lease(
                self.name, self.namespace, lease, _request_timeout=CALL_TIMEOUT
            )
            log.info("lease released", lease=f"{self.namespace}/{self.name}")
        except Exception as error:  # the holder stopped renewing: it expires anyway
            log.warning("lease not released", error=_describe(error))

    def _lose(self, why: str) -> None:
        self.leading = False
        self.fence.end(f"leadership lost: {why}")
        self.lost.set()
        log.warning("leadership lost", lease=f"{self.namespace}/{self.name}", why=why)

    def _attempt(self) -> bool:
        lease = self._read()
        if lease is None:
            self._create()
            return True
        holder = _spec(lease).get("holderIdentity")
        if holder and holder != self.identity and not self._expired(lease):
            if self.leading:
                self._lose(f"the Lease is held by {holder}")
            return False
        self._take(lease)
        return True

    def _expired(self, lease: dict[str, Any]) -> bool:
        """True once we have watched this record stand still for its whole duration."""
        spec, metadata = _spec(lease), lease.get("metadata") or {}
        record = (
            spec.get("holderIdentity"),
            spec.get("renewTime"),
            spec.get("acquireTime"),
            spec.get("leaseTransitions"),
            spec.get("leaseDurationSeconds"),
            metadata.get("resourceVersion"),
        )
        if record != self._observed:
            self._observed, self._observed_at = record, self._clock()
        duration = float(spec.get("leaseDurationSeconds") or self.duration)
        return self._clock() - self._observed_at >= duration

    def _read(self) -> dict[str, Any] | None:
        try:
            lease = self._api.read_namespaced_lease(
                self.name, self.namespace, _request_timeout=CALL_TIMEOUT
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        found: dict[str, Any] = self._api.api_client.sanitize_for_serialization(lease)
        return found

    def _create(self) -> None:
        now = _micro(datetime.now(UTC))
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": int(self.duration),
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": 0,
            },
        }
        self._api.create_namespaced_lease(self.namespace, body, _request_timeout=CALL_TIMEOUT)

    def _take(self, lease: dict[str, Any]) -> None:
        spec = lease.setdefault("spec", {})
        now = _micro(datetime.now(UTC))
        if spec.get("holderIdentity") != self.identity:
            spec["acquireTime"] = now
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        spec.update(
            {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": int(self.duration),
                "renewTime": now,
            }
        )
        self._api.replace_namespaced_lease(
            self.name, self.namespace, lease, _request_timeout=CALL_TIMEOUT
        )


def _spec(lease: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = lease.get("spec") or {}
    return spec
