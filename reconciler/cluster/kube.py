"""The `Cluster` a pass works with, over the official `kubernetes` client.

Reads come from the informers' caches (a snapshot per pass, no extra requests); writes go
straight to the API server: EdgioRoutes (create, full replace with the stored
resourceVersion, delete), their status subresource, the Ingress status subresource,
finalizers and Events. A write that fails is logged and retried by the next pass. Every
write asks the fence first (`fence`, set by the command to the Lease's): a process that
no longer holds the Lease, or is stopping, raises LeadershipLost instead of writing.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from reconciler import api
from reconciler.cluster import trim
from reconciler.cluster.base import ClusterReadFailed, ClusterWriteFailed, Snapshot
from reconciler.cluster.config import ClusterUnreachable
from reconciler.cluster.events import EventRecorder
from reconciler.cluster.informer import DEFAULT_TIMING, Informer, Timing, body, describe
from reconciler.derive.ingress import object_key
from reconciler.fence import unfenced
from reconciler.plan.routeset import RouteWrite, WriteAction
from reconciler.report.status import IngressHostnames, load_balancer_entries

log = structlog.get_logger(__name__)
Obj = dict[str, Any]
CONFLICT_ATTEMPTS = 3  # writes of one Ingress's status per pass before the next pass retries


class KubeCluster:
    """Caches of Ingresses, IngressClasses, EdgioRoutes, Services and Nodes, and writes."""

    def __init__(
        self,
        api_client: client.ApiClient,
        namespaces: Sequence[str] = (),
        wake: Callable[[], None] = lambda: None,
        secret: tuple[str, str] | None = None,
        timing: Timing = DEFAULT_TIMING,
        progress: Callable[[], None] = lambda: None,
    ):
        self.api_client = api_client
        self.stop = threading.Event()
        self.wake = wake  # replaceable: the loop is built after the cluster
        self.timing = timing
        self.secret = secret  # read by name when asked (`secret_values`), never listed
        self._progress = progress  # told of every write that went through (liveness)
        self.fence: Callable[[], None] = unfenced  # replaceable, as `wake` is
        # Typed as Any: the generated signatures want str where our dicts hold Any.
        self._core: Any = client.CoreV1Api(api_client)
        self._networking: Any = client.NetworkingV1Api(api_client)
        self._custom: Any = client.CustomObjectsApi(api_client)
        self.events = EventRecorder(self._core)
        self.informers: dict[str, list[Informer]] = {
            "ingresses": self._namespaced(
                ("networking.k8s.io/v1", "Ingress"),
                self._networking.list_ingress_for_all_namespaces,
                self._networking.list_namespaced_ingress,
                namespaces,
                ignored=("status",),  # our own load-balancer hostnames
            ),
            "ingressclasses": [
                self._informer(
                    "ingressclasses",
                    self._networking.list_ingress_class,
                    ("networking.k8s.io/v1", "IngressClass"),
                )
            ],
            "edgioroutes": self._routes(namespaces),
            "services": self._namespaced(
                ("v1", "Service"),
                self._core.list_service_for_all_namespaces,
                self._core.list_namespaced_service,
                namespaces,
                transform=trim.service,
            ),
            "nodes": [
                self._informer("nodes", self._core.list_node, ("v1", "Node"), transform=trim.node)
            ],
        }

    def _notify(self) -> None:
        self.wake()

    def coordination(self) -> client.CoordinationV1Api:
        return client.CoordinationV1Api(self.api_client)

    def _informer(
        self,
        resource: str,
        call: Callable[..., Any],
        kind: tuple[str, str],
        transform: trim.Transform = trim.whole,
        ignored: tuple[str, ...] = (),
        **selectors: str,
    ) -> Informer:
        return Informer(
            resource,
            call,
            self._notify,
            self.stop,
            kind,
            transform,
            ignored,
            self.timing,
            **selectors,
        )

    def _namespaced(
        self,
        kind: tuple[str, str],
        everywhere: Callable[..., Any],
        within: Callable[..., Any],
        namespaces: Sequence[str],
        transform: trim.Transform = trim.whole,
        ignored: tuple[str, ...] = (),
    ) -> list[Informer]:
        resource = kind[1].lower() + ("es" if kind[1].endswith("s") else "s")
        if not namespaces:
            return [self._informer(resource, everywhere, kind, transform, ignored)]
        return [
            self._informer(resource, within, kind, transform, ignored, namespace=n)
            for n in namespaces
        ]

    def _routes(self, namespaces: Sequence[str]) -> list[Informer]:
        """Trimmed of `managedFields` only, and woken by anything but their status."""
        group = {"group": api.GROUP, "version": api.VERSION, "plural": api.PLURAL}
        kind, ignored = (api.API_VERSION, api.KIND), ("status",)
        if not namespaces:
            everywhere = self._custom.list_cluster_custom_object
            return [self._informer("edgioroutes", everywhere, kind, trim.route, ignored, **group)]
        within = self._custom.list_namespaced_custom_object
        return [
            self._informer("edgioroutes", within, kind, trim.route, ignored, namespace=n, **group)
            for n in namespaces
        ]

    # --- caches -----------------------------------------------------------------------

    def all_informers(self) -> list[Informer]:
        return [informer for group in self.informers.values() for informer in group]

    def start(self) -> None:
        for informer in self.all_informers():
            informer.start()

    def list_once(self) -> None:
        """Fill every cache once, without watching (for `plan` and `run --once`); raises
        ClusterUnreachable naming the first resource that cannot be listed."""
        for informer in self.all_informers():
            try:
                informer.list_now()
            except Exception as error:
                where = informer.where()
                raise ClusterUnreachable(
                    f"cannot list {informer.resource}{where}: {describe(error)}"
                ) from None

    def synced(self) -> bool:
        return all(informer.synced.is_set() for informer in self.all_informers())

    def unsynced(self) -> list[str]:
        """The caches still waiting for their first listing, for the log."""
        return sorted(
            f"{i.resource}{i.where()}" for i in self.all_informers() if not i.synced.is_set()
        )

    def wait_synced(self, timeout: float) -> bool:
        deadline = datetime.now(UTC).timestamp() + timeout
        for informer in self.all_informers():
            left = deadline - datetime.now(UTC).timestamp()
            if left <= 0 or not informer.synced.wait(left):
                return False
        return True

    def secret_values(self) -> dict[str, str] | None:
        """The credentials Secret's values, read by name from the API server (None when
        none is named, or it cannot be read now: the values in use stay). A GET by name
        is all the chart grants: a Secret cannot be listed or watched with it."""
        if self.secret is None:
            return None
        namespace, name = self.secret
        try:
            response = self._core.read_namespaced_secret(
                name, namespace, _preload_content=False, _request_timeout=self._timeout()
            )
            found: Obj = json.loads(body(response))
        except Exception as error:
            log.warning(
                "credentials Secret read failed",
                secret=f"{namespace}/{name}",
                error=describe(error),
            )
            return None
        return {
            key: base64.b64decode(value).decode().strip()
            for key, value in (found.get("data") or {}).items()
        }

    def _timeout(self) -> tuple[float, float]:
        return (self.timing.connect_timeout, self.timing.list_timeout)

    def snapshot(self) -> Snapshot:
        def objects(resource: str) -> tuple[Obj, ...]:
            found = [o for informer in self.informers[resource] for o in informer.objects()]
            return tuple(sorted(found, key=object_key))

        return Snapshot(
            ingresses=objects("ingresses"),
            ingress_classes=objects("ingressclasses"),
            routes=objects("edgioroutes"),
            services=objects("services"),
            nodes=objects("nodes"),
        )

    def read_ingress(self, namespace: str, name: str) -> Obj | None:
        return _read_live(
            "ingress",
            f"{namespace}/{name}",
            lambda: self._networking.read_namespaced_ingress(
                name, namespace, _preload_content=False
            ),
        )

    def read_route(self, namespace: str, name: str) -> Obj | None:
        """As the route informer would hold it, so the pass sees one shape of route."""
        found = _read_live(
            "route",
            f"{namespace}/{name}",
            lambda: self._custom.get_namespaced_custom_object(
                api.GROUP, api.VERSION, namespace, api.PLURAL, name, _preload_content=False
            ),
        )
        return None if found is None else trim.route(found)

    # --- writes -----------------------------------------------------------------------

    def write_route(self, write: RouteWrite) -> Obj:
        self.fence()
        route = write.route
        metadata = route.get("metadata") or {}
        namespace, name = metadata.get("namespace") or "default", metadata.get("name", "")
        where = (api.GROUP, api.VERSION, namespace, api.PLURAL)
        log.info(
            "route write", route=f"{namespace}/{name}", action=write.action.value, why=write.why
        )
        try:
            if write.action is WriteAction.CREATE:
                written = self._custom.create_namespaced_custom_object(*where, route)
            elif write.action is WriteAction.DELETE:
                self._custom.delete_namespaced_custom_object(*where, name)
                gone = dict(route)
                gone["metadata"] = {**metadata, "deletionTimestamp": _now()}
                return gone
            else:
                written = self._custom.replace_namespaced_custom_object(*where, name, route)
        except ApiException as error:
            if write.action is WriteAction.DELETE and error.status == 404:
                return {**route, "metadata": {**metadata, "deletionTimestamp": _now()}}
            log.warning("route write failed", route=f"{namespace}/{name}", status=error.status)
            raise ClusterWriteFailed(str(error.status)) from None
        self._progress()
        kept = _kept(written, route)
        self._expect(kept)
        return kept

    def write_route_status(self, route: Obj, status: Obj) -> None:
        self.fence()
        metadata = route.get("metadata") or {}
        previous = route.get("status") or {}
        body = {"status": {**{k: None for k in previous if k not in status}, **status}}
        self._expect({**route, "status": status})
        self._try(
            "status write",
            object_key(route),
            lambda: self._custom.patch_namespaced_custom_object_status(
                api.GROUP,
                api.VERSION,
                metadata.get("namespace") or "default",
                api.PLURAL,
                metadata.get("name"),
                body,
                _preload_content=False,  # the answer is not read: no models built
            ),
        )

    def write_ingress_hosts(self, ingress: Obj, hostnames: IngressHostnames) -> bool:
        """Our entries in the Ingress's load-balancer list, every other entry kept.

        The list is shared (ingress-nginx writes its address there), so it is never
        replaced blindly: the status is read, changed and written back with its
        resourceVersion, and on a conflict read again and redone, a few times. True
        when the Ingress shows our entries as wanted (or is gone)."""
        current: Obj | None = ingress
        for _ in range(CONFLICT_ATTEMPTS):
            if current is None:
                return True
            entries = hostnames.merged(load_balancer_entries(current))
            if entries is None:
                return True
            self.fence()
            try:
                body(self._put_ingress_status(current, entries))
                self._progress()
                return True
            except ApiException as error:
                if error.status == 404:
                    return True
                if error.status != 409:
                    log.warning(
                        "ingress status write failed",
                        route=object_key(ingress),
                        status=error.status,
                    )
                    return False
            current = self._live_ingress(current)
        log.warning("ingress status write failed", route=object_key(ingress), status=409)
        return False

    def _put_ingress_status(self, ingress: Obj, entries: list[Any]) -> Any:
        metadata = ingress.get("metadata") or {}
        status = {**(ingress.get("status") or {}), "loadBalancer": {"ingress": entries}}
        return self._networking.replace_namespaced_ingress_status(
            metadata.get("name"),
            metadata.get("namespace") or "default",
            {**ingress, "status": status},
            _preload_content=False,
        )

    def _live_ingress(self, ingress: Obj) -> Obj | None:
        """The Ingress as the API server has it now, after a conflict (None: gone)."""
        metadata = ingress.get("metadata") or {}
        name, namespace = metadata.get("name", ""), metadata.get("namespace") or "default"
        try:
            return self.read_ingress(namespace, name)
        except ClusterReadFailed:
            return ingress  # the next attempt conflicts again, or the next pass retries

    def remove_finalizer(self, route: Obj) -> None:
        self.fence()
        metadata = route.get("metadata") or {}
        kept = [f for f in metadata.get("finalizers") or [] if f != api.FINALIZER]
        body = {"metadata": {"finalizers": kept or None}}
        self._try(
            "finalizer removal",
            object_key(route),
            lambda: self._custom.patch_namespaced_custom_object(
                api.GROUP,
                api.VERSION,
                metadata.get("namespace") or "default",
                api.PLURAL,
                metadata.get("name"),
                body,
                _preload_content=False,
            ),
        )

    def event(self, obj: Obj, reason: str, message: str, *, warning: bool) -> None:
        self.events.record(obj, reason, message, warning=warning)

    def problems(self, obj: Obj, problems: Iterable[tuple[str, str]]) -> None:
        self.events.problems(obj, problems)

    def flush_events(self, timeout: float) -> bool:
        """Wait for the queued Events to be written (on shutdown, before `--once` exits)."""
        return self.events.flush(timeout)

    def _expect(self, route: Obj) -> None:
        """The route informer's next event of `route` shares its parts with this one."""
        for informer in self.informers["edgioroutes"]:
            if informer.covers(route):
                informer.expect(route)

    def _try(self, what: str, key: str, call: Callable[[], Any]) -> None:
        """A write whose answer is not needed: asked for raw and drained unread."""
        try:
            body(call())
            self._progress()
        except ApiException as error:
            if error.status != 404:  # gone already: nothing to report on
                log.warning(f"{what} failed", route=key, status=error.status)


def _kept(written: Any, sent: Obj) -> Obj:
    """A written route as the cache will hold it: the pass keeps it until its end. What
    the server kept as it was `sent` (the spec, labels, owner, finalizers) is the sent
    objects, which the pass holds anyway, not a second copy."""
    kept: Obj = trim.shared(trim.route(dict(written)), sent)
    return kept


def _read_live(what: str, key: str, call: Callable[[], Any]) -> Obj | None:
    """One object from the API server, not the cache (None: not found)."""
    try:
        response = call()
    except ApiException as error:
        if error.status == 404:
            return None
        log.warning(f"{what} read failed", object=key, status=error.status)
        raise ClusterReadFailed(str(error.status)) from None
    found: Obj = json.loads(body(response))
    return found


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
