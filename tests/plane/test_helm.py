"""The chart as an operator installs it: `helm install --wait` on a real control plane
(kube-apiserver, kube-controller-manager, the sandbox's pod runner as kubelet), the
controller running as the chart's two pods, then the life of a release: the seed example
converging, a rolling restart, the drift-correction CronJob's Job, Ingress and namespace
deletion, `helm upgrade` and `helm uninstall`."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from tests.controller.conftest import HOST, SHORTNAME, ZONE
from tests.plane.conftest import Plane
from tests.safety.test_failover import seconds
from tests.support import EXAMPLES, eventually, ingress_manifest

pytestmark = pytest.mark.slow

RELEASE, NAMESPACE = "edge", "edgio-system"
DEPLOYMENT = f"deployment/{RELEASE}-edgio-ingress"
CRONJOB = f"cronjob/{RELEASE}-edgio-ingress-drift-correction"
CHART = str(EXAMPLES.parent / "charts" / "edgio-ingress")
NODE_ADDRESSES = ["192.0.2.11", "192.0.2.12"]  # the pod runner's nodes' ExternalIPs
SEED = (
    "pywai-inline-service.yaml",
    "pywai-inline-deployment.yaml",
    "pywai-edgio-ingress-matching.yaml",
)


def credentials(plane: Plane) -> None:
    """The existing Secret the chart is pointed at: the emulators' URLs and credentials,
    which a pod reaches at the same loopback URLs as the host."""
    env = {**plane.vultr.env(), **plane.edgio.env()}
    plane.kubectl("create", "namespace", NAMESPACE)
    literals = [f"--from-literal={key}={value}" for key, value in sorted(env.items())]
    plane.kubectl("create", "secret", "generic", "edgio-credentials", "-n", NAMESPACE, *literals)


def controller_pods(plane: Plane) -> list[dict[str, Any]]:
    """The controller's pods, but not those terminating after a rollout."""
    selector = "app.kubernetes.io/component=controller"
    listed = plane.kubectl("get", "pods", "-n", NAMESPACE, "-l", selector, "-o", "json")
    pods: list[dict[str, Any]] = json.loads(listed)["items"]
    return [pod for pod in pods if not pod["metadata"].get("deletionTimestamp")]


def rules(plane: Plane) -> list[dict[str, Any]]:
    return [i for i in plane.edgio.instances(SHORTNAME) if i["body"]["publishedHostname"] == HOST]


def a_records(plane: Plane) -> list[str]:
    return sorted(r["data"] for r in plane.vultr.records(ZONE) if r["type"] == "A")


def log_lines(plane: Plane, pod: str) -> list[dict[str, Any]]:
    """A controller pod's JSON log lines (anything else, a traceback say, as `raw`)."""
    lines = []
    for text in plane.pods.log(NAMESPACE, pod, "controller").splitlines():
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:
            lines.append({"raw": text})
    return lines


def pass_intervals(plane: Plane, pod: str) -> list[tuple[float, float]]:
    """(start, end) of every pass a controller pod logged."""
    ends = [(seconds(line["timestamp"]), line) for line in log_lines(plane, pod)
            if line.get("event") == "pass"]  # fmt: skip
    return [(end - float(line["duration"]), end) for end, line in ends]


def errors(plane: Plane) -> list[dict[str, Any]]:
    """What the running controller pods logged as errors, or could not log as JSON."""
    return [
        line for pod in controller_pods(plane) for line in log_lines(plane, pod["metadata"]["name"])
        if "raw" in line or line.get("level") == "error"
    ]  # fmt: skip


def route_ready(plane: Plane, name: str, namespace: str = "default") -> None:
    """`kubectl wait` for the derived route's Ready, once the controller has made it."""
    route = ["edgioroute", name, "-n", namespace]
    eventually(lambda: "NotFound" not in plane.kubectl("get", *route, check=False), timeout=60)
    plane.kubectl("wait", "--for=condition=Ready", *route, "--timeout=90s")


def install(plane: Plane, *values: str) -> str:
    return plane.helm(
        "install", RELEASE, CHART, "--namespace", NAMESPACE, "--wait", "--timeout", "90s",
        "--set", "credentials.existingSecret=edgio-credentials", *values,
    )  # fmt: skip


def test_the_chart_installed_by_helm_runs_the_whole_story(plane: Plane) -> None:
    credentials(plane)
    install(plane)
    pods = controller_pods(plane)
    assert len(pods) == 2 and all(p["status"]["phase"] == "Running" for p in pods)
    assert len({p["spec"]["nodeName"] for p in pods}) == 2  # spread over the nodes

    for example in SEED:
        plane.kubectl("apply", "-f", str(EXAMPLES / example))
    route_ready(plane, "pywai-inline-ingress")
    (rule,) = rules(plane)
    assert a_records(plane) == NODE_ADDRESSES

    rolling_restart_keeps_the_rule(plane, rule["uuid"])
    the_cronjob_completes_beside_the_leader(plane)
    deleting_removes_what_was_published(plane)

    plane.helm(
        "upgrade", RELEASE, CHART, "--namespace", NAMESPACE, "--reuse-values",
        "--set", "controller.logLevel=debug", "--set", "driftCorrection.schedule=* * * * *",
        "--wait", "--timeout", "120s",
    )  # fmt: skip
    for pod in controller_pods(plane):
        assert "--log-level=debug" in pod["spec"]["containers"][0]["args"]
    # The CronJob on its new schedule: the CronJob controller starts a Job within a minute.
    last = ["get", CRONJOB, "-n", NAMESPACE, "-o", "jsonpath={.status.lastSuccessfulTime}"]
    eventually(lambda: plane.kubectl(*last), timeout=150)

    plane.kubectl("apply", "-f", str(EXAMPLES / "pywai-edgio-ingress-matching.yaml"))
    route_ready(plane, "pywai-inline-ingress")
    plane.helm("uninstall", RELEASE, "--namespace", NAMESPACE, "--wait")
    # What the chart README says stays: the CRD, and what was published, untouched.
    assert "edgioroutes.cdn.edgio.io" in plane.kubectl("get", "crd", "-o", "name")
    assert len(rules(plane)) == 1 and a_records(plane) == NODE_ADDRESSES
    assert "No resources" in plane.kubectl("get", "deployments", "-n", NAMESPACE)


def rolling_restart_keeps_the_rule(plane: Plane, uuid: str) -> None:
    """Throughout the rollout the rule stays, never duplicated; provider writes come from
    one pod's pass at a time."""
    seen: list[list[str]] = []
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            seen.append([r["uuid"] for r in rules(plane)])

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        plane.kubectl("rollout", "restart", DEPLOYMENT, "-n", NAMESPACE)
        plane.kubectl("rollout", "status", DEPLOYMENT, "-n", NAMESPACE, "--timeout=180s")
    finally:
        done.set()
        watcher.join()
    assert seen and all(uuids == [uuid] for uuids in seen)
    names = [p["metadata"]["name"] for p in controller_pods(plane)]
    intervals = {name: pass_intervals(plane, name) for name in names}
    for write in [*plane.vultr.writes(), *plane.edgio.writes()]:
        writers = [
            name for name, passes in intervals.items()
            if any(s - 0.05 <= write.started and write.finished <= e + 0.05 for s, e in passes)
        ]  # fmt: skip
        assert len(writers) <= 1, (write, writers)


def the_cronjob_completes_beside_the_leader(plane: Plane) -> None:
    plane.kubectl("create", "job", "--from", CRONJOB, "drift-now", "-n", NAMESPACE)
    plane.kubectl(
        "wait", "--for=condition=Complete", "job/drift-now", "-n", NAMESPACE, "--timeout=120s"
    )
    assert len(controller_pods(plane)) == 2


def deleting_removes_what_was_published(plane: Plane) -> None:
    """The garbage collector deletes the derived route, the controller's finalizer takes
    its rule and the unused records away; a namespace's deletion does the same for all."""
    plane.kubectl("delete", "ingress", "pywai-inline-ingress", "--wait=false")
    eventually(lambda: not rules(plane) and not a_records(plane), timeout=90)
    eventually(lambda: "No resources" in plane.kubectl("get", "er", "-A"), timeout=60)
    assert not errors(plane)  # no error loop over the route the collector took away

    plane.kubectl("create", "namespace", "shop")
    plane.kubectl("apply", "-n", "shop", "-f", str(EXAMPLES / "pywai-inline-service.yaml"))
    shop = ingress_manifest(
        "shop", ["/shop"], "pywai-inline-service", {"number": 80}, namespace="shop"
    )
    plane.apply(shop)
    route_ready(plane, "shop", "shop")
    assert len(rules(plane)) == 1
    plane.kubectl("delete", "namespace", "shop", "--timeout=120s")
    eventually(lambda: not rules(plane) and not a_records(plane), timeout=60)
