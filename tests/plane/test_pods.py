"""The sandbox's pod runner as kubelet: Nodes kept Ready by heartbeats, pods bound and
run, each in its own network namespace, probes with kubelet's counting, restarts, Jobs
that succeed or fail by exit code, and graceful deletion."""

from __future__ import annotations

import ipaddress
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.plane.conftest import Plane
from tests.support import eventually

IMAGE = "registry.example/team/edgio-ingress:test"  # runs as the command it is given
SERVER = """
import http.server, sys
code = int(sys.argv[1])
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(code)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("", 8000), Handler).serve_forever()
"""


@pytest.fixture
def namespace(plane: Plane) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    plane.kubectl("create", "namespace", name)
    # Pods are refused until the ServiceAccount controller has made the namespace's
    # default account, as in a cluster.
    eventually(lambda: "default" in plane.kubectl("get", "sa", "-n", name, check=False), 30)
    yield name
    plane.kubectl("delete", "namespace", name, "--wait=false")


def pod(name: str, namespace: str, command: list[str], **container: Any) -> dict[str, Any]:
    spec = container.pop("pod", {})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            **spec,
            "containers": [{"name": "main", "image": IMAGE, "command": command, **container}],
        },
    }


def server(name: str, namespace: str, code: int, **probes: Any) -> dict[str, Any]:
    port = [{"name": "http", "containerPort": 8000}]
    return pod(name, namespace, ["python3", "-c", SERVER, str(code)], ports=port, **probes)


def probe(**settings: Any) -> dict[str, Any]:
    return {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1, **settings}


def read(plane: Plane, kind: str, name: str, namespace: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(
        plane.kubectl("get", kind, name, "-n", namespace, "-o", "json")
    )
    return found


def container_status(plane: Plane, name: str, namespace: str) -> dict[str, Any]:
    statuses = read(plane, "pod", name, namespace).get("status", {}).get("containerStatuses")
    return dict(statuses[0]) if statuses else {}


def test_nodes_are_registered_ready_and_kept_so_by_lease_heartbeats(plane: Plane) -> None:
    nodes = json.loads(plane.kubectl("get", "nodes", "-o", "json"))["items"]
    assert len(nodes) == 2
    for node in nodes:
        ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
        assert ready == "True"
        external = [a["address"] for a in node["status"]["addresses"] if a["type"] == "ExternalIP"]
        assert ipaddress.ip_address(external[0]) in ipaddress.ip_network("192.0.2.0/24")
    name = nodes[0]["metadata"]["name"]

    def renewed() -> str:
        return str(read(plane, "lease", name, "kube-node-lease")["spec"]["renewTime"])

    first = renewed()
    eventually(lambda: renewed() != first, timeout=30)


def test_two_pods_on_one_port_each_probed_in_its_own_namespace(
    plane: Plane, namespace: str
) -> None:
    """Same containerPort side by side; the failing one's probe never reaches the other."""
    plane.apply(
        server("healthy", namespace, 200, readinessProbe=probe()),
        server("failing", namespace, 500, readinessProbe=probe()),
    )
    plane.kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/healthy", "--timeout=60s")
    eventually(lambda: container_status(plane, "failing", namespace).get("started"), timeout=30)
    eventually(lambda: read(plane, "pod", "failing", namespace)["status"]["phase"] == "Running", 30)
    failing = container_status(plane, "failing", namespace)
    assert failing["ready"] is False and failing["restartCount"] == 0
    assert (
        read(plane, "pod", "healthy", namespace)["status"]["podIP"]
        != read(plane, "pod", "failing", namespace)["status"]["podIP"]
    )


def test_a_failing_liveness_probe_restarts_the_container(plane: Plane, namespace: str) -> None:
    plane.apply(server("sick", namespace, 500, livenessProbe=probe(failureThreshold=2)))

    def restarted() -> dict[str, Any] | None:
        status = container_status(plane, "sick", namespace)
        return status if status.get("restartCount", 0) >= 1 else None

    status = eventually(restarted, timeout=60)
    assert "terminated" in status["lastState"]


def job(name: str, namespace: str, script: str, **container: Any) -> dict[str, Any]:
    template = pod(name, namespace, ["sh", "-c", script], **container)
    template["spec"]["restartPolicy"] = "Never"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"backoffLimit": 0, "template": {"spec": template["spec"]}},
    }


def test_job_pods_run_to_completion_with_env_from_configmaps_secrets_and_fields(
    plane: Plane, namespace: str
) -> None:
    plane.kubectl("create", "configmap", "settings", "-n", namespace, "--from-literal=GREETING=hi")
    plane.kubectl("create", "secret", "generic", "keys", "-n", namespace, "--from-literal=TOKEN=s3")
    env = [
        {"name": "WHO", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "LINE", "value": "$(GREETING) from $(WHO)"},
    ]
    env_from = [
        {"configMapRef": {"name": "settings"}},
        {"secretRef": {"name": "keys"}, "prefix": "K_"},
    ]
    plane.apply(
        job("works", namespace, 'echo "$LINE $K_TOKEN"', env=env, envFrom=env_from),
        job("fails", namespace, "exit 3"),
    )
    plane.kubectl("wait", "-n", namespace, "--for=condition=Complete", "job/works", "--timeout=60s")
    plane.kubectl("wait", "-n", namespace, "--for=condition=Failed", "job/fails", "--timeout=60s")
    (works,) = json.loads(
        plane.kubectl("get", "pods", "-n", namespace, "-l", "job-name=works", "-o", "json")
    )["items"]
    assert (
        plane.pods.log(namespace, works["metadata"]["name"], "main") == f"hi from {namespace} s3\n"
    )
    (fails,) = json.loads(
        plane.kubectl("get", "pods", "-n", namespace, "-l", "job-name=fails", "-o", "json")
    )["items"]
    assert fails["status"]["phase"] == "Failed"
    assert fails["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3


def test_deletion_sends_sigterm_then_sigkill_after_the_grace_period(
    plane: Plane, namespace: str
) -> None:
    loop = "while :; do sleep 0.1; done"
    plane.apply(
        pod("polite", namespace, ["sh", "-c", f"trap 'echo TERM; exit 0' TERM; {loop}"]),
        pod(
            "stubborn",
            namespace,
            ["sh", "-c", f"trap '' TERM; {loop}"],
            pod={"terminationGracePeriodSeconds": 3},
        ),
    )
    for name in ("polite", "stubborn"):
        eventually(
            lambda n=name: "running" in container_status(plane, n, namespace).get("state", {}), 60
        )
    plane.kubectl("delete", "pod", "polite", "-n", namespace, "--timeout=30s")
    assert plane.pods.log(namespace, "polite", "main") == "TERM\n"
    began = time.monotonic()
    plane.kubectl("delete", "pod", "stubborn", "-n", namespace, "--timeout=30s")
    assert 3 <= time.monotonic() - began < 20


def test_an_image_that_is_not_edgio_ingress_waits_with_a_reason(
    plane: Plane, namespace: str
) -> None:
    other = pod("web", namespace, ["nginx"], image="nginx:1.27")
    plane.apply(other)
    status = eventually(lambda: container_status(plane, "web", namespace).get("state"), 30)
    assert status["waiting"]["reason"] == "ImageNotRunnable"
    assert "nginx:1.27" in status["waiting"]["message"]
    assert read(plane, "pod", "web", namespace)["status"]["phase"] == "Pending"
