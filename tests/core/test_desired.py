"""Routes + Services + Nodes -> desired DNS records and CDN rules, with per-rule outcomes."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.derive.desired import (
    EXCLUDE_NODE_LABEL,
    DesiredState,
    RuleState,
    Settings,
    desired_state,
    node_addresses,
    zone_of,
)
from reconciler.model import (
    BackendRef,
    CdnOption,
    DnsRecord,
    OwnerMarker,
    Route,
    RouteRule,
    url_path,
)

SETTINGS = Settings(
    owner_id="cluster-a",
    zones=("example.com", "edge.example.com"),
    default_shortname="exampleco",
    default_origin_hostname="origin.example.com",
    ttl=60,
)


def node(
    name: str,
    external: str | None = None,
    internal: str | None = None,
    *,
    ready: str = "True",
    unschedulable: bool = False,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    addresses = []
    if external:
        addresses.append({"type": "ExternalIP", "address": external})
    if internal:
        addresses.append({"type": "InternalIP", "address": internal})
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"unschedulable": unschedulable},
        "status": {"conditions": [{"type": "Ready", "status": ready}], "addresses": addresses},
    }


def service(
    name: str = "web", kind: str = "NodePort", ports: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    default_ports = [{"name": "http", "port": 80, "nodePort": 30080}]
    return {
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"type": kind, "ports": default_ports if ports is None else ports},
    }


def route(
    name: str = "web",
    *rules: RouteRule,
    created: str = "2026-01-01T00:00:00Z",
    namespace: str = "shop",
    **fields: Any,
) -> Route:
    default = RouteRule("exampleco.s.llnwi.net", "/fred", "Exact", BackendRef("web", "http"))
    return Route(namespace, name, rules or (default,), created=created, **fields)


NODES = [node("n1", "203.0.113.1", "10.0.0.1"), node("n2", "203.0.113.2", "10.0.0.2")]
SERVICES = {("shop", "web"): service()}


def derive(
    routes: list[Route], services: Any = None, nodes: Any = None, **settings: Any
) -> DesiredState:
    chosen = dataclasses.replace(SETTINGS, **settings)
    return desired_state(
        routes,
        SERVICES if services is None else services,
        NODES if nodes is None else nodes,
        chosen,
    )


# --- nodes -----------------------------------------------------------------------------------


def test_only_ready_schedulable_nodes_are_origins() -> None:
    nodes = [
        node("ready", "203.0.113.1"),
        node("not-ready", "203.0.113.2", ready="False"),
        node("unknown", "203.0.113.3", ready="Unknown"),
        node("cordoned", "203.0.113.4", unschedulable=True),
        node("no-external", None, "10.0.0.5"),
        node("ipv6", "2001:db8::1"),
    ]
    deleting = node("deleting", "203.0.113.6")
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert node_addresses([*nodes, deleting]) == ("203.0.113.1",)


def tainted(name: str, address: str, key: str, effect: str) -> dict[str, Any]:
    found = node(name, address)
    found["spec"]["taints"] = [{"key": key, "value": "1733300000", "effect": effect}]
    return found


def test_nodes_on_their_way_out_are_not_origins() -> None:
    """As Kubernetes' service controller drops them from load balancers: the node the
    cluster autoscaler is removing (tainted, not cordoned), one marked out of service,
    and one labelled to be excluded. Other taints leave a node an origin."""
    nodes = [
        node("stays", "203.0.113.1"),
        tainted("scaled-down", "203.0.113.2", "ToBeDeletedByClusterAutoscaler", "NoSchedule"),
        tainted("dead", "203.0.113.3", "node.kubernetes.io/out-of-service", "NoExecute"),
        node("excluded", "203.0.113.4", labels={EXCLUDE_NODE_LABEL: ""}),
        tainted("dedicated", "203.0.113.5", "dedicated", "NoSchedule"),
        tainted("soon", "203.0.113.6", "DeletionCandidateOfClusterAutoscaler", "PreferNoSchedule"),
    ]
    assert node_addresses(nodes) == ("203.0.113.1", "203.0.113.5", "203.0.113.6")
    state = derive([route()], nodes=nodes)
    assert {r.data for r in state.records} == {"203.0.113.1", "203.0.113.5", "203.0.113.6"}


NAMES = ("www", "shop", "origin")


@st.composite
def spelled(draw: st.DrawFn) -> str:
    """One of a few names in the zone, in any case, with or without the root dot."""
    name = f"{draw(st.sampled_from(NAMES))}.example.com"
    cased = "".join(c.upper() if draw(st.booleans()) else c for c in name)
    return cased + ("." if draw(st.booleans()) else "")


@given(hosts=st.lists(spelled(), min_size=1, max_size=3), origin=st.sampled_from(NAMES))
def test_no_origin_record_is_ever_at_a_host_the_route_publishes(
    hosts: list[str], origin: str
) -> None:
    """Names compared as DNS compares them: an origin that is one of the route's hosts,
    however spelled, is refused, and otherwise the route is published with its records."""
    rules = [
        RouteRule(h, f"/p{i}", "Exact", BackendRef("web", "http")) for i, h in enumerate(hosts)
    ]
    state = derive([route("web", *rules, origin_hostname=f"{origin}.example.com")])
    published = {h.lower().rstrip(".") for h in hosts}
    assert not {f"{r.name}.{r.zone}" for r in state.records} & published
    (outcome,) = state.outcomes
    assert bool(outcome.errors) == (f"{origin}.example.com" in published)
    assert bool(state.records) != bool(outcome.errors)


def test_internal_addresses_and_node_selector() -> None:
    nodes = [
        node("a", "203.0.113.1", "10.0.0.1", labels={"edge": "yes"}),
        node("b", "203.0.113.2", "10.0.0.2"),
    ]
    assert node_addresses(nodes, "InternalIP") == ("10.0.0.1", "10.0.0.2")
    assert node_addresses(nodes, "ExternalIP", [("edge", "yes")]) == ("203.0.113.1",)


def test_addresses_sort_numerically() -> None:
    nodes = [node("a", "203.0.113.10"), node("b", "203.0.113.9")]
    assert node_addresses(nodes) == ("203.0.113.9", "203.0.113.10")


def test_zone_is_longest_suffix() -> None:
    zones = ("example.com", "edge.example.com")
    assert zone_of("origin.edge.example.com", zones) == "edge.example.com"
    assert zone_of("origin.example.com", zones) == "example.com"
    assert zone_of("origin.example.org", zones) is None


# --- the happy path ----------------------------------------------------------------------------


def test_seed_route_becomes_round_robin_records_and_one_rule() -> None:
    state = derive([route()])
    assert state.records == {
        DnsRecord("example.com", "origin", "A", "203.0.113.1", 60),
        DnsRecord("example.com", "origin", "A", "203.0.113.2", 60),
    }
    (rule,) = state.rules
    assert (rule.shortname, rule.published_host, rule.published_path) == (
        "exampleco",
        "exampleco.s.llnwi.net",
        "/fred",
    )
    assert (rule.source_host, rule.source_port, rule.source_path) == (
        "origin.example.com",
        30080,
        "/",
    )
    assert rule.owner == OwnerMarker("cluster-a", "edgioroute/shop/web")
    (outcome,) = state.outcomes
    assert outcome.origin_hostname == "origin.example.com"
    assert outcome.addresses == ("203.0.113.1", "203.0.113.2")
    assert [r.state for r in outcome.rules] == [RuleState.DESIRED]


def test_route_settings_override_defaults() -> None:
    custom = route(
        "web",
        RouteRule("www.shop.com", "/", "Prefix", BackendRef("web", 80), ("https",)),
        shortname="acme",
        origin_hostname="k8s.edge.example.com",
        origin_protocol="https",
        origin_path="/app/",
        options=(CdnOption("refresh_absmin", (3600,)),),
    )
    state = derive([custom])
    (rule,) = state.rules
    assert rule.shortname == "acme"
    assert rule.published_protocols == ("https",) and rule.source_protocol == "https"
    assert rule.source_path == "/app/"
    assert rule.options == (CdnOption("refresh_absmin", (3600,)),)
    assert {r.zone for r in state.records} == {"edge.example.com"}
    assert {r.name for r in state.records} == {"k8s"}


def test_routes_share_one_origin_record_set() -> None:
    second = route(
        "api", RouteRule("exampleco.s.llnwi.net", "/api", "Prefix", BackendRef("web", 80))
    )
    state = derive([route(), second])
    assert len(state.records) == 2
    assert len(state.rules) == 2


# --- backends ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("services", "state", "message"),
    [
        ({}, RuleState.BACKEND_NOT_FOUND, "Service shop/web not found"),
        (
            {("shop", "web"): service(kind="ClusterIP")},
            RuleState.BACKEND_NOT_NODE_PORT,
            "Service shop/web is ClusterIP; Edgio reaches the cluster through a NodePort, "
            "so it must be NodePort or LoadBalancer",
        ),
        (
            {("shop", "web"): service(ports=[{"name": "grpc", "port": 81, "nodePort": 30081}])},
            RuleState.BACKEND_PORT_NOT_FOUND,
            "Service shop/web has no TCP port 'http'",
        ),
        (
            {("shop", "web"): service(kind="LoadBalancer", ports=[{"name": "http", "port": 80}])},
            RuleState.BACKEND_PORT_NOT_FOUND,
            "Service shop/web port 'http' has no nodePort",
        ),
    ],
)
def test_unpublishable_backends_touch_nothing(
    services: dict[Any, Any], state: RuleState, message: str
) -> None:
    desired = derive([route()], services=services)
    assert desired.records == frozenset() and desired.rules == frozenset()
    (outcome,) = desired.outcomes
    assert [(r.state, r.message) for r in outcome.rules] == [(state, message)]
    # what such a rule published before stays as it is
    assert desired.holds.rules == {("exampleco", "exampleco.s.llnwi.net", "/fred")}


def test_port_by_number_and_load_balancer() -> None:
    numbered = route("web", RouteRule("a.example.com", "/", "Prefix", BackendRef("web", 80)))
    services = {("shop", "web"): service(kind="LoadBalancer")}
    (rule,) = derive([numbered], services=services).rules
    assert rule.source_port == 30080


def test_one_bad_route_does_not_block_the_others() -> None:
    broken = route("broken", RouteRule("b.example.com", "/", "Prefix", BackendRef("missing", 80)))
    good = route("good", RouteRule("g.example.com", "/", "Prefix", BackendRef("web", 80)))
    state = derive([broken, good])
    assert {r.published_host for r in state.rules} == {"g.example.com"}
    assert len(state.records) == 2


# --- conflicts -----------------------------------------------------------------------------------


def test_the_oldest_route_keeps_a_contested_host_and_path() -> None:
    older = route("older", created="2026-01-01T00:00:00Z")
    newer = route("newer", created="2026-02-01T00:00:00Z")
    state = derive([newer, older])
    (rule,) = state.rules
    assert rule.owner == OwnerMarker("cluster-a", "edgioroute/shop/older")
    by_key = {o.key: o for o in state.outcomes}
    assert by_key["shop/older"].rules[0].state == RuleState.DESIRED
    loser = by_key["shop/newer"].rules[0]
    assert loser.state == RuleState.CONFLICT
    assert loser.message == (
        "exampleco.s.llnwi.net/fred is already published by the older route shop/older"
    )


def test_conflict_ties_break_by_namespace_and_name() -> None:
    state = derive([route("b"), route("a")])
    (rule,) = state.rules
    assert rule.owner == OwnerMarker("cluster-a", "edgioroute/shop/a")


@pytest.mark.parametrize(
    ("older_path", "newer_path"),
    [("/café", "/caf%C3%A9"), ("/caf%c3%a9", "/caf%C3%A9"), ("/~fred", "/%7Efred")],
)
def test_equivalent_paths_claim_one_rule(older_path: str, newer_path: str) -> None:
    """RFC 3986 section 6.2.2: the two spellings are one URL, so the newer route gets
    Conflict, and the path is published as a client sends it (upper-case escapes, UTF-8
    encoded, unreserved characters as they are)."""
    older = route("older", _rule(older_path), created="2026-01-01T00:00:00Z")
    newer = route("newer", _rule(newer_path), created="2026-02-01T00:00:00Z")
    state = derive([newer, older])
    (rule,) = state.rules
    assert rule.owner == OwnerMarker("cluster-a", "edgioroute/shop/older")
    assert rule.published_path == {"/~fred": "/~fred"}.get(older_path, "/caf%C3%A9")
    loser = next(o for o in state.outcomes if o.key == "shop/newer").rules[0]
    assert loser.state == RuleState.CONFLICT


def _rule(path: str) -> RouteRule:
    return RouteRule("exampleco.s.llnwi.net", path, "Exact", BackendRef("web", "http"))


def test_prefix_and_exact_do_not_conflict() -> None:
    prefix = route(
        "p", RouteRule("exampleco.s.llnwi.net", "/fred", "Prefix", BackendRef("web", 80))
    )
    state = derive([route(), prefix])
    assert {r.published_path for r in state.rules} == {"/fred", "/fred/"}


# --- route-wide problems and safety ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "fields", "expected"),
    [
        (
            {"default_shortname": None},
            {},
            "spec.shortname: not set, and the controller has no --default-shortname",
        ),
        (
            {"default_origin_hostname": None},
            {},
            "spec.origin.hostname: not set, and the controller has no --origin-hostname",
        ),
        (
            {},
            {"origin_hostname": "origin.example.org"},
            "spec.origin.hostname: 'origin.example.org' is in none of the managed DNS zones "
            "(example.com, edge.example.com)",
        ),
        (
            {},
            {"origin_hostname": "example.com"},
            "spec.origin.hostname: 'example.com' is the apex of the managed DNS zones "
            "(example.com, edge.example.com)",
        ),
    ],
)
def test_route_wide_problems(
    settings: dict[str, Any], fields: dict[str, Any], expected: str
) -> None:
    state = derive([route(**fields)], **settings)
    assert state.records == frozenset() and state.rules == frozenset()
    (outcome,) = state.outcomes
    assert [str(e) for e in outcome.errors] == [expected]


@pytest.mark.parametrize(
    ("host", "settings", "fields"),
    [
        ("www.example.com", {}, {"origin_hostname": "www.example.com"}),
        ("WWW.Example.com.", {}, {"origin_hostname": "www.example.com"}),  # as DNS compares
        ("www.example.com", {"default_origin_hostname": "www.example.com"}, {}),
    ],
    ids=["annotated", "case-and-root-dot", "controller-default"],
)
def test_an_origin_that_is_a_published_host_is_refused(
    host: str, settings: dict[str, Any], fields: dict[str, Any]
) -> None:
    """Its A records would put the nodes at the site's own name and Edgio would fetch
    the site from itself: refused like an apex origin, nothing derived, the route held."""
    other = RouteRule("shop.example.com", "/", "Prefix", BackendRef("web", "http"))
    rules = (RouteRule(host, "/fred", "Exact", BackendRef("web", "http")), other)
    state = derive([route("web", *rules, **fields)], **settings)
    assert state.records == frozenset() and state.rules == frozenset()
    (outcome,) = state.outcomes
    (error,) = outcome.errors
    assert error.field == "spec.origin.hostname"
    assert "'www.example.com' is also a published host of this route" in error.message
    assert state.holds.routes == {"edgioroute/shop/web"}
    assert state.holds.routes == {"edgioroute/shop/web"}


def test_no_ready_node_holds_the_origin_instead_of_emptying_it() -> None:
    state = derive([route()], nodes=[node("n1", "203.0.113.1", ready="False")])
    assert state.records == frozenset()
    assert state.holds.names == {("example.com", "origin")}
    assert len(state.rules) == 1
    assert state.outcomes[0].dns_held


def test_unreadable_routes_are_held_and_conflict_losers_are_not() -> None:
    state = desired_state(
        [route("older"), route("newer", created="2026-02-01T00:00:00Z")],
        SERVICES,
        NODES,
        SETTINGS,
        invalid_routes=["shop/broken"],
    )
    assert state.holds.routes == {"edgioroute/shop/broken"}
    assert state.holds.rules == frozenset()


# Path text as typed, without '%' (whose meaning depends on what follows it).
PATH_TEXT = st.text(alphabet="/abcAZ09-._~!$&'()*+,;=:@éß€ ", max_size=12).map(lambda t: "/" + t)


@st.composite
def respelled_paths(draw: st.DrawFn) -> tuple[str, str]:
    """A path and another spelling of the same URL path (RFC 3986 section 6.2.2): some
    unreserved characters, and some that a path cannot hold as they are, percent-encoded
    as UTF-8, hex digits in either case. (An escaped reserved character such as `%3A`
    is another path than `:`.)"""
    path = draw(PATH_TEXT)
    out = []
    for char in path:
        if char not in "/!$&'()*+,;=:@" and draw(st.booleans()):
            escaped = "".join(f"%{byte:02X}" for byte in char.encode())
            out.append(escaped.lower() if draw(st.booleans()) else escaped)
        else:
            out.append(char)
    return path, "".join(out)


@settings(max_examples=300, deadline=None)
@given(respelled_paths())
def test_every_spelling_of_a_path_has_one_normal_form(paths: tuple[str, str]) -> None:
    """Equivalent spellings claim one rule, and the normal form is ASCII (what a request
    line can carry) and its own normal form."""
    path, other = paths
    normal = url_path(path)
    assert url_path(other) == normal
    assert normal.isascii() and url_path(normal) == normal
