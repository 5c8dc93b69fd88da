"""Kubernetes Events on EdgioRoutes and Ingresses, deduplicated.

The same Event (object, reason, message) is counted, not repeated: a second occurrence
raises the count of the first. A problem is reported when it appears, not on every pass
it lasts, so a route that stays broken for a day has one Event, not 1,440.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import structlog
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from reconciler import api

log = structlog.get_logger(__name__)
Obj = dict[str, Any]
MESSAGE_LIMIT = 1024


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder:
    def __init__(self, core: client.CoreV1Api, instance: str | None = None):
        self._core: Any = core  # dict bodies; the signatures name models
        self._instance = instance or socket.gethostname()
        self._sent: dict[tuple[str, str, str], tuple[str, str, int]] = {}
        self._active: dict[str, set[tuple[str, str]]] = {}

    def record(self, obj: Obj, reason: str, message: str, *, warning: bool) -> None:
        metadata = obj.get("metadata") or {}
        uid, namespace = str(metadata.get("uid") or ""), metadata.get("namespace") or "default"
        message = message[:MESSAGE_LIMIT]
        key = (uid, reason, message)
        try:
            if key in self._sent:
                name, namespace, count = self._sent[key]
                body = {"count": count + 1, "lastTimestamp": _stamp()}
                self._core.patch_namespaced_event(name, namespace, body)
                self._sent[key] = (name, namespace, count + 1)
                return
            name = f"{metadata.get('name')}.{secrets.token_hex(8)}"
            self._core.create_namespaced_event(
                namespace, self._event(obj, name, namespace, reason, message, warning)
            )
            self._sent[key] = (name, namespace, 1)
        except ApiException as error:
            log.warning("event not recorded", reason=reason, status=error.status)

    def problems(self, obj: Obj, problems: Iterable[tuple[str, str]]) -> None:
        """Warning Events for the problems that are new since the last pass."""
        uid = str((obj.get("metadata") or {}).get("uid") or "")
        current = set(problems)
        for reason, message in sorted(current - self._active.get(uid, set())):
            self.record(obj, reason, message, warning=True)
        self._active[uid] = current

    def _event(
        self, obj: Obj, name: str, namespace: str, reason: str, message: str, warning: bool
    ) -> Obj:
        metadata = obj.get("metadata") or {}
        now = _stamp()
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "name": metadata.get("name"),
                "namespace": namespace,
                "uid": metadata.get("uid"),
                "resourceVersion": metadata.get("resourceVersion"),
            },
            "reason": reason,
            "message": message,
            "type": "Warning" if warning else "Normal",
            "source": {"component": api.EVENT_SOURCE},
            "reportingComponent": api.EVENT_SOURCE,
            "reportingInstance": self._instance,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
