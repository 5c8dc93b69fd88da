"""Which Ingresses are Edgio's, and the EdgioRoute each one becomes.

Every rule and every path of an Ingress is derived (the seed controller took only the
first of each). Problems are collected for the whole object and raised together, so
a user fixes an Ingress in one round trip instead of one error at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler import api
from reconciler.derive import fields
from reconciler.derive.annotations import (
    SHORTNAME,
    edge_hostname_errors,
    field_of,
    parse_annotations,
    published_protocols,
)
from reconciler.errors import FieldError, InvalidObject
from reconciler.model import PATH_TYPES, WebProtocol

# The hosts a tls section covers: None when an entry lists no hosts (it covers all).
TlsHosts = frozenset[str] | None


@dataclass(frozen=True, slots=True)
class DerivedRoute:
    """An EdgioRoute manifest, and what of the Ingress was ignored (worth telling the user)."""

    manifest: dict[str, Any]
    warnings: tuple[FieldError, ...] = ()


def object_key(obj: Mapping[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    return f"{metadata.get('namespace') or 'default'}/{metadata.get('name', '')}"


def class_controllers(ingress_classes: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """IngressClass name -> spec.controller, the index selection needs."""
    return {
        (c.get("metadata") or {}).get("name", ""): (c.get("spec") or {}).get("controller", "")
        for c in ingress_classes
    }


def default_classes(ingress_classes: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Names of the IngressClasses marked as the cluster's default."""
    return frozenset(
        (c.get("metadata") or {}).get("name", "")
        for c in ingress_classes
        if ((c.get("metadata") or {}).get("annotations") or {}).get(api.DEFAULT_CLASS_ANNOTATION)
        == "true"
    )


def is_edgio_ingress(
    ingress: Mapping[str, Any],
    controllers: Mapping[str, str],
    controller_name: str = api.CONTROLLER_NAME,
    defaults: Iterable[str] = (),
) -> bool:
    """Label `cdn: edgio`, else the Ingress's class, run by us: `spec.ingressClassName`,
    else the legacy class annotation (also a class name), else the default class."""
    metadata = ingress.get("metadata") or {}
    if (metadata.get("labels") or {}).get(api.SELECT_LABEL) == api.SELECT_VALUE:
        return True
    served = served_by(ingress, controllers, defaults)
    return bool(served) and all(controller == controller_name for controller in served)


def shows_our_status(
    ingress: Mapping[str, Any],
    controllers: Mapping[str, str],
    controller_name: str = api.CONTROLLER_NAME,
    defaults: Iterable[str] = (),
) -> bool:
    """Whether the Ingress's `status.loadBalancer` is ours to write: its class is ours, or
    it has none and no default class names another controller. An Ingress selected only
    by the `cdn: edgio` label but of, say, class nginx is ingress-nginx's to report on.
    A class name no IngressClass defines is served by the controller that goes by that
    name (ingress-nginx serves `nginx` without one), so `edgio` is ours."""
    served = served_by(ingress, {api.SELECT_VALUE: controller_name, **controllers}, defaults)
    return all(controller == controller_name for controller in served)


def served_by(
    ingress: Mapping[str, Any], controllers: Mapping[str, str], defaults: Iterable[str] = ()
) -> list[str]:
    """The controllers that serve an Ingress by its class (`spec.ingressClassName`, else
    the legacy annotation, else the default classes); "" for a class that does not exist.
    None at all: the Ingress names no class and the cluster has no default."""
    metadata = ingress.get("metadata") or {}
    class_name = (ingress.get("spec") or {}).get("ingressClassName")
    if class_name is None:
        class_name = (metadata.get("annotations") or {}).get(api.LEGACY_CLASS_ANNOTATION)
    if class_name is not None:
        return [controllers.get(class_name, "") if isinstance(class_name, str) else ""]
    # several defaults: the API server refuses to choose either, so all must be ours
    return [controllers.get(name, "") for name in sorted(defaults)]


def derive_route(ingress: Mapping[str, Any]) -> DerivedRoute:
    """The EdgioRoute for one Ingress; InvalidObject lists every problem found."""
    metadata = ingress.get("metadata") or {}
    spec = ingress.get("spec") or {}
    annotations = metadata.get("annotations") or {}
    route_spec, errors = parse_annotations(annotations)
    protocols, protocol_errors = published_protocols(annotations)
    errors.extend(protocol_errors)
    warnings: list[FieldError] = []
    tls_hosts = _tls_hosts(spec, warnings)
    rules = _rules(spec, _Publishing(tls_hosts, protocols), errors, warnings)
    route_spec["rules"] = rules
    errors.extend(edge_hostname_errors(annotations, [rule["host"] for rule in rules]))
    if "shortname" not in route_spec:
        _infer_shortname(route_spec, rules, errors)
    route_spec.setdefault("deletionPolicy", "Delete")
    if errors:
        raise InvalidObject("Ingress", object_key(ingress), errors)
    return DerivedRoute(_manifest(ingress, _ordered(route_spec)), tuple(warnings))


@dataclass(frozen=True, slots=True)
class _Publishing:
    """How hosts are published: the tls hosts, and the annotation's override."""

    tls_hosts: TlsHosts
    override: tuple[WebProtocol, ...] | None

    def protocols(self, host: str) -> tuple[WebProtocol, ...]:
        if self.override is not None:
            return self.override
        return fields.default_protocols(host, fields.tls_covers(self.tls_hosts, host))


def _tls_hosts(spec: Mapping[str, Any], warnings: list[FieldError]) -> TlsHosts:
    hosts: set[str] = set()
    covers_all = False
    for index, tls in enumerate(spec.get("tls") or []):
        listed = tls.get("hosts") or []
        covers_all = covers_all or not listed
        hosts.update(fields.normalise_host(h) for h in listed)
        if tls.get("secretName"):
            warnings.append(
                FieldError(
                    f"spec.tls[{index}].secretName",
                    "ignored: Edgio serves published hosts with certificates it manages",
                )
            )
    return None if covers_all else frozenset(hosts)


def _rules(
    spec: Mapping[str, Any],
    publishing: _Publishing,
    errors: list[FieldError],
    warnings: list[FieldError],
) -> list[dict[str, Any]]:
    ingress_rules = spec.get("rules") or []
    if not _check_rules_exist(spec, errors, warnings):
        return []
    rules: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], str] = {}
    for i, ingress_rule in enumerate(ingress_rules):
        where = f"spec.rules[{i}]"
        host = fields.normalise_host(ingress_rule.get("host") or "")
        problem = fields.host_problem(host)
        if problem:
            errors.append(FieldError(f"{where}.host", problem))
            continue
        paths = (ingress_rule.get("http") or {}).get("paths") or []
        if not paths:
            errors.append(
                FieldError(f"{where}.http.paths", "must list at least one path to publish")
            )
        for j, ingress_path in enumerate(paths):
            protocols = publishing.protocols(host)
            rule = _rule(host, protocols, ingress_path, f"{where}.http.paths[{j}]", errors)
            if rule is None:
                continue
            key = (host, fields.published_path(rule["path"], rule["pathType"]))
            if key in seen:
                errors.append(
                    FieldError(
                        f"{where}.http.paths[{j}].path",
                        f"publishes {key[0]}{key[1]} again (already at {seen[key]})",
                    )
                )
                continue
            seen[key] = f"{where}.http.paths[{j}]"
            rules.append(rule)
    return rules


def _check_rules_exist(
    spec: Mapping[str, Any], errors: list[FieldError], warnings: list[FieldError]
) -> bool:
    """Edgio publishes host + path rules only: a default backend cannot be expressed."""
    has_rules = bool(spec.get("rules"))
    if spec.get("defaultBackend"):
        if has_rules:
            message = "ignored: Edgio publishes host and path rules only"
            warnings.append(FieldError("spec.defaultBackend", message))
        else:
            message = "a default backend alone publishes nothing: Edgio needs a host and a path"
            errors.append(FieldError("spec.defaultBackend", message))
    elif not has_rules:
        errors.append(FieldError("spec.rules", "must have at least one rule with a host"))
    return has_rules


def _rule(
    host: str,
    protocols: tuple[WebProtocol, ...],
    ingress_path: Mapping[str, Any],
    where: str,
    errors: list[FieldError],
) -> dict[str, Any] | None:
    found = len(errors)
    path_type = ingress_path.get("pathType")
    if path_type is None:
        message = f"must be set: use {fields.alternatives(PATH_TYPES)}"
        errors.append(FieldError(f"{where}.pathType", message))
    elif problem := fields.choice_problem(path_type, PATH_TYPES):
        errors.append(FieldError(f"{where}.pathType", problem))
    path = ingress_path.get("path") or ("" if path_type == "Exact" else "/")
    problem = fields.published_path_problem(path, str(path_type))
    if problem:
        errors.append(FieldError(f"{where}.path", f"{path!r} {problem}"))
    service = (ingress_path.get("backend") or {}).get("service")
    port: dict[str, Any] = {}
    if not isinstance(service, Mapping) or not service.get("name"):
        errors.append(
            FieldError(
                f"{where}.backend.service",
                "must name a Service: only Service backends can be published",
            )
        )
    else:
        port = _port(service.get("port") or {}, f"{where}.backend.service.port", errors)
    if len(errors) > found:
        return None
    assert isinstance(service, Mapping)
    return {
        "host": host,
        "path": path,
        "pathType": path_type,
        "publishedProtocols": list(protocols),
        "backend": {"service": {"name": service["name"], "port": port}},
    }


def _port(port: Mapping[str, Any], where: str, errors: list[FieldError]) -> dict[str, Any]:
    name, number = port.get("name"), port.get("number")
    if bool(name) == (number is not None):
        errors.append(FieldError(where, "must give exactly one of name or number"))
        return {}
    if name:
        return {"name": str(name)}
    if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 65535:
        errors.append(FieldError(f"{where}.number", f"{number!r} is not a port number"))
        return {}
    return {"number": number}


def _infer_shortname(
    route_spec: dict[str, Any], rules: list[dict[str, Any]], errors: list[FieldError]
) -> None:
    """An Edgio-assigned host names its account; several accounts need a choice."""
    shortnames = sorted({s for r in rules if (s := fields.shortname_from_host(r["host"]))})
    if len(shortnames) == 1:
        route_spec["shortname"] = shortnames[0]
    elif len(shortnames) > 1:
        errors.append(
            FieldError(
                field_of(SHORTNAME),
                f"the hosts name several Edgio accounts ({', '.join(shortnames)}); "
                "set this annotation to choose one",
            )
        )


def _ordered(route_spec: dict[str, Any]) -> dict[str, Any]:
    order = ("shortname", "origin", "rules", "cdn", "deletionPolicy")
    return {key: route_spec[key] for key in order if key in route_spec}


def _manifest(ingress: Mapping[str, Any], route_spec: dict[str, Any]) -> dict[str, Any]:
    metadata = ingress.get("metadata") or {}
    route_metadata: dict[str, Any] = {
        "name": metadata.get("name"),
        "namespace": metadata.get("namespace") or "default",
        "labels": {api.DERIVED_LABEL: api.DERIVED_FROM_INGRESS},
    }
    if metadata.get("uid"):
        route_metadata["ownerReferences"] = [
            {
                "apiVersion": ingress.get("apiVersion", "networking.k8s.io/v1"),
                "kind": "Ingress",
                "name": metadata.get("name"),
                "uid": metadata["uid"],
                "controller": True,
            }
        ]
    return {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND,
        "metadata": route_metadata,
        "spec": route_spec,
    }
