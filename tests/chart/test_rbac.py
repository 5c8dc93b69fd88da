"""The chart's RBAC, parsed from the rendered Roles and ClusterRoles and compared with
exactly what the controller needs: no wildcard, no list or watch on Secrets, Leases and the
credential Secret only in the release namespace, and Roles per namespace in namespaced mode."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chart.chart import CUSTOM, FULLNAME, NAMESPACE, find, render

Grant = tuple[str, str, str, str]  # (namespace or "*cluster*", api group, resource, verb)
CLUSTER = "*cluster*"

CLUSTER_READS = {
    (CLUSTER, group, resource, verb)
    for group, resource in (("", "nodes"), ("networking.k8s.io", "ingressclasses"))
    for verb in ("get", "list", "watch")
}
# With no ownerId set, the controller derives one from the kube-system namespace's uid.
OWNER_ID_READ = {(CLUSTER, "", "namespaces/kube-system", "get")}


def route_grants(where: str) -> set[Grant]:
    """What the controller needs wherever it watches Ingresses and EdgioRoutes."""
    grants: set[Grant] = set()
    for group, resource in (("networking.k8s.io", "ingresses"), ("", "services")):
        grants |= {(where, group, resource, verb) for verb in ("get", "list", "watch")}
    grants.add((where, "networking.k8s.io", "ingresses/status", "update"))
    grants |= {
        (where, "cdn.edgio.io", "edgioroutes", verb)
        for verb in ("get", "list", "watch", "create", "update", "patch", "delete")
    }
    grants |= {
        (where, "cdn.edgio.io", "edgioroutes/status", verb) for verb in ("get", "update", "patch")
    }
    grants.add((where, "cdn.edgio.io", "edgioroutes/finalizers", "update"))
    grants |= {
        (where, group, "events", verb)
        for group in ("", "events.k8s.io")
        for verb in ("create", "patch")
    }
    return grants


def release_grants(secret: str) -> set[Grant]:
    leases = {
        (NAMESPACE, "coordination.k8s.io", "leases", verb) for verb in ("get", "create", "update")
    }
    return leases | {(NAMESPACE, "", f"secrets/{secret}", "get")}


def granted(objects: list[dict[str, Any]]) -> set[Grant]:
    """Every (namespace, group, resource, verb) the ServiceAccount is bound to."""
    roles = {
        (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]): obj
        for obj in objects
        if obj["kind"] in ("Role", "ClusterRole")
    }
    grants: set[Grant] = set()
    for binding in objects:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}
        ]
        ref = binding["roleRef"]
        namespace = binding["metadata"].get("namespace")
        role_namespace = namespace if ref["kind"] == "Role" else None
        role = roles[(ref["kind"], role_namespace, ref["name"])]
        where = namespace or CLUSTER
        for rule in role["rules"]:
            assert set(rule) <= {"apiGroups", "resources", "verbs", "resourceNames"}, rule
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    names = rule.get("resourceNames")
                    targets = [f"{resource}/{name}" for name in names] if names else [resource]
                    grants |= {
                        (where, group, target, verb) for target in targets for verb in rule["verbs"]
                    }
    return grants


def test_cluster_wide_mode_grants_exactly_what_the_controller_needs() -> None:
    secret = f"{FULLNAME}-credentials"
    assert granted(render()) == (
        CLUSTER_READS | OWNER_ID_READ | route_grants(CLUSTER) | release_grants(secret)
    )
    with_owner = render({"controller": {"ownerId": "cluster-a"}})
    assert granted(with_owner) == CLUSTER_READS | route_grants(CLUSTER) | release_grants(secret)


def test_namespaced_mode_uses_roles_in_each_watched_namespace() -> None:
    objects = render(CUSTOM)
    expected = (
        CLUSTER_READS
        | OWNER_ID_READ
        | route_grants("shop")
        | route_grants("blog")
        | release_grants("edgio-credentials")
    )
    assert granted(objects) == expected
    cluster_role = find(objects, "ClusterRole")
    assert {resource for rule in cluster_role["rules"] for resource in rule["resources"]} == {
        "nodes",
        "ingressclasses",
        "namespaces",
    }


@pytest.mark.parametrize("values", [{}, CUSTOM], ids=["cluster-wide", "namespaced"])
def test_no_wildcards_and_no_secret_listing(values: dict[str, Any]) -> None:
    objects = render(values)
    for role in (obj for obj in objects if obj["kind"] in ("Role", "ClusterRole")):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert not any("*" in value for value in rule.get(field, [])), rule
            if "secrets" in rule["resources"]:
                assert rule["verbs"] == ["get"] and rule["resourceNames"], rule
                assert role["kind"] == "Role"
                assert role["metadata"]["namespace"] == NAMESPACE
    grants = granted(objects)
    assert not any(resource == "secrets" for _, _, resource, _ in grants)
    assert all(where == NAMESPACE for where, _, resource, _ in grants if "lease" in resource)


def test_rbac_off_renders_no_roles() -> None:
    objects = render({"rbac": {"create": False}})
    assert not [obj for obj in objects if "Role" in obj["kind"]]
