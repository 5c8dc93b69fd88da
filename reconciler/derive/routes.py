"""EdgioRoute objects, as stored in the cluster, to typed Routes.

The CRD schema already refuses most bad values, but EdgioRoutes written directly (or
stored by a server that does not validate) reach the loop too, so every value the core
relies on is checked again here with the same rules as for Ingresses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from reconciler import api
from reconciler.derive import fields
from reconciler.derive.annotations import adopts, edge_hostname_errors, edge_hostname_of
from reconciler.derive.ingress import object_key
from reconciler.errors import FieldError, InvalidObject
from reconciler.model import (
    PATH_TYPES,
    WEB_PROTOCOLS,
    BackendRef,
    CdnOption,
    DeletionPolicy,
    PathType,
    Route,
    RouteRule,
)


def route_from_object(obj: Mapping[str, Any]) -> Route:
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    shortname = spec.get("shortname")
    if shortname is not None and (problem := fields.shortname_problem(str(shortname))):
        errors.append(FieldError("spec.shortname", problem))
    origin = spec.get("origin") or {}
    hostname = origin.get("hostname")
    if hostname is not None and (problem := fields.origin_problem(str(hostname))):
        errors.append(FieldError("spec.origin.hostname", problem))
    protocol = origin.get("protocol")
    if protocol is not None and (problem := fields.choice_problem(protocol, WEB_PROTOCOLS)):
        errors.append(FieldError("spec.origin.protocol", problem))
    origin_path = origin.get("path") or "/"
    if problem := fields.path_problem(origin_path):
        errors.append(FieldError("spec.origin.path", problem))
    options: tuple[CdnOption, ...] = ()
    if (raw := (spec.get("cdn") or {}).get("options")) is not None:
        options, option_errors = fields.parse_options(raw, "spec.cdn.options")
        errors.extend(option_errors)
    policy = spec.get("deletionPolicy") or DeletionPolicy.DELETE.value
    if problem := fields.choice_problem(policy, [p.value for p in DeletionPolicy]):
        errors.append(FieldError("spec.deletionPolicy", problem))
    rules = _rules(spec.get("rules"), errors)
    annotations = metadata.get("annotations") or {}
    errors.extend(edge_hostname_errors(annotations, [rule.host for rule in rules]))
    if errors:
        raise InvalidObject(api.KIND, object_key(obj), errors)
    return Route(
        namespace=metadata.get("namespace") or "default",
        name=metadata.get("name", ""),
        rules=rules,
        shortname=shortname,
        origin_hostname=hostname,
        origin_protocol=protocol,
        origin_path=origin_path,
        options=options,
        deletion_policy=DeletionPolicy(policy),
        created=metadata.get("creationTimestamp") or "",
        deleting=bool(metadata.get("deletionTimestamp")),
        adopt=adopts(annotations),
        edge_hostname=edge_hostname_of(annotations),
    )


def _rules(raw: Any, errors: list[FieldError]) -> tuple[RouteRule, ...]:
    if not isinstance(raw, list) or not raw:
        errors.append(FieldError("spec.rules", "must list at least one rule"))
        return ()
    rules: list[RouteRule] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(raw):
        rule = _rule(item if isinstance(item, Mapping) else {}, f"spec.rules[{index}]", errors)
        if rule is None:
            continue
        key = (rule.host, fields.published_path(rule.path, rule.path_type))
        if key in seen:
            errors.append(FieldError(f"spec.rules[{index}]", f"publishes {''.join(key)} twice"))
        seen.add(key)
        rules.append(rule)
    return tuple(rules)


def _rule(item: Mapping[str, Any], where: str, errors: list[FieldError]) -> RouteRule | None:
    found = len(errors)
    host = str(item.get("host") or "")
    if problem := fields.host_problem(host):
        errors.append(FieldError(f"{where}.host", problem))
    path = str(item.get("path") or "")
    path_type = item.get("pathType")
    if problem := fields.choice_problem(path_type, PATH_TYPES):
        errors.append(FieldError(f"{where}.pathType", problem))
    elif problem := fields.published_path_problem(path, str(path_type)):
        errors.append(FieldError(f"{where}.path", f"{path!r} {problem}"))
    protocols = fields.default_protocols(host, tls=False)
    if (raw := item.get("publishedProtocols")) is not None:
        protocols, problem = fields.parse_protocols(raw)
        if problem:
            errors.append(FieldError(f"{where}.publishedProtocols", problem))
    service = ((item.get("backend") or {}).get("service")) or {}
    port = service.get("port") or {}
    port_ref: str | int | None = port.get("name") or port.get("number")
    if not service.get("name") or port_ref is None:
        errors.append(FieldError(f"{where}.backend.service", "must name a Service and a port"))
    if len(errors) > found or port_ref is None:
        return None
    return RouteRule(
        host=host,
        path=path,
        path_type=cast(PathType, path_type),
        backend=BackendRef(str(service["name"]), port_ref),
        published_protocols=protocols,
    )
