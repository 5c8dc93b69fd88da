"""Routes + Services + Nodes -> the DNS records and CDN rules that should exist.

Besides the desired state, this says per route and per rule what happened and why, so
the loop can put it on the user's own object ("was my route programmed?"). One bad
route or rule only ever affects itself: the rest of the state is still derived.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from reconciler import api
from reconciler.derive import fields
from reconciler.derive.memo import Memo, Memos
from reconciler.errors import FieldError
from reconciler.model import (
    BackendRef,
    CdnRule,
    DeletionPolicy,
    DnsRecord,
    Holds,
    OwnerMarker,
    Route,
    RouteRule,
    WebProtocol,
    dns_name,
)
from reconciler.registry import ownership

# Nodes with this label are left out of external load balancers, and so of the origin.
EXCLUDE_NODE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"
# Nodes with one of these taints (any effect) are on their way out, and Kubernetes' service
# controller drops them from load balancers at once: the cluster autoscaler taints a node
# it is removing without cordoning it, and an operator marks a dead node out of service.
LEAVING_NODE_TAINTS = frozenset(
    {"ToBeDeletedByClusterAutoscaler", "node.kubernetes.io/out-of-service"}
)

ServiceIndex = Mapping[tuple[str, str], Mapping[str, Any]]  # (namespace, name) -> Service


@dataclass(frozen=True, slots=True)
class Settings:
    """Controller-wide defaults and choices (flags), as the core needs them."""

    owner_id: str
    zones: tuple[str, ...]
    default_shortname: str | None = None
    default_origin_hostname: str | None = None
    default_origin_protocol: WebProtocol = "http"
    ttl: int = 60
    node_address_type: str = "ExternalIP"
    node_selector: tuple[tuple[str, str], ...] = ()
    edge_hostnames: tuple[tuple[str, str], ...] = ()  # --edge-hostname: (shortname, name)


class RuleState(enum.StrEnum):
    DESIRED = "Desired"  # derived; whether Edgio has published it is the loop's to say
    CONFLICT = "Conflict"
    BACKEND_NOT_FOUND = "BackendNotFound"
    BACKEND_NOT_NODE_PORT = "BackendNotNodePort"
    BACKEND_PORT_NOT_FOUND = "BackendPortNotFound"
    # set from the plan (reconciler.plan.settle): the rule stays where it is, or is not created
    ORIGIN_NOT_READY = "OriginNotReady"
    ORIGIN_FOREIGN = "OriginForeign"
    FOREIGN_RULE = "ForeignRule"


BACKEND_PROBLEMS = frozenset(
    {
        RuleState.BACKEND_NOT_FOUND,
        RuleState.BACKEND_NOT_NODE_PORT,
        RuleState.BACKEND_PORT_NOT_FOUND,
    }
)


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    shortname: str
    host: str
    path: str  # the published path, as sent to Edgio
    state: RuleState
    message: str = ""
    node_port: int | None = None
    rule: CdnRule | None = None


@dataclass(frozen=True, slots=True)
class RouteWarning:
    """Something that works but probably not as the user expects (a Warning condition)."""

    reason: str  # an api.Reason
    message: str


@dataclass(frozen=True, slots=True)
class RouteOutcome:
    key: str
    rules: tuple[RuleOutcome, ...] = ()
    origin_hostname: str | None = None
    addresses: tuple[str, ...] = ()
    errors: tuple[FieldError, ...] = ()  # route-wide problems: nothing of it is published
    dns_held: bool = False  # no eligible node: the origin records are left as they are
    warnings: tuple[RouteWarning, ...] = ()
    # Being deleted: its rules are deleted, or with deletion policy Orphan released.
    deleting: bool = False


@dataclass(frozen=True, slots=True)
class DesiredState:
    records: frozenset[DnsRecord] = frozenset()
    rules: frozenset[CdnRule] = frozenset()
    holds: Holds = field(default_factory=Holds)
    outcomes: tuple[RouteOutcome, ...] = field(default=())
    adopting: frozenset[str] = frozenset()  # owner resources of routes that may adopt


def node_addresses(
    nodes: Iterable[Mapping[str, Any]],
    address_type: str = "ExternalIP",
    selector: Iterable[tuple[str, str]] = (),
) -> tuple[str, ...]:
    """IPv4 addresses of Ready, schedulable nodes that match the selector, sorted; nodes
    labelled to be excluded from external load balancers, or tainted as leaving, are left
    out."""
    wanted = dict(selector)
    found: set[str] = set()
    for node in nodes:
        metadata = node.get("metadata") or {}
        labels = metadata.get("labels") or {}
        spec = node.get("spec") or {}
        if metadata.get("deletionTimestamp") or spec.get("unschedulable"):
            continue
        if EXCLUDE_NODE_LABEL in labels or _leaving(spec):
            continue
        if any(labels.get(key) != value for key, value in wanted.items()):
            continue
        status = node.get("status") or {}
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        if not ready:
            continue
        for address in status.get("addresses") or []:
            if address.get("type") == address_type and _is_ipv4(address.get("address", "")):
                found.add(address["address"])
    return tuple(sorted(found, key=ipaddress.IPv4Address))


def _leaving(spec: Mapping[str, Any]) -> bool:
    return any(t.get("key") in LEAVING_NODE_TAINTS for t in spec.get("taints") or [])


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def zone_of(hostname: str, zones: Iterable[str]) -> str | None:
    """The managed zone a name belongs to (as configured): the longest matching suffix,
    names compared in normal form."""
    name = dns_name(hostname)
    matches = [z for z in zones if name == (n := dns_name(z)) or name.endswith("." + n)]
    return max(matches, key=lambda z: len(dns_name(z))) if matches else None


def desired_state(
    routes: Iterable[Route],
    services: ServiceIndex,
    nodes: Iterable[Mapping[str, Any]],
    settings: Settings,
    invalid_routes: Iterable[str] = (),
    memos: DesiredMemos | None = None,
) -> DesiredState:
    """`invalid_routes` are keys of EdgioRoutes that could not be read: what they
    published stays as it is, like everything else whose input is broken. `memos`: what
    the passes before computed (none: everything is computed)."""
    memos = DesiredMemos() if memos is None else memos
    nodes = tuple(nodes)
    addresses = memos.addresses.get(
        None,
        (settings, *nodes),
        partial(node_addresses, nodes, settings.node_address_type, settings.node_selector),
    )
    claims: dict[RuleKey, str] = {}
    origins: set[tuple[str, str]] = set()
    rules: set[CdnRule] = set()
    outcomes: list[RouteOutcome] = []
    released: set[str] = set()
    for route in sorted(routes, key=lambda r: (r.created, r.namespace, r.name)):
        if route.deleting:
            if route.deletion_policy is DeletionPolicy.ORPHAN:
                released.add(ownership.route_resource(route.key))
            outcomes.append(RouteOutcome(route.key, deleting=True))
            continue
        outcome, origin = _claimed(route, services, settings, claims, addresses, memos.alone)
        if origin is not None and any(r.rule for r in outcome.rules):
            origins.add(origin)
            rules.update(r.rule for r in outcome.rules if r.rule is not None)
        outcomes.append(outcome)
    records = {
        DnsRecord(zone, name, "A", address, settings.ttl)
        for zone, name in origins
        for address in addresses
    }
    broken_routes = {o.key for o in outcomes if o.errors} | set(invalid_routes)
    holds = Holds(
        names=frozenset(origins) if not addresses else frozenset(),
        rules=frozenset(
            (r.shortname, dns_name(r.host), r.path)
            for o in outcomes
            for r in o.rules
            if r.state in BACKEND_PROBLEMS
        ),
        routes=frozenset(ownership.route_resource(key) for key in broken_routes),
        released=frozenset(released),
    )
    return DesiredState(
        records=frozenset(records),
        rules=frozenset(rules),
        holds=holds,
        outcomes=tuple(sorted(outcomes, key=lambda o: o.key)),
        adopting=frozenset(
            ownership.route_resource(r.key) for r in routes if r.adopt and not r.deleting
        ),
    )


RuleKey = tuple[str, str, str]  # (shortname, host in normal form, published path)
Placed = tuple[RouteOutcome, tuple[str, str] | None]  # an outcome, and its origin (zone, name)
Alone = tuple[RouteOutcome, tuple[str, str] | None, tuple[RuleKey, ...]]


@dataclass
class DesiredMemos(Memos):
    """Pure functions of their inputs, reused while those stay the same
    (reconciler.derive.memo): the node addresses, and each route's outcome alone."""

    addresses: Memo[tuple[str, ...]] = field(default_factory=Memo)
    alone: Memo[Alone] = field(default_factory=Memo)


def _claimed(
    route: Route,
    services: ServiceIndex,
    settings: Settings,
    claims: dict[RuleKey, str],
    addresses: tuple[str, ...],
    kept: Memo[Alone],
) -> Placed:
    """The route's outcome once older routes have claimed their hosts and paths.

    Nearly always no older route claims any of them, and the outcome is the one the
    route has alone: a function of the route, its Services, the settings and the node
    addresses, kept between passes. Otherwise it is worked out again with the claims."""
    backends = tuple(services.get((route.namespace, r.backend.service)) for r in route.rules)
    outcome, origin, keys = kept.get(
        route.key,
        (route, settings, addresses, *backends),
        partial(_alone, route, services, settings, addresses),
    )
    if origin is None:
        for key in keys:
            claims.setdefault(key, route.key)
        return outcome, None
    if len(keys) == len(outcome.rules) and claims.keys().isdisjoint(keys):
        claims.update(dict.fromkeys(keys, route.key))
        return outcome, origin
    return _addressed(_route(route, services, settings, claims), addresses)


def _alone(
    route: Route, services: ServiceIndex, settings: Settings, addresses: tuple[str, ...]
) -> tuple[RouteOutcome, tuple[str, str] | None, tuple[RuleKey, ...]]:
    """The outcome of a route no other route competes with, and the keys it claims."""
    claims: dict[RuleKey, str] = {}
    outcome, origin = _addressed(_route(route, services, settings, claims), addresses)
    return outcome, origin, tuple(claims)


def _addressed(placed: Placed, addresses: tuple[str, ...]) -> Placed:
    """A route that publishes a rule resolves its origin to the eligible nodes."""
    outcome, origin = placed
    if origin is not None and any(r.rule for r in outcome.rules):
        outcome = replace(outcome, addresses=addresses, dns_held=not addresses)
    return outcome, origin


@dataclass(frozen=True, slots=True)
class _Origin:
    shortname: str
    hostname: str
    zone: str

    @property
    def name(self) -> str:
        return dns_name(self.hostname)[: -len(dns_name(self.zone)) - 1]


def _resolve(route: Route, settings: Settings) -> tuple[_Origin | None, list[FieldError]]:
    """The route's account and origin, from its spec or the controller's defaults."""
    errors: list[FieldError] = []
    shortname = route.shortname or settings.default_shortname
    if not shortname:
        errors.append(
            FieldError("spec.shortname", "not set, and the controller has no --default-shortname")
        )
    hostname = route.origin_hostname or settings.default_origin_hostname
    zone = zone_of(hostname, settings.zones) if hostname else None
    if not hostname:
        errors.append(
            FieldError(
                "spec.origin.hostname", "not set, and the controller has no --origin-hostname"
            )
        )
    elif zone is None or dns_name(zone) == dns_name(hostname):
        where = "the apex of" if zone else "in none of"
        errors.append(
            FieldError(
                "spec.origin.hostname",
                f"{hostname!r} is {where} the managed DNS zones ({', '.join(settings.zones)})",
            )
        )
    elif problem := _published_origin(route, hostname):
        errors.append(FieldError("spec.origin.hostname", problem))
    if errors or not shortname or not hostname or not zone:
        return None, errors
    return _Origin(shortname, hostname, zone), []


def _published_origin(route: Route, hostname: str) -> str | None:
    """An origin that is one of the route's own published hosts would get the nodes' A
    records at the site's name, and Edgio would fetch the site from itself."""
    origin = fields.normalise_host(hostname)
    if not any(fields.normalise_host(rule.host) == origin for rule in route.rules):
        return None
    return (
        f"{hostname!r} is also a published host of this route: its A records would point "
        "the site at the nodes and Edgio would fetch it from itself; use a name of its own "
        "for the origin"
    )


def _route(
    route: Route,
    services: ServiceIndex,
    settings: Settings,
    claims: dict[RuleKey, str],
) -> Placed:
    origin, errors = _resolve(route, settings)
    hostname = route.origin_hostname or settings.default_origin_hostname
    if origin is None:
        # What it published is held: its host + paths stay claimed, no newer route takes them.
        if shortname := route.shortname or settings.default_shortname:
            for rule in route.rules:
                path = fields.published_path(rule.path, rule.path_type)
                claims.setdefault((shortname, dns_name(rule.host), path), route.key)
        return RouteOutcome(route.key, origin_hostname=hostname, errors=tuple(errors)), None
    outcomes = []
    warnings: dict[str, RouteWarning] = {}
    for rule in route.rules:
        path = fields.published_path(rule.path, rule.path_type)
        key = (origin.shortname, dns_name(rule.host), path)
        if key in claims:
            message = f"{rule.host}{path} is already published by the older route {claims[key]}"
            outcomes.append(
                RuleOutcome(origin.shortname, rule.host, path, RuleState.CONFLICT, message)
            )
            continue
        claims[key] = route.key
        state, message, node_port = _node_port(services, route.namespace, rule.backend)
        if node_port is not None and (warning := _traffic_warning(services, route, rule)):
            warnings[warning.message] = warning
        cdn_rule = None
        if node_port is not None:
            cdn_rule = _cdn_rule(route, rule, origin, path, node_port, settings)
        outcomes.append(
            RuleOutcome(origin.shortname, rule.host, path, state, message, node_port, cdn_rule)
        )
    outcome = RouteOutcome(
        route.key,
        tuple(outcomes),
        origin_hostname=origin.hostname,
        warnings=tuple(warnings[m] for m in sorted(warnings)),
    )
    return outcome, (origin.zone, origin.name)


def _traffic_warning(services: ServiceIndex, route: Route, rule: RouteRule) -> RouteWarning | None:
    service = services.get((route.namespace, rule.backend.service)) or {}
    if (service.get("spec") or {}).get("externalTrafficPolicy") != "Local":
        return None
    return RouteWarning(
        api.Reason.EXTERNAL_TRAFFIC_POLICY_LOCAL,
        f"Service {route.namespace}/{rule.backend.service} has externalTrafficPolicy Local: "
        "the origin lists every eligible node, and nodes without a local endpoint of it "
        "answer nothing; use Cluster",
    )


def _cdn_rule(
    route: Route, rule: RouteRule, origin: _Origin, path: str, node_port: int, settings: Settings
) -> CdnRule:
    return CdnRule(
        shortname=origin.shortname,
        published_host=rule.host,
        published_path=path,
        source_host=origin.hostname,
        source_port=node_port,
        source_path=route.origin_path,
        published_protocols=rule.published_protocols,
        source_protocol=route.origin_protocol or settings.default_origin_protocol,
        options=route.options,
        owner=OwnerMarker(settings.owner_id, ownership.route_resource(route.key)),
    )


def _node_port(
    services: ServiceIndex, namespace: str, backend: BackendRef
) -> tuple[RuleState, str, int | None]:
    """The NodePort that reaches a backend on every node, or why there is none."""
    where = f"Service {namespace}/{backend.service}"
    service = services.get((namespace, backend.service))
    if service is None:
        return RuleState.BACKEND_NOT_FOUND, f"{where} not found", None
    spec = service.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    if kind not in ("NodePort", "LoadBalancer"):
        return (
            RuleState.BACKEND_NOT_NODE_PORT,
            f"{where} is {kind}; Edgio reaches the cluster through a NodePort, "
            "so it must be NodePort or LoadBalancer",
            None,
        )
    for port in spec.get("ports") or []:
        tcp = (port.get("protocol") or "TCP") == "TCP"
        if backend.port == port.get("name") or (tcp and backend.port == port.get("port")):
            return _port_node_port(where, backend, port, tcp)
    return RuleState.BACKEND_PORT_NOT_FOUND, f"{where} has no TCP port {backend.port!r}", None


def _port_node_port(
    where: str, backend: BackendRef, port: Mapping[str, Any], tcp: bool
) -> tuple[RuleState, str, int | None]:
    """Only a TCP port can be an origin: Edgio fetches over HTTP."""
    if not tcp:
        problem = f"port {backend.port!r} is {port.get('protocol')}; only TCP ports can be origins"
        return RuleState.BACKEND_PORT_NOT_FOUND, f"{where} {problem}", None
    if port.get("nodePort"):
        return RuleState.DESIRED, "", int(port["nodePort"])
    return RuleState.BACKEND_PORT_NOT_FOUND, f"{where} port {backend.port!r} has no nodePort", None
