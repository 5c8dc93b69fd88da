"""Every Kubernetes API call the controller makes has a timeout, and a hung call fails
once, within it: the client library must not quietly try it again (its default tried a
timed-out read three more times, turning a 2 s Lease call into 8 s)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from edgio_sandbox.kube import KubeEmulator
from edgio_sandbox.kubeconfig import write_kubeconfig
from reconciler.cluster import config
from reconciler.cluster.lease import CALL_TIMEOUT, RENEW_DEADLINE
from tests.support import TcpProxy


@pytest.fixture
def hung(tmp_path: Path) -> Iterator[client.ApiClient]:
    """The controller's ApiClient for an API server that accepts and never answers."""
    with KubeEmulator() as kube, TcpProxy(kube.url) as proxy:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", "s", {"server": proxy.url}, "t")
        api = config.api_client(str(kubeconfig))
        client.CoreV1Api(api).list_node()  # the client's first call builds its models: slow
        client.CoordinationV1Api(api).list_namespaced_lease("default")
        proxy.cut("hang")
        yield api


def test_a_hung_lease_call_fails_within_its_timeout(hung: client.ApiClient) -> None:
    lease = client.CoordinationV1Api(hung)
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017 (whatever urllib3 raises)
        lease.read_namespaced_lease("edgio-ingress", "default", _request_timeout=CALL_TIMEOUT)
    took = time.monotonic() - started
    assert took < sum(CALL_TIMEOUT) + 0.5
    assert 2 * took < RENEW_DEADLINE  # a renewal (a read and a replace) both hung


def test_a_call_that_names_no_timeout_gets_the_default(
    hung: client.ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "REQUEST_TIMEOUT", (1.0, 1.0))  # the default, made short
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017
        client.CoreV1Api(hung).list_node()
    assert time.monotonic() - started < 2.5
