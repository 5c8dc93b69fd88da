"""The chart's RBAC, enforced: on the real kube-apiserver (authorization mode RBAC) the
controller runs as the chart's ServiceAccount, with a token from the TokenRequest API, and
must publish a route with nothing but what the chart grants: read the caches, derive the
route, write its status and the Ingress's hostnames, send Events, hold its Lease and, with
no owner id set, read the kube-system namespace. test_rbac.py checks the rules as written;
this checks that they are enough, in the cluster-wide and in the namespaced mode."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
import yaml

from tests.chart.chart import FULLNAME, NAMESPACE, render
from tests.controller.conftest import SHORTNAME, ZONE, World, converged, ingress
from tests.controller.test_observability import free_port, get
from tests.support import eventually

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


def deployment_container(values: dict[str, Any]) -> dict[str, Any]:
    (deployment,) = [obj for obj in render(values) if obj["kind"] == "Deployment"]
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def test_the_controller_as_the_chart_runs_it_becomes_ready(world: World) -> None:
    """The Deployment's own args (`--credentials-secret` among them), its env (the
    Secret's keys by `envFrom`, the pod's namespace and name) and its ServiceAccount,
    with nothing but the chart's RBAC: `/readyz` must answer 200, or `helm install
    --wait` and every rollout hang. The Secret may only be read by name (`get`)."""
    values = {
        "credentials": {"existingSecret": "edgio-credentials"},
        "controller": {"zones": [ZONE], "shortnames": [SHORTNAME], "interval": 2},
    }
    world.kubectl("create", "namespace", NAMESPACE)
    rbac = [obj for obj in render(values) if obj["kind"] in RBAC_KINDS]
    world.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(rbac))
    keys = {**world.vultr.env(), **world.edgio.env()}
    world.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "edgio-credentials", "namespace": NAMESPACE},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in keys.items()},
        }
    )
    world.seed_cluster()
    world.apply(ingress("web"))
    container = deployment_container(values)
    assert container["envFrom"] == [{"secretRef": {"name": "edgio-credentials"}}]
    token = world.kubectl("create", "token", FULLNAME, "--namespace", NAMESPACE).strip()
    env = {
        **{k: v for k, v in os.environ.items() if k not in keys and k != "KUBECONFIG"},
        **keys,  # what envFrom gives the pod
        "KUBECONFIG": str(world.kube.kubeconfig(world.tmp / "controller.kubeconfig", token)),
        "POD_NAMESPACE": NAMESPACE,  # from the pod's fieldRefs
        "POD_NAME": "edge-edgio-ingress-0",
    }
    assert {e["name"] for e in container["env"]} == {"POD_NAMESPACE", "POD_NAME"}
    health = free_port()
    args = [
        a for a in container["args"][1:] if not a.startswith(("--metrics-addr", "--health-addr"))
    ]
    assert "--credentials-secret=edgio-credentials" in args
    world.start(*args, "--health-addr", f"127.0.0.1:{health}", env=env)
    eventually(lambda: get(f"http://127.0.0.1:{health}/readyz")[0] == 200, timeout=30)
    eventually(lambda: converged(world, "web"), timeout=30)
    refused = [line for line in world.log_lines() if line.get("status") == 403]
    assert not refused, refused
