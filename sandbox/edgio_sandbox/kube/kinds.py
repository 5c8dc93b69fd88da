"""The resource kinds the emulator serves, and the discovery documents that describe them.

A :class:`Kind` is everything the server needs to route, validate and list one resource:
its place in the URL space, its scope, whether it has a status subresource, which field
selectors the real API server accepts for it (anything else is a 400, as in a cluster),
and, for custom resources, the schema and printer columns from their CRD.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .table import AGE_COLUMN

OBJECT_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
STATUS_VERBS = ["get", "patch", "update"]
COMMON_FIELDS = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True, eq=False)
class Kind:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    status: bool = False  # has a /status subresource
    generation: bool = False  # metadata.generation tracks spec changes
    fields: tuple[str, ...] = ()  # field selectors beyond metadata.name/namespace
    custom: bool = False
    schema: dict[str, Any] | None = None  # openAPIV3Schema of a custom resource
    columns: tuple[dict[str, Any], ...] = ()  # additionalPrinterColumns, or kubectl's own
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource(self) -> tuple[str, str]:
        """The storage key: every served version of a resource shares one store."""
        return (self.group, self.plural)

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def selectable_fields(self) -> tuple[str, ...]:
        return COMMON_FIELDS + self.fields

    def qualified(self) -> str:
        """How error messages name the resource: `services` or `edgioroutes.cdn.edgio.io`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


_REFERENCE = ("kind", "namespace", "name", "uid", "apiVersion")
_EVENT_FIELDS = (
    *(f"involvedObject.{name}" for name in (*_REFERENCE, "resourceVersion", "fieldPath")),
    *("reason", "reportingComponent", "source", "type"),
)
_EVENTS_V1_FIELDS = (
    *(f"regarding.{name}" for name in _REFERENCE),
    *("reason", "reportingController", "type"),
)
_POD_FIELDS = (
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.phase",
    "status.podIP",
)

ALL = ("all",)  # the category `kubectl get all` lists


def _column(name: str, json_path: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "type": kind, "jsonPath": json_path}


BUILTIN_KINDS = (
    Kind(
        "",
        "v1",
        "namespaces",
        "Namespace",
        False,
        ("ns",),
        True,
        fields=("status.phase",),
        columns=(_column("Status", ".status.phase"), AGE_COLUMN),
    ),
    Kind(
        "",
        "v1",
        "nodes",
        "Node",
        False,
        ("no",),
        True,
        fields=("spec.unschedulable",),
        columns=(
            _column("Ready", '.status.conditions[?(@.type=="Ready")].status'),
            _column("External-IP", '.status.addresses[?(@.type=="ExternalIP")].address'),
            _column("Internal-IP", '.status.addresses[?(@.type=="InternalIP")].address'),
            AGE_COLUMN,
        ),
    ),
    Kind(
        "",
        "v1",
        "services",
        "Service",
        True,
        ("svc",),
        True,
        True,
        fields=("spec.clusterIP", "spec.type"),
        categories=ALL,
        columns=(
            _column("Type", ".spec.type"),
            _column("Cluster-IP", ".spec.clusterIP"),
            _column("Port", ".spec.ports[0].port", "integer"),
            _column("Node-Port", ".spec.ports[0].nodePort", "integer"),
            AGE_COLUMN,
        ),
    ),
    Kind("", "v1", "secrets", "Secret", fields=("type",)),
    Kind("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    Kind("", "v1", "endpoints", "Endpoints", short_names=("ep",)),
    Kind("", "v1", "events", "Event", short_names=("ev",), fields=_EVENT_FIELDS),
    Kind("", "v1", "pods", "Pod", True, ("po",), True, True, _POD_FIELDS, categories=ALL),
    Kind("events.k8s.io", "v1", "events", "Event", short_names=("ev",), fields=_EVENTS_V1_FIELDS),
    Kind(
        "networking.k8s.io",
        "v1",
        "ingresses",
        "Ingress",
        True,
        ("ing",),
        True,
        True,
        columns=(
            _column("Class", ".spec.ingressClassName"),
            _column("Host", ".spec.rules[0].host"),
            _column("Address", ".status.loadBalancer.ingress[0].hostname"),
            AGE_COLUMN,
        ),
    ),
    Kind("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False, generation=True),
    Kind("coordination.k8s.io", "v1", "leases", "Lease"),
    Kind("apps", "v1", "deployments", "Deployment", True, ("deploy",), True, True, categories=ALL),
    # What an installer (the Helm chart) creates beside the controller.
    Kind("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",)),
    Kind("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    Kind("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    Kind("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    Kind("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    # Stored, not enforced: the emulator admits every request.
    Kind(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
        False,
        status=True,
        generation=True,
    ),
    Kind(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        False,
        generation=True,
    ),
    Kind(
        "batch",
        "v1",
        "cronjobs",
        "CronJob",
        True,
        ("cj",),
        True,
        True,
        categories=ALL,
        columns=(
            _column("Schedule", ".spec.schedule"),
            _column("Suspend", ".spec.suspend", "boolean"),
            _column("Last-Schedule", ".status.lastScheduleTime", "date"),
            AGE_COLUMN,
        ),
    ),
    Kind("batch", "v1", "jobs", "Job", True, (), True, True, categories=ALL),
    Kind(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        True,
        ("pdb",),
        True,
        True,
        columns=(
            _column("Min-Available", ".spec.minAvailable"),
            _column("Max-Unavailable", ".spec.maxUnavailable"),
            AGE_COLUMN,
        ),
    ),
    Kind(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ("crd", "crds"),
        True,
        True,
    ),
)


@dataclass
class Kinds:
    """The registry of served kinds; CRDs add and remove entries while the server runs."""

    _by_path: dict[tuple[str, str, str], Kind] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def builtin(cls) -> Kinds:
        kinds = cls()
        for kind in BUILTIN_KINDS:
            kinds.register(kind)
        return kinds

    def register(self, kind: Kind) -> None:
        with self._lock:
            self._by_path[(kind.group, kind.version, kind.plural)] = kind

    def unregister(self, group: str, plural: str) -> None:
        with self._lock:
            for key in [key for key in self._by_path if key[0] == group and key[2] == plural]:
                del self._by_path[key]

    def lookup(self, group: str, version: str, plural: str) -> Kind | None:
        with self._lock:
            return self._by_path.get((group, version, plural))

    def for_object(self, api_version: str, kind_name: str) -> Kind | None:
        group, _, version = api_version.rpartition("/")
        with self._lock:
            for kind in self._by_path.values():
                if (kind.group, kind.version, kind.kind) == (group, version, kind_name):
                    return kind
        return None

    def all(self) -> list[Kind]:
        with self._lock:
            return list(self._by_path.values())

    def groups(self) -> dict[str, list[str]]:
        """Group name -> served versions, in registration order."""
        found: dict[str, list[str]] = {}
        for kind in self.all():
            versions = found.setdefault(kind.group, [])
            if kind.version not in versions:
                versions.append(kind.version)
        return found


def api_versions(host: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{version}", "version": version} for version in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(kinds: Kinds) -> dict[str, Any]:
    groups = [_group(name, versions) for name, versions in kinds.groups().items() if name]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(kinds: Kinds, name: str) -> dict[str, Any] | None:
    versions = kinds.groups().get(name)
    if not name or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def api_resource_list(kinds: Kinds, group: str, version: str) -> dict[str, Any] | None:
    served = [kind for kind in kinds.all() if (kind.group, kind.version) == (group, version)]
    if not served:
        return None
    resources: list[dict[str, Any]] = []
    for kind in served:
        resource: dict[str, Any] = {
            "name": kind.plural,
            "singularName": kind.singular,
            "namespaced": kind.namespaced,
            "kind": kind.kind,
            "verbs": OBJECT_VERBS,
        }
        if kind.short_names:
            resource["shortNames"] = list(kind.short_names)
        if kind.categories:
            resource["categories"] = list(kind.categories)
        resources.append(resource)
        if kind.status:
            resources.append(
                {
                    "name": f"{kind.plural}/status",
                    "singularName": "",
                    "namespaced": kind.namespaced,
                    "kind": kind.kind,
                    "verbs": STATUS_VERBS,
                }
            )
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_root(kinds: Kinds) -> dict[str, Any]:
    """The OpenAPI v3 index: one document per served group/version."""
    paths: dict[str, Any] = {}
    for group, versions in kinds.groups().items():
        for version in versions:
            gv = _gv_path(group, version)
            paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}"}
    return {"paths": paths}


def openapi_document(kinds: Kinds, group: str, version: str) -> dict[str, Any] | None:
    """Just enough OpenAPI v3 for kubectl: each write operation, tagged with its kind and
    declaring the `fieldValidation` parameter, so that kubectl leaves validation to the
    server (`fieldValidation=Strict`); and the schemas of custom resources, which is what
    `kubectl explain` reads. Built-in kinds publish no schema."""
    served = [kind for kind in kinds.all() if (kind.group, kind.version) == (group, version)]
    if not served:
        return None
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for kind in served:
        identity = {"group": kind.group, "version": kind.version, "kind": kind.kind}
        operation = {
            "x-kubernetes-group-version-kind": identity,
            "parameters": [
                {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}
            ],
            "responses": {},
        }
        scope = "/namespaces/{namespace}" if kind.namespaced else ""
        collection = f"/{_gv_path(group, version)}{scope}/{kind.plural}"
        paths[collection] = {"post": operation}
        paths[collection + "/{name}"] = {"put": operation, "patch": operation}
        if kind.schema:
            name = ".".join([*reversed(kind.group.split(".")), kind.version, kind.kind])
            schemas[name] = kind.schema | {"x-kubernetes-group-version-kind": [identity]}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": version},
        "paths": paths,
        "components": {"schemas": schemas},
    }
