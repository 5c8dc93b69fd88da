"""A real etcd and kube-apiserver on loopback, started the way controller-runtime's envtest
starts them, as the second server the tests run against beside the emulator.

The emulator is our own reading of the Kubernetes API; this is the API itself, built from
the pinned release's Go modules by `tools/kube/build.sh` into a cache outside the clone.
It has the same harness surface as :class:`KubeEmulator` where that surface means the same
thing on a real server (`url`, `kubeconfig`, `api_client`, `get`, `list`, `start`/`stop`
as a context manager), so a test fixture can hand out either one.

What it sets up, all in one temporary directory removed on stop:

- etcd on a free loopback port, with its own data directory and no fsync (test data);
- a private CA (the `openssl` command-line tool), and a serving certificate for
  127.0.0.1 and localhost signed by it, so clients verify the server instead of skipping
  TLS verification;
- a service-account signing key pair, which kube-apiserver refuses to start without;
- an admin bearer token (a static token file, user in `system:masters`);
- the NodePort range 30000-32767 and a small service CIDR, so Services get what they get
  in a cluster.

Authorization is RBAC, as in a cluster; the admin token is in `system:masters`. With
`anonymous_admin`, requests without credentials are bound to `cluster-admin`, as the
emulator takes any request: the conformance tests send raw HTTP requests without a token.
Beside them runs kube-controller-manager with the `controllers` asked for (all of
:data:`CONTROLLERS` unless told otherwise; none: no controller-manager), as in a cluster:
the garbage collector, the namespace controller, Deployments, ReplicaSets, Jobs,
CronJobs, ServiceAccounts and their tokens, and node lifecycle. It signs
ServiceAccount tokens with the API server's key and authenticates with the admin token.
There is no kube-scheduler and no kubelet: pods stay Pending unless the sandbox's pod
runner (`edgio_sandbox.pods`) binds and runs them.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import requests

from edgio_sandbox.kubeconfig import write_kubeconfig

Obj = dict[str, Any]
Objs = list[Obj]

#: The release `tools/kube/go.mod` pins; the cache directory is named after it.
KUBE_VERSION = "1.34.4"

BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")

#: The controllers a cluster runs that the tests and the sandbox rely on (the defaults
#: minus those for volumes, certificates, IPAM and services, which nothing here uses).
CONTROLLERS = (
    "garbage-collector-controller",
    "namespace-controller",
    "deployment-controller",
    "replicaset-controller",
    "job-controller",
    "cronjob-controller",
    "ttl-after-finished-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "node-lifecycle-controller",
    "taint-eviction-controller",
    "pod-garbage-collector-controller",
    "validatingadmissionpolicy-status-controller",
)

SERVICE_CIDR = "10.96.0.0/12"  # the kubeadm default, which the emulator allocates from too
NODE_PORT_RANGE = "30000-32767"


def default_binaries() -> Path:
    """Where `tools/kube/build.sh` put its newest build: outside any clone, so every clone
    on the machine shares one build. The build names its directory in
    `kube-<version>.current` (each build has its own directory, so a rebuild never
    replaces binaries a running test uses)."""
    override = os.environ.get("EDGIO_INGRESS_KUBE_BIN")
    if override:
        return Path(override)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"))
    pointer = cache / "edgio-ingress" / f"kube-{KUBE_VERSION}.current"
    try:
        return Path(pointer.read_text().strip())
    except FileNotFoundError:
        return pointer.with_suffix("")  # nothing built yet: the name the error shows


def binaries_present(directory: Path | None = None) -> bool:
    directory = directory or default_binaries()
    return all(os.access(directory / name, os.X_OK) for name in BINARIES)


class RealKubeError(RuntimeError):
    """etcd or kube-apiserver did not come up; the message carries the tail of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now. etcd and kube-apiserver take a number, not a socket,
    so there is a short window in which another process could take it, as in envtest."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class RealKube:
    """etcd plus kube-apiserver for one test session (or one `edgio-sandbox up`)."""

    name = "kube"

    def __init__(
        self,
        binaries: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        start_timeout: float = 120.0,
        anonymous_admin: bool = False,
        controllers: Sequence[str] = CONTROLLERS,
    ):
        self.binaries = binaries or default_binaries()
        self.host = host
        self.port = port
        self.start_timeout = start_timeout
        self.anonymous_admin = anonymous_admin
        self.controllers = tuple(controllers)
        self.token = secrets.token_hex(16)
        self.workdir: Path | None = None
        self._processes: list[subprocess.Popen[bytes]] = []
        self._logs: dict[str, Path] = {}
        self.started_in: float | None = None  # seconds from start() to a ready API server

    # --- life cycle --------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def ca_file(self) -> Path:
        assert self.workdir is not None, "not started"
        return self.workdir / "ca.crt"

    def start(self) -> Self:
        if not binaries_present(self.binaries):
            raise RealKubeError(
                f"no {', '.join(BINARIES)} in {self.binaries}: run `make kube-binaries`"
            )
        began = time.monotonic()
        self.workdir = Path(tempfile.mkdtemp(prefix="edgio-realkube-"))
        try:
            self._certificates(self.workdir)
            etcd_url = self._start_etcd(self.workdir)
            self._start_apiserver(self.workdir, etcd_url)
            if self.controllers:
                self._start_controller_manager(self.workdir)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stop kube-apiserver, then etcd; remove every file."""
        for process in reversed(self._processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._processes.clear()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # --- harness API -------------------------------------------------------------------

    def kubeconfig(self, path: str | Path, token: str | None = None) -> Path:
        """Write a kubeconfig for `kubectl` and the client: our CA (inline, so the file
        stands alone) and the admin token, or `token` (a ServiceAccount's, say)."""
        ca = base64.b64encode(self.ca_file.read_bytes()).decode()
        cluster = {"server": self.url, "certificate-authority-data": ca}
        return write_kubeconfig(path, "realkube", cluster, token or self.token)

    def api_client(self) -> Any:
        """A `kubernetes.client.ApiClient` for this server, without touching ~/.kube."""
        from kubernetes import client

        configuration = client.Configuration(
            host=self.url,
            api_key={"BearerToken": self.token},
            api_key_prefix={"BearerToken": "Bearer"},
        )
        configuration.ssl_ca_cert = str(self.ca_file)
        return client.ApiClient(configuration)

    def session(self) -> requests.Session:
        """A `requests` session that verifies the server and sends the admin token."""
        session = requests.Session()
        session.trust_env = False  # else REQUESTS_CA_BUNDLE would replace our CA
        session.verify = str(self.ca_file)
        session.headers["Authorization"] = f"Bearer {self.token}"
        return session

    def seed(self, obj: Obj) -> Obj:
        """Create (or replace) an object through the API, then its status through /status,
        so a test can set up a Node as the emulator's `seed` does (a real server drops
        status on create)."""
        meta = obj["metadata"]
        kind, namespace = obj["kind"], meta.get("namespace")
        collection = self.url + self._path(obj["apiVersion"], kind, namespace, default=True)
        session = self.session()
        answer = session.post(collection, json=obj, timeout=10)
        if answer.status_code == 409:  # there already: replace it, as the emulator's seed does
            path = f"{collection}/{meta['name']}"
            current = session.get(path, timeout=10)
            current.raise_for_status()
            version = current.json()["metadata"]["resourceVersion"]
            body = {**obj, "metadata": {**meta, "resourceVersion": version}}
            answer = session.put(path, json=body, timeout=10)
        answer.raise_for_status()
        created: Obj = answer.json()
        if "status" in obj:  # merged, not replaced: a controller may have written meanwhile
            path = f"{collection}/{meta['name']}/status"
            answer = session.patch(
                path,
                json={"status": obj["status"]},
                headers={"Content-Type": "application/merge-patch+json"},
                timeout=10,
            )
            answer.raise_for_status()
            created = answer.json()
        return created

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Obj | None:
        path = self._path(api_version, kind, namespace, default=True)
        answer = self.session().get(f"{self.url}{path}/{name}", timeout=10)
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        obj: Obj = answer.json()
        return obj

    def list(self, api_version: str, kind: str, namespace: str | None = None) -> Objs:
        answer = self.session().get(self.url + self._path(api_version, kind, namespace), timeout=10)
        answer.raise_for_status()
        items: Objs = answer.json()["items"]
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def _path(
        self, api_version: str, kind: str, namespace: str | None, *, default: bool = False
    ) -> str:
        """The collection path of a kind, found by discovery (CRDs included). With
        `default`, a namespaced kind without a namespace is in `default`, as in `seed`."""
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        answer = self.session().get(self.url + prefix, timeout=10)
        answer.raise_for_status()
        for resource in answer.json()["resources"]:
            if resource["kind"] == kind and "/" not in resource["name"]:
                if resource["namespaced"] and default:
                    namespace = namespace or "default"
                scope = f"/namespaces/{namespace}" if namespace and resource["namespaced"] else ""
                return f"{prefix}{scope}/{resource['name']}"
        raise KeyError(f"{api_version} {kind} is not served")

    # --- start-up ----------------------------------------------------------------------

    def _certificates(self, workdir: Path) -> None:
        """CA, serving certificate, service-account keys and the static token file."""

        def openssl(*args: str) -> None:
            subprocess.run(["openssl", *args], cwd=workdir, check=True, capture_output=True)

        openssl("genrsa", "-out", "ca.key", "2048")
        openssl(
            "req", "-x509", "-new", "-key", "ca.key", "-days", "2",
            "-subj", "/CN=edgio-ingress-test-ca", "-out", "ca.crt",
        )  # fmt: skip
        openssl("genrsa", "-out", "serving.key", "2048")
        openssl(
            "req", "-new", "-key", "serving.key", "-subj", "/CN=kube-apiserver",
            "-out", "serving.csr",
        )  # fmt: skip
        (workdir / "serving.ext").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes.default.svc\n"
            "extendedKeyUsage=serverAuth\n"
        )
        openssl(
            "x509", "-req", "-in", "serving.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "serving.ext", "-out", "serving.crt",
        )  # fmt: skip
        openssl("genrsa", "-out", "sa.key", "2048")
        openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")
        tokens = workdir / "tokens.csv"
        tokens.write_text(f'{self.token},admin,admin,"system:masters"\n')
        tokens.chmod(0o600)

    def _spawn(self, name: str, argv: Sequence[str], workdir: Path) -> subprocess.Popen[bytes]:
        log = workdir / f"{name}.log"
        self._logs[name] = log
        with log.open("wb") as sink:
            process = subprocess.Popen(
                list(argv), cwd=workdir, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink
            )
        self._processes.append(process)
        return process

    def _start_etcd(self, workdir: Path) -> str:
        client_url = f"http://{self.host}:{free_port(self.host)}"
        peer_url = f"http://{self.host}:{free_port(self.host)}"
        process = self._spawn(
            "etcd",
            [
                str(self.binaries / "etcd"),
                "--name=test",
                f"--data-dir={workdir / 'etcd'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=test={peer_url}",
                "--unsafe-no-fsync=true",  # test data: durability only costs time
                "--log-level=warn",
            ],
            workdir,
        )
        self._await("etcd", process, lambda: _ok(requests.get(client_url + "/health", timeout=2)))
        return client_url

    def _start_apiserver(self, workdir: Path, etcd_url: str) -> None:
        if self.port == 0:
            self.port = free_port(self.host)
        process = self._spawn(
            "kube-apiserver",
            [
                str(self.binaries / "kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                f"--bind-address={self.host}",
                f"--advertise-address={self.host}",
                f"--secure-port={self.port}",
                f"--cert-dir={workdir / 'certs'}",
                f"--tls-cert-file={workdir / 'serving.crt'}",
                f"--tls-private-key-file={workdir / 'serving.key'}",
                f"--token-auth-file={workdir / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                "--anonymous-auth=true",
                f"--service-account-key-file={workdir / 'sa.pub'}",
                f"--service-account-signing-key-file={workdir / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--service-node-port-range={NODE_PORT_RANGE}",
                "--allow-privileged=true",
                *self._admission(),
                # No Endpoints kept for the `kubernetes` Service: fewer writes, same API.
                "--endpoint-reconciler-type=none",
                "--enable-priority-and-fairness=false",
            ],
            workdir,
        )
        session = self.session()
        self._await(
            "kube-apiserver",
            process,
            lambda: _ok(session.get(self.url + "/readyz", timeout=2)),
        )
        if self.anonymous_admin:
            binding = {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "edgio-ingress-tests-anonymous-admin"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "cluster-admin",
                },
                "subjects": [
                    {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Group",
                        "name": "system:unauthenticated",
                    }
                ],
            }
            path = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
            session.post(self.url + path, json=binding, timeout=10).raise_for_status()
            anonymous = requests.Session()
            anonymous.trust_env = False
            anonymous.verify = str(self.ca_file)
            self._await(  # the authorizer sees the binding through its informer
                "kube-apiserver",
                process,
                lambda: _ok(anonymous.get(self.url + "/api/v1/namespaces", timeout=2)),
            )

    def _admission(self) -> tuple[str, ...]:
        """ServiceAccount admission (a pod's default account, its token volume) only
        beside the ServiceAccount controller: else no namespace has a `default` account
        and every pod would be refused."""
        if "serviceaccount-controller" in self.controllers:
            return ()
        return ("--disable-admission-plugins=ServiceAccount",)

    def _start_controller_manager(self, workdir: Path) -> None:
        """kube-controller-manager with the admin token; ready once it has logged the start
        of every controller asked for (it serves no health endpoint here)."""
        kubeconfig = self.kubeconfig(workdir / "controller-manager.kubeconfig")
        name = "kube-controller-manager"
        process = self._spawn(
            name,
            [
                str(self.binaries / name),
                f"--kubeconfig={kubeconfig}",
                f"--controllers={','.join(self.controllers)}",
                f"--service-account-private-key-file={workdir / 'sa.key'}",
                f"--root-ca-file={workdir / 'ca.crt'}",
                "--leader-elect=false",  # one per server: no election, no Lease renewals
                "--secure-port=0",  # no health endpoint on a host port nobody reads
            ],
            workdir,
        )
        started = [f'"Started controller" controller="{c}"' for c in self.controllers]

        def all_started() -> bool:
            log = self._logs[name].read_text(errors="replace")
            return all(line in log for line in started)

        self._await(name, process, all_started)

    def _await(
        self, name: str, process: subprocess.Popen[bytes], ready: Callable[[], bool]
    ) -> None:
        """Poll `ready` until it holds, the process dies, or the deadline passes."""
        deadline = time.monotonic() + self.start_timeout
        last = "no answer yet"
        while True:
            if process.poll() is not None:
                raise RealKubeError(f"{name} exited with {process.returncode}:\n{self._tail(name)}")
            try:
                if ready():
                    return
                last = "not ready"
            except requests.RequestException as error:
                last = str(error)
            if time.monotonic() > deadline:
                raise RealKubeError(
                    f"{name} not ready within {self.start_timeout} s ({last}):\n{self._tail(name)}"
                )
            time.sleep(0.05)

    def _tail(self, name: str, lines: int = 40) -> str:
        log = self._logs.get(name)
        if log is None or not log.exists():
            return "(no log)"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _ok(answer: requests.Response) -> bool:
    return answer.status_code == 200
