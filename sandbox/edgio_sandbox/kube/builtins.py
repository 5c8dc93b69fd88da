"""What the API server does to built-in objects on their way in: defaults, allocation, checks.

Services get a cluster IP and node ports the way a cluster allocates them (unique, kept
across updates, node ports random in 30000-32767 so a recreated Service usually gets a new
one), Secrets turn `stringData` into base64 `data`, and Ingress paths are checked for the
fields a real server rejects without.
"""

from __future__ import annotations

import base64
import ipaddress
import random
from collections.abc import Callable
from typing import Any

from .crd import admit_crd
from .kinds import Kind
from .status import invalid
from .store import Obj, Store, key_of

NODE_PORTS = range(30000, 32768)
SERVICE_NETWORK = ipaddress.ip_network("10.96.0.0/16")
PATH_TYPES = ("Exact", "Prefix", "ImplementationSpecific")


class Admission:
    """Mutates and checks one incoming object; runs under the store lock."""

    def __init__(self, store: Store, seed: int = 0):
        self._store = store
        self._random = random.Random(seed)
        self._rules: dict[tuple[str, str], Callable[[Kind, Obj, Obj | None], None]] = {
            ("", "Service"): self._service,
            ("", "Secret"): _secret,
            ("", "Namespace"): _namespace,
            ("networking.k8s.io", "Ingress"): _ingress,
            ("apiextensions.k8s.io", "CustomResourceDefinition"): admit_crd,
            ("rbac.authorization.k8s.io", "Role"): _role,
            ("rbac.authorization.k8s.io", "ClusterRole"): _role,
            ("rbac.authorization.k8s.io", "RoleBinding"): _binding,
            ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _binding,
            ("batch", "CronJob"): _cronjob,
            ("policy", "PodDisruptionBudget"): _pod_disruption_budget,
        }

    def admit(self, kind: Kind, obj: Obj, old: Obj | None) -> None:
        rule = self._rules.get((kind.group, kind.kind))
        if rule is not None:
            rule(kind, obj, old)

    def _service(self, kind: Kind, obj: Obj, old: Obj | None) -> None:
        spec = obj.setdefault("spec", {})
        old_spec = old.get("spec", {}) if old else {}
        name = obj["metadata"]["name"]
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.setdefault("ports", []):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        if spec["type"] != "ExternalName":
            self._cluster_ip(kind, name, spec, old_spec)
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
            self._node_ports(kind, obj, old_spec)
        else:
            for port in spec["ports"]:
                port.pop("nodePort", None)
        if old is None:
            obj["status"] = {"loadBalancer": {}}

    def _cluster_ip(self, kind: Kind, name: str, spec: Obj, old_spec: Obj) -> None:
        previous = old_spec.get("clusterIP")
        wanted = spec.get("clusterIP") or previous
        if previous and wanted != previous:
            invalid(
                kind, name, [("spec.clusterIP", f'Invalid value: "{wanted}": field is immutable')]
            )
        if not wanted:
            used = {svc.get("spec", {}).get("clusterIP") for svc in self._services()}
            hosts = SERVICE_NETWORK.hosts()
            wanted = next(str(ip) for ip in hosts if ip.packed[-1] >= 10 and str(ip) not in used)
        spec["clusterIP"] = wanted
        spec["clusterIPs"] = [wanted]
        if wanted != "None":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")

    def _node_ports(self, kind: Kind, obj: Obj, old_spec: Obj) -> None:
        spec, name = obj["spec"], obj["metadata"]["name"]
        kept = {
            (port.get("port"), port.get("protocol", "TCP")): port["nodePort"]
            for port in old_spec.get("ports", [])
            if port.get("nodePort")
        }
        taken = {
            port.get("nodePort")
            for svc in self._services()
            if key_of(svc) != key_of(obj)
            for port in svc.get("spec", {}).get("ports", [])
        }
        for index, port in enumerate(spec["ports"]):
            node_port = port.get("nodePort") or kept.get((port.get("port"), port["protocol"]))
            field = f"spec.ports[{index}].nodePort"
            if node_port is None:
                free = [p for p in NODE_PORTS if p not in taken]
                node_port = self._random.choice(free)
            elif not isinstance(node_port, int) or node_port not in NODE_PORTS:
                message = f"Invalid value: {node_port}: provided port is not in the valid range"
                invalid(
                    kind, name, [(field, f"{message}. The range of valid ports is 30000-32767")]
                )
            elif node_port in taken:
                invalid(
                    kind,
                    name,
                    [(field, f"Invalid value: {node_port}: provided port is already allocated")],
                )
            port["nodePort"] = node_port
            taken.add(node_port)

    def _services(self) -> list[Obj]:
        return self._store.items(("", "services"))


def _secret(kind: Kind, obj: Obj, old: Obj | None) -> None:
    obj.setdefault("type", "Opaque")
    string_data: dict[str, Any] = obj.pop("stringData", None) or {}
    if string_data:
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _namespace(kind: Kind, obj: Obj, old: Obj | None) -> None:
    if old is None:
        obj["status"] = {"phase": "Active"}
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])


def _ingress(kind: Kind, obj: Obj, old: Obj | None) -> None:
    causes: list[tuple[str, str]] = []
    for r, rule in enumerate(obj.get("spec", {}).get("rules") or []):
        for p, path in enumerate((rule.get("http") or {}).get("paths") or []):
            where = f"spec.rules[{r}].http.paths[{p}]"
            if path.get("pathType") not in PATH_TYPES:
                causes.append((f"{where}.pathType", f"Required value: one of {list(PATH_TYPES)}"))
            if not str(path.get("path", "/")).startswith("/"):
                causes.append((f"{where}.path", "Invalid value: must be an absolute path"))
            backend = path.get("backend") or {}
            if bool(backend.get("service")) == bool(backend.get("resource")):
                causes.append(
                    (f"{where}.backend", "Invalid value: exactly one of service or resource")
                )
    if causes:
        invalid(kind, obj["metadata"]["name"], causes)
    if old is None:
        obj["status"] = {"loadBalancer": {}}


RBAC_GROUP = "rbac.authorization.k8s.io"
CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")


def _role(kind: Kind, obj: Obj, old: Obj | None) -> None:
    causes: list[tuple[str, str]] = []
    for r, rule in enumerate(obj.get("rules") or []):
        where = f"rules[{r}]"
        if not rule.get("verbs"):
            causes.append(
                (f"{where}.verbs", "Required value: verbs must contain at least one value")
            )
        if rule.get("nonResourceURLs"):
            if kind.namespaced:
                causes.append(
                    (
                        f"{where}.nonResourceURLs",
                        "Invalid value: namespaced rules cannot apply to non-resource URLs",
                    )
                )
        elif not rule.get("resources"):
            causes.append(
                (
                    f"{where}.resources",
                    "Required value: resource rules must supply at least one resource",
                )
            )
        elif "apiGroups" not in rule:
            causes.append(
                (
                    f"{where}.apiGroups",
                    "Required value: resource rules must supply at least one api group",
                )
            )
    if causes:
        invalid(kind, obj["metadata"]["name"], causes)


def _binding(kind: Kind, obj: Obj, old: Obj | None) -> None:
    ref = obj.get("roleRef") or {}
    allowed = ("Role", "ClusterRole") if kind.namespaced else ("ClusterRole",)
    causes: list[tuple[str, str]] = []
    if ref.get("apiGroup") != RBAC_GROUP:
        causes.append(
            (
                "roleRef.apiGroup",
                f'Unsupported value: "{ref.get("apiGroup", "")}": supported values: "{RBAC_GROUP}"',
            )
        )
    if ref.get("kind") not in allowed:
        supported = ", ".join(f'"{name}"' for name in allowed)
        causes.append(
            (
                "roleRef.kind",
                f'Unsupported value: "{ref.get("kind", "")}": supported values: {supported}',
            )
        )
    if not ref.get("name"):
        causes.append(("roleRef.name", "Required value"))
    for s, subject in enumerate(obj.get("subjects") or []):
        if (
            subject.get("kind") == "ServiceAccount"
            and not subject.get("namespace")
            and not kind.namespaced
        ):
            causes.append((f"subjects[{s}].namespace", "Required value"))
    if old is not None and (old.get("roleRef") or {}) != ref:
        causes.append(("roleRef", "Invalid value: cannot change roleRef"))
    if causes:
        invalid(kind, obj["metadata"]["name"], causes)


def _cronjob(kind: Kind, obj: Obj, old: Obj | None) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    causes: list[tuple[str, str]] = []
    if not spec.get("schedule"):
        causes.append(("spec.schedule", "Required value"))
    elif len(str(spec["schedule"]).split()) != 5 and not str(spec["schedule"]).startswith("@"):
        causes.append(
            ("spec.schedule", f'Invalid value: "{spec["schedule"]}": expected exactly 5 fields')
        )
    if spec["concurrencyPolicy"] not in CONCURRENCY_POLICIES:
        causes.append(
            ("spec.concurrencyPolicy", f'Unsupported value: "{spec["concurrencyPolicy"]}"')
        )
    template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    if not (template.get("spec") or {}).get("containers"):
        causes.append(("spec.jobTemplate.spec.template.spec.containers", "Required value"))
    if (template.get("spec") or {}).get("restartPolicy") not in ("Never", "OnFailure"):
        causes.append(
            (
                "spec.jobTemplate.spec.template.spec.restartPolicy",
                'Unsupported value: supported values: "OnFailure", "Never"',
            )
        )
    if causes:
        invalid(kind, obj["metadata"]["name"], causes)
    if old is None:
        obj["status"] = {}


def _pod_disruption_budget(kind: Kind, obj: Obj, old: Obj | None) -> None:
    spec = obj.get("spec") or {}
    if "minAvailable" in spec and "maxUnavailable" in spec:
        message = "Invalid value: minAvailable and maxUnavailable cannot be both set"
        invalid(kind, obj["metadata"]["name"], [("spec", message)])
    if old is None:
        obj["status"] = {
            "currentHealthy": 0,
            "desiredHealthy": 0,
            "disruptionsAllowed": 0,
            "expectedPods": 0,
        }
