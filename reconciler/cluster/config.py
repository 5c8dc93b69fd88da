"""Connecting to the cluster, and what the controller reads from it once at start."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
# (connect, read) of every API call that names none: a hung call fails, and a write sent
# just before leadership ended cannot land long after. Watches and Lease calls set theirs.
REQUEST_TIMEOUT = (5.0, 30.0)
# A call is tried again only when it never reached the server. urllib3's default retries
# a timed-out read three times, which turned a Lease call's 2 s into 8 s and would send
# a write again after its answer was lost; a failed call fails, and its caller (the next
# renewal, the next pass, the informer's relist) tries again knowing it failed.
RETRIES = urllib3.Retry(connect=2, read=0, status=0, other=0, redirect=3)


class TimedApiClient(client.ApiClient):
    """An ApiClient whose every call has a timeout (the generated client has none)."""

    def call_api(
        self,
        method: Any,
        url: Any,
        header_params: Any = None,
        body: Any = None,
        post_params: Any = None,
        _request_timeout: Any = None,
    ) -> Any:
        timeout = REQUEST_TIMEOUT if _request_timeout is None else _request_timeout
        return super().call_api(method, url, header_params, body, post_params, timeout)


class ClusterUnreachable(Exception):
    """No configuration, or the API server did not answer; the message says which."""


def api_client(kubeconfig: str | None) -> client.ApiClient:
    """From the kubeconfig file when one is named, else the in-cluster service account."""
    configuration = client.Configuration()
    try:
        if kubeconfig:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, client_configuration=configuration
            )
        else:
            config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration
            )
    except (ConfigException, OSError) as error:
        where = f"kubeconfig {kubeconfig}" if kubeconfig else "in-cluster configuration"
        raise ClusterUnreachable(f"KUBECONFIG: cannot load the {where}: {error}") from None
    configuration.retries = RETRIES
    return TimedApiClient(configuration)


def own_namespace() -> str:
    """The namespace the controller runs in (for its Lease and Secret), else default."""
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or "default"
    except OSError:
        return os.environ.get("POD_NAMESPACE", "default")


def cluster_owner_id(api: client.ApiClient, namespaces: Sequence[str] = ()) -> str:
    """The default owner id: the uid of the kube-system namespace, which is created with
    the cluster and never changes, so it is stable across restarts and reinstalls.

    An install that watches only some namespaces gets its own: the uid and a digest of
    the sorted namespace list. Two installs in one cluster, each watching its own
    namespaces, then never take each other's records and rules for their own."""
    try:
        namespace: Any = client.CoreV1Api(api).read_namespace("kube-system")
    except ApiException as error:
        raise ClusterUnreachable(
            f"--owner-id: not set, and the kube-system namespace cannot be read "
            f"(HTTP {error.status}) to derive one"
        ) from None
    except Exception as error:
        raise ClusterUnreachable(f"cannot reach the cluster: {type(error).__name__}") from None
    uid = str(namespace.metadata.uid or "")
    if not uid:
        raise ClusterUnreachable("--owner-id: not set, and kube-system has no uid")
    return namespaced_owner_id(f"k8s-{uid}", namespaces)


def namespaced_owner_id(cluster_id: str, namespaces: Sequence[str]) -> str:
    """`cluster_id` for a cluster-wide install; `<cluster_id>-ns-<12 hex digits>` for one
    watching `namespaces`, the same for the same set in any order (at most 56 characters
    from a kube-system uid, inside the 63 an owner id may have)."""
    if not namespaces:
        return cluster_id
    digest = hashlib.sha256(",".join(sorted(set(namespaces))).encode()).hexdigest()
    return f"{cluster_id}-ns-{digest[:12]}"


def read_secret(api: client.ApiClient, namespace: str, name: str) -> dict[str, str]:
    """The string values of a Secret's keys (never logged)."""
    try:
        secret: Any = client.CoreV1Api(api).read_namespaced_secret(name, namespace)
    except ApiException as error:
        raise ClusterUnreachable(
            f"--credentials-secret: cannot read Secret {namespace}/{name} (HTTP {error.status})"
        ) from None
    values = {key: base64.b64decode(value).decode() for key, value in (secret.data or {}).items()}
    values.update(secret.string_data or {})
    return {key: value.strip() for key, value in values.items()}
