"""The real etcd + kube-apiserver as a test fixture: one server per test session, swept
back to its starting state after every test, so tests written for the emulator (which
starts fresh per test in a millisecond) run unchanged against it.

Skipped, loudly, when the binaries are not built and the Go toolchain is absent. When
`make` says the tier must run (`EDGIO_INGRESS_REAL_KUBE=required`, set by `make test`
whenever `go` is present), missing binaries are an error, not a skip.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from edgio_sandbox.kube import KubeEmulator
from edgio_sandbox.realkube import RealKube, binaries_present, default_binaries

# What the sweep lists after each test: every kind a conformance test may create (the
# emulator serves no others) and what kube-controller-manager makes of them, by collection
# path, owners before what they own. Custom resources are added per sweep from the CRDs
# that exist.
SWEPT = (
    "/apis/batch/v1/cronjobs",
    "/apis/batch/v1/jobs",
    "/apis/apps/v1/deployments",
    "/apis/apps/v1/replicasets",
    "/api/v1/configmaps",
    "/api/v1/secrets",
    "/api/v1/services",
    "/api/v1/endpoints",
    "/api/v1/events",
    "/api/v1/pods",
    "/apis/networking.k8s.io/v1/ingresses",
    "/apis/coordination.k8s.io/v1/leases",
    "/apis/events.k8s.io/v1/events",
    "/apis/networking.k8s.io/v1/ingressclasses",
    "/api/v1/nodes",
    "/api/v1/serviceaccounts",
    "/apis/rbac.authorization.k8s.io/v1/roles",
    "/apis/rbac.authorization.k8s.io/v1/rolebindings",
    "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
)
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
NAMESPACES = "/api/v1/namespaces"


def parametrize_kube(metafunc: pytest.Metafunc) -> None:
    """Run a test that uses the `kube` fixture on the emulator and on the real server,
    unless it is marked `emulator_only(reason)`."""
    if "kube" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("emulator_only")
        metafunc.parametrize("kube", ["emulator"] if only else ["emulator", "real"], indirect=True)


def _required() -> bool:
    return os.environ.get("EDGIO_INGRESS_REAL_KUBE") == "required"


def _unavailable(reason: str) -> None:
    if _required():
        pytest.fail(reason, pytrace=False)
    banner = "#" * 78
    message = f"\n{banner}\n## SKIPPING the real kube-apiserver tier: {reason}\n{banner}"
    print(message, file=sys.stderr)
    pytest.skip(reason)


def require_binaries() -> None:
    """Skip (loudly) or fail, as the tier must, when etcd and kube-apiserver are missing."""
    if not binaries_present():
        if shutil.which("go") is None:
            _unavailable("no Go toolchain to build etcd and kube-apiserver")
        _unavailable(f"the Kubernetes binaries are not built in {default_binaries()}: `make test`")


@pytest.fixture(scope="session")
def real_kube_server() -> Iterator[RealKube]:
    require_binaries()
    # Only the controllers the conformance tests are about. The others write on their own
    # (a default ServiceAccount in each new namespace, conditions and taints on Nodes the
    # tests seed without a kubelet's heartbeat), which tests of revisions and of Nodes
    # would see; the pod runner's control plane (tests/plane) runs them all.
    controllers = ("garbage-collector-controller", "namespace-controller")
    with RealKube(anonymous_admin=True, controllers=controllers) as server:
        yield server


@pytest.fixture
def real_kube(real_kube_server: RealKube, monkeypatch: pytest.MonkeyPatch) -> Iterator[RealKube]:
    """The session's server; raw `requests` calls verify it against its CA; everything the
    test created is deleted afterwards."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(real_kube_server.ca_file))
    session = real_kube_server.session()
    baseline = _uids(session, real_kube_server.url)
    yield real_kube_server
    _sweep(session, real_kube_server.url, baseline)


@pytest.fixture
def kube(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The emulator, fresh; or the session's real kube-apiserver, swept after the test
    (the parameter `parametrize_kube` gives)."""
    if request.param == "real":
        yield request.getfixturevalue("real_kube")
        return
    with KubeEmulator() as server:
        yield server


# --- the sweep ---------------------------------------------------------------------------


def _items(session: requests.Session, url: str, path: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    answer = session.get(url + path, timeout=10)
    # 429 while a CRD's storage is set up or torn down: "try again later", as it says.
    while answer.status_code == 429 and time.monotonic() < deadline:
        time.sleep(0.05)
        answer = session.get(url + path, timeout=10)
    if answer.status_code == 404:
        return []
    answer.raise_for_status()
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def _custom_paths(session: requests.Session, url: str) -> list[str]:
    paths = []
    for crd in _items(session, url, CRDS):
        spec = crd["spec"]
        for version in spec["versions"]:
            if version.get("served"):
                paths.append(f"/apis/{spec['group']}/{version['name']}/{spec['names']['plural']}")
    return paths


def _uids(session: requests.Session, url: str) -> set[str]:
    paths = [*SWEPT, CRDS, NAMESPACES, *_custom_paths(session, url)]
    return {item["metadata"]["uid"] for path in paths for item in _items(session, url, path)}


def _self_path(collection: str, item: dict[str, Any]) -> str:
    meta = item["metadata"]
    prefix, plural = collection.rsplit("/", 1)
    scope = f"/namespaces/{meta['namespace']}" if meta.get("namespace") else ""
    return f"{prefix}{scope}/{plural}/{meta['name']}"


def _remove(session: requests.Session, url: str, collection: str, item: dict[str, Any]) -> None:
    """Clear the finalizers nobody is left to honour, then delete."""
    path = url + _self_path(collection, item)
    if item["metadata"].get("finalizers"):
        session.patch(
            path,
            json={"metadata": {"finalizers": None}},
            headers={"Content-Type": "application/merge-patch+json"},
            timeout=10,
        )
    session.delete(path, params={"gracePeriodSeconds": "0"}, timeout=10)


def _delete_new(session: requests.Session, url: str, baseline: set[str]) -> None:
    """Delete what the test created: custom resources, then their CRDs, then built-ins,
    then namespaces (finalized by hand, not left to the namespace controller's backoff),
    so the next test starts where this one did."""
    for path in [*_custom_paths(session, url), *SWEPT]:
        for item in _items(session, url, path):
            if item["metadata"]["uid"] not in baseline:
                _remove(session, url, path, item)
    for crd in _items(session, url, CRDS):
        if crd["metadata"]["uid"] not in baseline:
            _remove(session, url, CRDS, crd)
    for namespace in _items(session, url, NAMESPACES):
        if namespace["metadata"]["uid"] not in baseline:
            _remove(session, url, NAMESPACES, namespace)
            name = namespace["metadata"]["name"]
            session.put(
                f"{url}{NAMESPACES}/{name}/finalize",
                json={
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": name},
                    "spec": {"finalizers": []},
                },
                timeout=10,
            )


def _sweep(session: requests.Session, url: str, baseline: set[str]) -> None:
    """Delete what the test created, and again until all of it is gone: a delete can
    race a write the test's own processes were still making, so one round is not enough."""
    deadline = time.monotonic() + 60
    while True:
        _delete_new(session, url, baseline)
        left = _uids(session, url) - baseline
        if not left:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"real kube-apiserver: {len(left)} objects outlived the sweep")
        # A CRD's removal is asynchronous: its cleanup controller deletes its objects first.
        time.sleep(0.05)
