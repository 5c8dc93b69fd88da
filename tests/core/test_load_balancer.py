"""What an Ingress shows in `status.loadBalancer.ingress`, and how it shares that list.

external-dns's Ingress source turns each hostname there into `<rule host> CNAME
<hostname>`, so the hostname must be the Edgio name a custom host is CNAMEd to (the
account's edge name), never one of the Ingress's own hosts. The list is shared with
other controllers: only our entries change, every other entry stays where it is."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.api import CONTROLLER_NAME
from reconciler.cmd.config import ConfigError, edge_hostnames
from reconciler.controller import finish as finish_module
from reconciler.derive import edge
from reconciler.derive.desired import RouteOutcome, RuleOutcome, RuleState
from reconciler.derive.ingress import derive_route, shows_our_status
from reconciler.errors import InvalidObject
from reconciler.model import CdnRule, OwnerMarker
from reconciler.report.facts import ReportMemos
from reconciler.report.status import IngressHostnames, RouteFacts, ingress_hostnames, route_status

NOW = "2026-01-01T00:00:00Z"
CUSTOM = ("www.shop.com", "shop.com", "api.shop.com", "cdn.shop.com")
PROVIDED = ("exampleco.s.llnwi.net", "other.s.llnwi.net", "acct.vo.llnwd.net")
SHORTNAMES = ("exampleco", "other")


def facts(published: list[tuple[str, str]], chosen: str | None) -> RouteFacts:
    """A route whose rules for `(host, shortname)` are all live at Edgio."""
    rules, live = [], {}
    for index, (host, shortname) in enumerate(published):
        path = f"/p{index}"
        rule = CdnRule(
            shortname,
            host,
            path,
            "origin.example.com",
            30080,
            owner=OwnerMarker("me", "edgioroute/default/web"),
            id=f"u{index}",
            state="COMPLETED",
        )
        rules.append(RuleOutcome(shortname, host, path, RuleState.DESIRED, rule=rule))
        live[(shortname, host, path)] = rule
    hosts = {host for host, _ in published}
    names = {s: edge.edge_hostname(s, chosen, hosts) for _, s in published}
    outcome = RouteOutcome("default/web", tuple(rules), origin_hostname="origin.example.com")
    return RouteFacts("default/web", outcome=outcome, published=live, edge_names=names)


hosts = st.sampled_from(CUSTOM + PROVIDED)
chosen = st.none() | st.sampled_from((*CUSTOM, "edge.example.net", "exampleco.s.llnwi.net"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(hosts, st.sampled_from(SHORTNAMES)), min_size=1, max_size=5), chosen)
def test_an_ingress_never_shows_one_of_its_own_custom_hosts(
    published: list[tuple[str, str]], chosen: str | None
) -> None:
    """Whatever is configured: a CNAME from a host to itself would take it off DNS."""
    shown = route_status(facts(published, chosen), None, NOW)["edgeHostnames"]
    own_custom = {host for host, _ in published if not edge.provider_assigned(host)}
    assert shown and not set(shown) & own_custom
    for host, shortname in published:
        if edge.provider_assigned(host):
            assert host in shown  # Edgio's own name is already the name it answers
        elif chosen is None or chosen in own_custom:
            assert f"{shortname}.s.llnwi.net" in shown


def test_a_custom_host_shows_the_accounts_edge_name() -> None:
    shown = route_status(facts([("www.shop.com", "exampleco")], None), None, NOW)
    assert shown["edgeHostnames"] == ["exampleco.s.llnwi.net"]
    annotated = route_status(facts([("www.shop.com", "exampleco")], "edge.example.net"), None, NOW)
    assert annotated["edgeHostnames"] == ["edge.example.net"]


def ingress(annotations: dict[str, str]) -> dict[str, object]:
    path = {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": "s", "port": {"number": 80}}},
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "default", "annotations": annotations},
        "spec": {"rules": [{"host": "www.shop.com", "http": {"paths": [path]}}]},
    }


def test_an_edge_hostname_annotation_naming_an_own_host_is_refused() -> None:
    base = {"cdn.edgio.io/shortname": "exampleco"}
    derive_route(ingress({**base, "cdn.edgio.io/edge-hostname": "Edge.Example.NET"}))
    with pytest.raises(InvalidObject, match="external-dns would write a CNAME"):
        derive_route(ingress({**base, "cdn.edgio.io/edge-hostname": "www.shop.com"}))


NGINX = {"hostname": "a1.elb.example.net"}
NGINX_IP = {"ip": "192.0.2.10"}


def test_other_entries_are_kept_in_place_and_ours_replaced() -> None:
    ours = IngressHostnames(("exampleco.s.llnwi.net",), frozenset({"www.shop.com", "old.example"}))
    entries = [NGINX_IP, {"hostname": "www.shop.com"}, NGINX, {"hostname": "old.example"}]
    assert ours.merged(entries) == [NGINX_IP, NGINX, {"hostname": "exampleco.s.llnwi.net"}]
    assert ours.merged([{"hostname": "exampleco.s.llnwi.net"}, NGINX_IP]) is None  # no churn
    assert IngressHostnames((), frozenset()).merged([NGINX_IP]) is None
    assert IngressHostnames((), frozenset()).merged([{"hostname": "x.s.llnwi.net"}]) == []


entries = st.lists(
    st.sampled_from(
        [
            NGINX,
            NGINX_IP,
            {"hostname": "www.shop.com"},
            {"hostname": "exampleco.s.llnwi.net"},
            {"hostname": "old.example"},
            {"hostname": "edge.example.net", "ip": "192.0.2.1"},
        ]
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(entries, st.sets(st.sampled_from(["exampleco.s.llnwi.net", "edge.example.net"])))
def test_merging_keeps_every_other_entry_and_settles_in_one_write(
    current: list[dict[str, str]], wanted: set[str]
) -> None:
    ours = IngressHostnames(tuple(sorted(wanted)), frozenset({"www.shop.com", "old.example"}))
    merged = ours.merged(current)
    after = current if merged is None else merged
    assert [e for e in after if not ours.is_ours(e)] == [e for e in current if not ours.is_ours(e)]
    assert sorted(e["hostname"] for e in after if ours.is_ours(e)) == sorted(wanted)
    assert ours.merged(after) is None  # a second pass writes nothing


def test_what_the_route_showed_before_is_ours_to_take_out() -> None:
    previous = {"edgeHostnames": ["edge.example.net"]}
    status = {"edgeHostnames": ["exampleco.s.llnwi.net"]}
    shown = {"status": {"loadBalancer": {"ingress": [{"hostname": "edge.example.net"}, NGINX]}}}
    merged = ingress_hostnames(status, previous, {**ingress({}), **shown}).merged(
        [{"hostname": "edge.example.net"}, NGINX]
    )
    assert merged == [NGINX, {"hostname": "exampleco.s.llnwi.net"}]


@pytest.mark.parametrize(
    ("spec", "annotations", "defaults", "ours"),
    [
        ({}, {}, (), True),  # no class, no default class: nobody else serves it
        ({"ingressClassName": "edgio"}, {}, (), True),
        ({"ingressClassName": "nginx"}, {}, (), False),  # only our label selects it
        ({"ingressClassName": "missing"}, {}, (), False),
        ({}, {"kubernetes.io/ingress.class": "nginx"}, (), False),
        ({}, {"kubernetes.io/ingress.class": "edgio"}, (), True),  # the seed's, no class object
        ({}, {}, ("nginx",), False),  # the default class is another controller's
        ({}, {}, ("edgio",), True),
    ],
)
def test_the_status_is_ours_only_where_no_other_controller_serves_the_ingress(
    spec: dict[str, str], annotations: dict[str, str], defaults: tuple[str, ...], ours: bool
) -> None:
    controllers = {"edgio": CONTROLLER_NAME, "nginx": "k8s.io/ingress-nginx"}
    obj = {"metadata": {"labels": {"cdn": "edgio"}, "annotations": annotations}, "spec": spec}
    assert shows_our_status(obj, controllers, CONTROLLER_NAME, defaults) is ours


def test_edge_hostname_settings_are_pairs_of_an_account_and_a_name() -> None:
    assert edge_hostnames(["exampleco=Edge.Example.NET"], "") == (
        ("exampleco", "edge.example.net"),
    )
    assert edge_hostnames(None, "a=x.example.net, b=y.example.net") == (
        ("a", "x.example.net"),
        ("b", "y.example.net"),
    )
    for bad in (
        ["exampleco"],
        ["exampleco=not a name"],
        ["Bad_Name=x.example.net"],
        ["a=x.example.net", "a=y.example.net"],
    ):
        with pytest.raises(ConfigError, match=r"^--edge-hostname: "):
            edge_hostnames(bad, "")


class RefusingCluster:
    """An API server that refuses the Ingress status write."""

    def write_ingress_hosts(self, ingress: object, hostnames: IngressHostnames) -> bool:
        return False


def test_a_refused_ingress_write_keeps_the_names_shown_before_in_the_status() -> None:
    """So that the name the Ingress still shows is still known as ours on the next pass."""
    previous = {"edgeHostnames": ["edge.example.net"]}
    status = {"rules": [], "edgeHostnames": ["exampleco.s.llnwi.net"]}
    shown = {
        **ingress({}),
        "status": {"loadBalancer": {"ingress": [{"hostname": "edge.example.net"}]}},
    }
    refusing: Any = RefusingCluster()
    memos = ReportMemos()
    kept = finish_module._show_hostnames(refusing, "default/web", shown, status, previous, memos)
    assert kept == {"rules": [], "edgeHostnames": ["edge.example.net"]}
