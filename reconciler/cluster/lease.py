"""Leader election on a `coordination.k8s.io/v1` Lease, as client-go does it.

Only the holder of the Lease writes. A holder renews every `retry` seconds; a Lease not
renewed for `duration` seconds is free, judged both by its renewTime and by how long we
have watched it stand still (so a clock skew cannot hand it over early). Releasing (on
exit) empties the holder, so the next candidate, such as the next `run --once` of the
drift-correction CronJob, takes it at once instead of waiting the duration out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from kubernetes import client
from kubernetes.client.exceptions import ApiException

log = structlog.get_logger(__name__)
DURATION = 15.0
RENEW_DEADLINE = 10.0
RETRY = 2.0


def _micro(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: Any) -> datetime | None:
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


class LeaseElector:
    def __init__(
        self,
        coordination: client.CoordinationV1Api,
        name: str,
        namespace: str,
        identity: str,
        *,
        duration: float = DURATION,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._api: Any = coordination  # dict bodies; the signatures name models
        self.name, self.namespace, self.identity = name, namespace, identity
        self.duration = duration
        self._clock = clock
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0
        self.leading = False
        self.last_renewal = 0.0

    def try_acquire(self) -> bool:
        """One attempt to take or renew the Lease; True while we hold it."""
        try:
            lease = self._read()
            if lease is None:
                self._create()
            elif not self._free_or_ours(lease):
                self.leading = False
                return False
            else:
                self._take(lease)
        except ApiException as error:
            log.info("lease not taken", lease=self.name, status=error.status)
            self.leading = False
            return False
        if not self.leading:
            log.info("leading", lease=f"{self.namespace}/{self.name}", identity=self.identity)
        self.leading = True
        self.last_renewal = self._clock()
        return True

    def release(self) -> None:
        """Hand the Lease back, if ours, so the next candidate need not wait."""
        if not self.leading:
            return
        self.leading = False
        try:
            lease = self._read()
            if lease is None or _spec(lease).get("holderIdentity") != self.identity:
                return
            now = _micro(datetime.now(UTC))
            lease["spec"].update(
                {"holderIdentity": None, "leaseDurationSeconds": 1, "renewTime": now}
            )
            self._api.replace_namespaced_lease(self.name, self.namespace, lease)
            log.info("lease released", lease=f"{self.namespace}/{self.name}")
        except ApiException as error:
            log.warning("lease not released", status=error.status)

    def _read(self) -> dict[str, Any] | None:
        try:
            lease = self._api.read_namespaced_lease(self.name, self.namespace)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        found: dict[str, Any] = self._api.api_client.sanitize_for_serialization(lease)
        return found

    def _free_or_ours(self, lease: dict[str, Any]) -> bool:
        spec = _spec(lease)
        holder = spec.get("holderIdentity")
        if not holder or holder == self.identity:
            return True
        seen = (holder, spec.get("renewTime"), spec.get("leaseTransitions"))
        if seen != self._observed:
            self._observed, self._observed_at = seen, self._clock()
        duration = float(spec.get("leaseDurationSeconds") or self.duration)
        renewed = _parse(spec.get("renewTime"))
        stale_by_clock = renewed is None or (
            (datetime.now(UTC) - renewed).total_seconds() > duration
        )
        stale_by_watching = self._clock() - self._observed_at > duration
        return stale_by_clock or stale_by_watching

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
        self._api.create_namespaced_lease(self.namespace, body)

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
        self._api.replace_namespaced_lease(self.name, self.namespace, lease)


def _spec(lease: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = lease.get("spec") or {}
    return spec
