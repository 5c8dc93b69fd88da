"""The informers' trimmed objects: a pass decides the same on them, and what only moves
fields a pass does not act on (heartbeats, our own statuses) wakes nothing."""

from __future__ import annotations

import copy
import operator
from threading import Event
from typing import Any

from reconciler.cluster import trim
from reconciler.cluster.informer import Informer
from reconciler.derive.desired import Settings, desired_state
from reconciler.derive.routes import route_from_object
from reconciler.plan.routeset import derived_from, route_set
from tests.support import ingress_manifest

Obj = dict[str, Any]
SETTINGS = Settings(
    owner_id="o", zones=("example.com",), default_origin_hostname="origin.example.com", ttl=60
)
NOISE = {
    "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
    "annotations": {trim.LAST_APPLIED: '{"big": "copy"}', "cdn.edgio.io/shortname": "acme"},
}


def ingress(name: str, service: str) -> Obj:
    metadata = {"uid": f"uid-{name}", **copy.deepcopy(NOISE)}
    found = ingress_manifest(
        name,
        [f"/{name}"],
        service,
        {"number": 80},
        host="acme.s.llnwi.net",
        path_type="Prefix",
        metadata=metadata,
    )
    found["status"] = {"loadBalancer": {"ingress": [{"hostname": "acme.s.llnwi.net"}]}}
    return found


def service(name: str, kind: str = "NodePort", policy: str = "Cluster") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default", **copy.deepcopy(NOISE)},
        "spec": {
            "type": kind,
            "clusterIP": "10.0.0.1",
            "selector": {"app": name},
            "externalTrafficPolicy": policy,
            "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080, "targetPort": 8080}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.1"}]}},
    }


def node(name: str, address: str, **changes: Any) -> Obj:
    found: Obj = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"zone": "a"}, **copy.deepcopy(NOISE)},
        "spec": {"podCIDR": "10.1.0.0/24", "taints": [{"key": "k", "effect": "NoSchedule"}]},
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-01-01T00:00:00Z"}
            ],
            "addresses": [{"type": "ExternalIP", "address": address}],
            "images": [{"names": ["registry/image:1"], "sizeBytes": 1}] * 50,
            "nodeInfo": {"kubeletVersion": "v1.34.4"},
        },
    }
    for key, value in changes.items():
        found[key] = {**found[key], **value}
    return found


def decisions(ingresses: list[Obj], services: list[Obj], nodes: list[Obj]) -> Any:
    """What a pass decides from these objects: the route writes and notes, and the
    desired DNS records, rules and per-route outcomes."""
    routes = route_set(ingresses, [], [])
    derived = [route_from_object(w.route) for w in routes.writes]
    index = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in services}
    desired = desired_state(derived, index, nodes, SETTINGS)
    notes = [(n.reason, n.message) for n in routes.notes]
    return [w.route for w in routes.writes], notes, desired.records, desired.rules, desired.outcomes


def test_a_pass_decides_the_same_on_trimmed_objects() -> None:
    ingresses = [ingress("a", "web"), ingress("b", "local"), ingress("c", "internal")]
    services = [service("web"), service("local", policy="Local"), service("internal", "ClusterIP")]
    nodes = [
        node("n1", "203.0.113.1"),
        node("n2", "203.0.113.2", spec={"unschedulable": True}),
        node("n3", "203.0.113.3", metadata={"name": "n3", "deletionTimestamp": "2026-01-01"}),
        node("n4", "203.0.113.4", metadata={"name": "n4", "labels": {"zone": "b"}}),
        node(
            "n5",
            "203.0.113.5",
            spec={"taints": [{"key": "ToBeDeletedByClusterAutoscaler", "effect": "NoSchedule"}]},
        ),
    ]
    full = decisions(ingresses, services, nodes)
    trimmed = decisions(
        [trim.whole(i) for i in ingresses],
        [trim.service(s) for s in services],
        [trim.node(n) for n in nodes],
    )
    assert trimmed == full
    assert full[2] and full[3]  # records and rules were derived: the comparison means something


def test_what_is_dropped_and_what_is_kept() -> None:
    kept = trim.whole(ingress("a", "web"))
    assert "managedFields" not in kept["metadata"]
    assert kept["metadata"]["annotations"] == {"cdn.edgio.io/shortname": "acme"}
    route = trim.route({**ingress("a", "web"), "kind": "EdgioRoute"})
    assert "managedFields" not in route["metadata"]
    assert trim.LAST_APPLIED in route["metadata"]["annotations"]  # written back whole
    small = trim.node(node("n1", "203.0.113.1"))
    assert "images" not in small["status"] and "annotations" not in small["metadata"]
    assert "status" not in trim.service(service("web"))


def test_a_heartbeat_changes_nothing_a_pass_reads() -> None:
    before = trim.node(node("n1", "203.0.113.1"))
    beat = node("n1", "203.0.113.1")
    beat["metadata"]["resourceVersion"] = "99"
    beat["status"]["conditions"][0]["lastHeartbeatTime"] = "2026-01-01T00:05:00Z"
    assert trim.view(trim.node(beat)) == trim.view(before)
    cordoned = node("n1", "203.0.113.1", spec={"unschedulable": True})
    assert trim.view(trim.node(cordoned)) != trim.view(before)


def test_a_taint_is_kept_and_its_change_wakes_a_pass() -> None:
    """The cluster autoscaler taints the node it removes without cordoning it: the cache
    keeps taints (key and effect), and a new one is a change a pass acts on."""
    before = trim.node(node("n1", "203.0.113.1"))
    leaving = node("n1", "203.0.113.1")
    leaving["spec"]["taints"].append(
        {"key": "ToBeDeletedByClusterAutoscaler", "value": "1733300000", "effect": "NoSchedule"}
    )
    kept = trim.node(leaving)
    assert kept["spec"]["taints"][-1] == {
        "key": "ToBeDeletedByClusterAutoscaler",
        "effect": "NoSchedule",
    }
    assert trim.view(kept) != trim.view(before)
    assert decisions([ingress("a", "web")], [service("web")], [kept])[2] == frozenset()


def test_status_and_resource_version_are_ignored_where_asked_and_nothing_else() -> None:
    route: Obj = {
        "kind": "EdgioRoute",
        "metadata": {"name": "r", "resourceVersion": "1", "finalizers": ["f"]},
        "spec": {"rules": []},
        "status": {"conditions": []},
    }
    written = copy.deepcopy(route)
    written["metadata"]["resourceVersion"] = "2"
    written["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
    assert trim.view(written, ("status",)) == trim.view(route, ("status",))
    changes: list[tuple[str, Any]] = [
        ("deletionTimestamp", "2026-01-01T00:00:00Z"),
        ("finalizers", []),
        ("labels", {"a": "b"}),
        ("annotations", {"cdn.edgio.io/force-delete": "true"}),
        ("ownerReferences", [{"kind": "Ingress", "uid": "u"}]),
        ("generation", 2),
    ]
    for key, value in changes:
        changed = copy.deepcopy(written)
        changed["metadata"][key] = value
        assert trim.view(changed, ("status",)) != trim.view(route, ("status",)), key


def test_a_new_version_shares_what_it_has_in_common_with_the_old() -> None:
    old = trim.shared(trim.whole(ingress("a", "web")))
    written = copy.deepcopy(old)
    written["metadata"]["resourceVersion"] = "2"
    written["status"] = {"loadBalancer": {"ingress": [{"hostname": "acme.s.llnwi.net"}]}}
    new = trim.shared(written, old)
    assert new == written and new is not old
    assert new["spec"] is old["spec"]
    assert new["metadata"]["labels"] is old["metadata"]["labels"]
    assert new["metadata"] is not old["metadata"]
    assert trim.shared(copy.deepcopy(old), old) is old  # the same content: the same object
    assert trim.shared({"n": 1}, {"n": True}) == {"n": 1}  # equal is not enough: same type
    assert type(trim.shared({"n": 1}, {"n": True})["n"]) is int


def test_our_hostname_write_leaves_what_a_manifest_is_derived_from_the_same() -> None:
    def same(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
        return len(a) == len(b) and all(map(operator.is_, a, b))

    old = trim.shared(trim.whole(ingress("a", "web")))
    written = copy.deepcopy(old)
    written["metadata"]["resourceVersion"] = "2"
    written["status"] = {"loadBalancer": {"ingress": [{"hostname": "acme.s.llnwi.net"}]}}
    assert same(derived_from(trim.shared(written, old)), derived_from(old))
    written["spec"]["rules"][0]["host"] = "other.s.llnwi.net"
    assert not same(derived_from(trim.shared(written, old)), derived_from(old))


def test_the_event_of_a_write_shares_its_parts_with_what_was_written() -> None:
    kind = ("cdn.edgio.io/v1alpha1", "EdgioRoute")
    informer = Informer("edgioroutes", lambda **_: None, lambda: None, Event(), kind, trim.route)
    written = {
        "apiVersion": kind[0],
        "kind": kind[1],
        "metadata": {"name": "a", "namespace": "default", "resourceVersion": "6"},
        "spec": {"rules": [{"host": "acme.s.llnwi.net", "path": "/"}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    informer.expect(written)
    sent = copy.deepcopy(written)
    sent["metadata"]["resourceVersion"] = "7"
    informer._event({"type": "MODIFIED", "object": sent})
    [cached] = informer.objects()
    assert cached == sent
    assert cached["spec"] is written["spec"] and cached["status"] is written["status"]
