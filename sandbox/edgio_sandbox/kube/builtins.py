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
