"""Ingress semantics Edgio cannot express are refused, never widened; what it can is mapped
as Kubernetes means it (TLS wildcards, protocols, TCP ports, classes, excluded nodes)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler import api
from reconciler.derive.desired import RuleState, desired_state, node_addresses
from reconciler.derive.ingress import class_controllers, default_classes, is_edgio_ingress
from reconciler.model import BackendRef, Route, RouteRule
from tests.core.test_derive_ingress import errors_of, ingress, path, rule, spec_of
from tests.core.test_desired import NODES, SETTINGS, node, service

# --- paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["/", "/docs/"])
def test_exact_paths_edgio_would_read_as_directories_are_refused(bad: str) -> None:
    (error,) = errors_of(ingress([rule("www.shop.com", path(bad, "Exact"))]))
    assert error.startswith(f"spec.rules[0].http.paths[0].path: '{bad}' cannot be published")
    assert "directory" in error


@pytest.mark.parametrize("bad", ["/a//b", "/a/./b", "/a/../b", "/a%2fb", "/a%2Fb", "/a/.", "/a/.."])
@pytest.mark.parametrize("path_type", ["Exact", "Prefix", "ImplementationSpecific"])
def test_paths_the_api_server_refuses_are_refused(bad: str, path_type: str) -> None:
    (error,) = errors_of(ingress([rule("www.shop.com", path(bad, path_type))]))
    assert f"'{bad}' must be a normalised path" in error


@pytest.mark.parametrize("bad", ["/api(/|$)(.*)", "/static/*", "/v[12]/", "/^x$"])
def test_regex_and_glob_paths_are_refused(bad: str) -> None:
    (error,) = errors_of(ingress([rule("www.shop.com", path(bad, "ImplementationSpecific"))]))
    assert "looks like a regular expression or a glob" in error


def test_a_rule_with_a_bad_host_reports_exactly_its_problems() -> None:
    obj = ingress([rule("Bad_Host.example.com", path("/", "Exact")), rule("*.shop.com")])
    assert errors_of(obj) == [
        "spec.rules[0].host: must be a fully qualified DNS name (letters, digits, '-' and '.')",
        "spec.rules[1].host: wildcard hosts cannot be published: "
        "Edgio needs one fully qualified name per rule",
    ]


def test_port_one_is_a_port() -> None:
    backend = spec_of(ingress([rule("www.shop.com", path("/", port=1))]))["rules"][0]["backend"]
    assert backend == {"service": {"name": "web", "port": {"number": 1}}}


# --- protocols -------------------------------------------------------------------------------


def protocols(obj: dict[str, Any]) -> list[list[str]]:
    return [r["publishedProtocols"] for r in spec_of(obj)["rules"]]


def test_tls_wildcards_cover_one_label() -> None:
    hosts = ["www.shop.com", "a.b.shop.com", "shop.com"]
    obj = ingress([rule(h) for h in hosts], tls=[{"hosts": ["*.shop.com"]}])
    assert protocols(obj) == [["http", "https"], ["http"], ["http"]]


def test_a_tls_entry_without_hosts_covers_every_host() -> None:
    obj = ingress([rule("www.shop.com"), rule("api.other.com")], tls=[{"secretName": "x"}])
    assert protocols(obj) == [["http", "https"], ["http", "https"]]


def test_edgio_names_are_served_on_both_protocols_and_others_on_http() -> None:
    obj = ingress([rule("exampleco.s.llnwi.net"), rule("www.shop.com")])
    assert protocols(obj) == [["http", "https"], ["http"]]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("https", ["https"]), ("http", ["http"]), ("https, http", ["http", "https"])],
)
def test_the_annotation_overrides_the_protocols(value: str, expected: list[str]) -> None:
    obj = ingress(
        [rule("exampleco.s.llnwi.net")], annotations={"cdn.edgio.io/published-protocols": value}
    )
    assert protocols(obj) == [expected]


def test_a_bad_protocol_annotation_is_an_error() -> None:
    obj = ingress([rule()], annotations={"cdn.edgio.io/published-protocols": "ftp"})
    assert errors_of(obj) == [
        "metadata.annotations[cdn.edgio.io/published-protocols]: "
        "unsupported value 'ftp': use http, https or http,https"
    ]


# --- backends and nodes ----------------------------------------------------------------------


def one_route(port: str | int) -> Route:
    return Route(
        "shop", "web", (RouteRule("www.shop.com", "/", "Prefix", BackendRef("web", port)),)
    )


def test_a_port_by_number_is_the_tcp_one() -> None:
    ports = [
        {"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053},
        {"name": "dns-tcp", "port": 53, "protocol": "TCP", "nodePort": 30054},
    ]
    state = desired_state([one_route(53)], {("shop", "web"): service(ports=ports)}, NODES, SETTINGS)
    (rule_outcome,) = state.outcomes[0].rules
    assert rule_outcome.node_port == 30054


def test_a_udp_port_by_name_is_not_an_origin() -> None:
    ports = [{"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053}]
    state = desired_state(
        [one_route("dns")], {("shop", "web"): service(ports=ports)}, NODES, SETTINGS
    )
    (rule_outcome,) = state.outcomes[0].rules
    assert rule_outcome.state is RuleState.BACKEND_PORT_NOT_FOUND
    assert "only TCP ports can be origins" in rule_outcome.message
    assert state.rules == frozenset()


def test_external_traffic_policy_local_is_a_warning() -> None:
    svc = service()
    svc["spec"]["externalTrafficPolicy"] = "Local"
    state = desired_state([one_route("http")], {("shop", "web"): svc}, NODES, SETTINGS)
    (warning,) = state.outcomes[0].warnings
    assert warning.reason == api.Reason.EXTERNAL_TRAFFIC_POLICY_LOCAL
    assert "Service shop/web" in warning.message
    assert len(state.rules) == 1


def test_nodes_excluded_from_external_load_balancers_are_left_out() -> None:
    excluded = node("x", "203.0.113.9", labels={api.GROUP: "x"})
    excluded["metadata"]["labels"] = {
        "node.kubernetes.io/exclude-from-external-load-balancers": "true"
    }
    assert node_addresses([node("a", "203.0.113.1"), excluded]) == ("203.0.113.1",)


# --- origins ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin", ["x" * 62 + ".example.com", "x" + ".".join(["abcdefghi"] * 24) + ".example.com"]
)
def test_origin_names_whose_ownership_record_cannot_exist_are_refused(origin: str) -> None:
    obj = ingress([rule()], annotations={"cdn.edgio.io/origin-hostname": origin})
    (error,) = errors_of(obj)
    assert "too long for its ownership record a-<name>" in error


def test_an_origin_of_61_character_label_is_fine() -> None:
    origin = "x" * 61 + ".example.com"
    obj = ingress([rule()], annotations={"cdn.edgio.io/origin-hostname": origin})
    assert spec_of(obj)["origin"]["hostname"] == origin


# --- selection -------------------------------------------------------------------------------

CLASSES = [
    {"metadata": {"name": "cdn"}, "spec": {"controller": api.CONTROLLER_NAME}},
    {"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}},
]


def with_default(name: str) -> list[dict[str, Any]]:
    classes = [dict(c, metadata=dict(c["metadata"])) for c in CLASSES]
    for c in classes:
        if c["metadata"]["name"] == name:
            c["metadata"]["annotations"] = {api.DEFAULT_CLASS_ANNOTATION: "true"}
    return classes


@pytest.mark.parametrize(("default", "selected"), [("cdn", True), ("nginx", False)])
def test_the_default_class_is_honoured(default: str, selected: bool) -> None:
    classes = with_default(default)
    obj = ingress([rule()], labels={})
    chosen = is_edgio_ingress(obj, class_controllers(classes), defaults=default_classes(classes))
    assert chosen is selected


@pytest.mark.parametrize(("value", "selected"), [("cdn", True), ("nginx", False), ("edgio", False)])
def test_the_legacy_annotation_names_a_class(value: str, selected: bool) -> None:
    obj = ingress([rule()], labels={}, annotations={api.LEGACY_CLASS_ANNOTATION: value})
    assert is_edgio_ingress(obj, class_controllers(CLASSES)) is selected
