"""The chart's RBAC, enforced: on the real kube-apiserver (authorization mode RBAC) the
controller runs as the chart's ServiceAccount, with a token from the TokenRequest API, and
must publish a route with nothing but what the chart grants: read the caches, derive the
route, write its status and the Ingress's hostnames, send Events, hold its Lease and, with
no owner id set, read the kube-system namespace. test_rbac.py checks the rules as written;
this checks that they are enough, in the cluster-wide and in the namespaced mode."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.chart.chart import FULLNAME, NAMESPACE, render
from tests.controller.conftest import World, converged, ingress

# The emulator authorises everything: only the real server can say no.
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("kube", ["real"], indirect=True)]

RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")


@pytest.mark.parametrize(
    "values", [{}, {"watchNamespaces": ["default"]}], ids=["cluster", "namespaced"]
)
def test_the_chart_grants_all_a_pass_needs(world: World, values: dict[str, Any]) -> None:
    world.kubectl("create", "namespace", NAMESPACE)
    rbac = [obj for obj in render(values) if obj["kind"] in RBAC_KINDS]
    world.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(rbac))
    world.seed_cluster()
    world.apply(ingress("web"))
    token = world.kubectl("create", "token", FULLNAME, "--namespace", NAMESPACE).strip()
    env = {
        **world.env,
        "KUBECONFIG": str(world.kube.kubeconfig(world.tmp / "controller.kubeconfig", token)),
        "POD_NAMESPACE": NAMESPACE,
    }
    scope = ["--namespace", "default"] if values else []
    result = world.once(*scope, env=env)
    assert result.returncode == 0, result.stderr
    refused = [line for line in result.stderr.splitlines() if '"status": 403' in line]
    assert not refused, refused
    assert converged(world, "web") and "/fred" in world.rules()
    loaded = world.kube.get("networking.k8s.io/v1", "Ingress", "web", "default") or {}
    assert loaded["status"]["loadBalancer"]["ingress"], "the Ingress status was not written"
    assert world.events("Ingress"), "no Event was recorded"
    assert world.kube.get("coordination.k8s.io/v1", "Lease", "edgio-ingress", NAMESPACE)


def test_the_service_account_may_not_read_other_secrets(world: World) -> None:
    """Least privilege, checked by the server: no Secret but the credentials one."""
    world.kubectl("create", "namespace", NAMESPACE)
    rbac = [obj for obj in render() if obj["kind"] in RBAC_KINDS]
    world.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(rbac))
    as_controller = f"system:serviceaccount:{NAMESPACE}:{FULLNAME}"
    allowed = [
        ("get", f"secrets/{FULLNAME}-credentials", NAMESPACE),
        ("list", "ingresses.networking.k8s.io", "default"),
        ("create", "events", "default"),
    ]
    denied = [
        ("get", "secrets/other", NAMESPACE),
        ("list", "secrets", NAMESPACE),
        ("delete", "ingresses.networking.k8s.io", "default"),
        ("update", "nodes", ""),
    ]
    for verb, resource, namespace in allowed + denied:
        where = ["--namespace", namespace] if namespace else []
        answer = world.kubectl(
            "auth", "can-i", verb, resource, "--as", as_controller, *where, check=False
        ).strip()
        assert answer == ("yes" if (verb, resource, namespace) in allowed else "no"), (
            verb,
            resource,
        )
