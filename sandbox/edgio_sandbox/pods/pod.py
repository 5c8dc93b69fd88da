"""One pod on a sandbox node, run as kubelet runs it: a network namespace (the pod
sandbox), a ServiceAccount token, each container's process with its probes and restarts,
the pod's status written back, and on deletion SIGTERM, the grace period, SIGKILL.

The token comes from the TokenRequest API, bound to the pod, and is given to the process
as a kubeconfig through `KUBECONFIG`, not as the projected volume kubelet mounts at
/var/run/secrets/kubernetes.io/serviceaccount (the process shares the host's
filesystem). Volumes and securityContext are not applied for the same reason.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from .container import Container, timestamp
from .netns import Netns
from .probes import exec_command, http_get, port_number, tcp_socket
from .spec import NotRunnable, argv, environment

Obj = dict[str, Any]
TICK = 0.2  # seconds between looks at the processes and probes
TOKEN_SECONDS = 86400  # no refresh: a sandbox lives for a day at most


class PodWorker:
    """Runs one pod in a thread until it finishes, is deleted, or the runner stops."""

    def __init__(
        self,
        pod: Obj,
        *,
        api: Callable[[], requests.Session],
        url: str,
        kubeconfig: Callable[[Path, str], Path],
        netns: Netns,
        host_ip: str,
        forward: list[int],
        executable: str,
        directory: Path,
    ):
        self.pod = pod
        self.uid: str = pod["metadata"]["uid"]
        self.api = api()
        self.url = url
        self._kubeconfig = kubeconfig
        self.netns = netns
        self.host_ip = host_ip
        self.forward = forward
        self.executable = executable
        self.directory = directory
        self.containers = [
            Container(spec, directory / f"{spec['name']}.log") for spec in pod["spec"]["containers"]
        ]
        self.deleting: float | None = None  # grace seconds, once the pod is being deleted
        self.stopping = threading.Event()  # the runner stops: kill, leave the API alone
        self.done = threading.Event()
        self._written: Obj | None = None
        self._transitions: dict[str, tuple[str, str]] = {}
        self._thread = threading.Thread(target=self._run, name=f"pod-{self.name}", daemon=True)

    @property
    def name(self) -> str:
        return f"{self.pod['metadata']['namespace']}/{self.pod['metadata']['name']}"

    @property
    def path(self) -> str:
        meta = self.pod["metadata"]
        return f"{self.url}/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"

    def start(self) -> None:
        self._thread.start()

    def update(self, pod: Obj) -> None:
        """The pod as the API shows it now; a deletionTimestamp starts the shutdown."""
        self.pod = pod
        meta = pod["metadata"]
        if meta.get("deletionTimestamp") and self.deleting is None:
            self.deleting = float(meta.get("deletionGracePeriodSeconds") or 0)

    def stop(self) -> None:
        self.stopping.set()
        self._thread.join(timeout=60)

    # --- the loop ------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.netns.create(self.forward)
            while not self.stopping.is_set() and self.deleting is None:
                if self._step():
                    break
                self._write_status()
                time.sleep(TICK)
            self._write_status()
            grace = 0.0 if self.stopping.is_set() else float(self.deleting or 0)
            self._stop_all(grace)
            if self.deleting is not None and not self.stopping.is_set():
                self._confirm_deletion()
        except requests.RequestException:
            self._stop_all(0)  # the API server went away: the sandbox is stopping
        finally:
            self.netns.delete()
            self.done.set()

    def _step(self) -> bool:
        """One look at every container; True when the pod has finished (a Job's)."""
        policy = self.pod["spec"].get("restartPolicy", "Always")
        for container in self.containers:
            if container.finished:
                continue
            if container.process is None:
                if container.may_start():
                    self._start(container)
                continue
            code = container.exited()
            if code is not None:
                container.record_exit(code, policy)
                continue
            self._probe(container, self._pod_grace())
        return all(c.finished for c in self.containers)

    def _start(self, container: Container) -> None:
        try:
            env = self._environment(container)
            command = argv(container.spec, env, self.executable)
        except NotRunnable as refusal:
            container.waiting(refusal.reason, refusal.message)
            return
        container.start([*self.netns.exec_prefix(), *command], env, self.directory)

    def _environment(self, container: Container) -> dict[str, str]:
        """What kubelet gives the process, plus the kubeconfig with the pod's token."""
        extra = {"status.podIP": self.netns.address, "status.hostIP": self.host_ip}
        own = environment(container.spec, self.pod, self._read, extra)
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOSTNAME": self.pod["metadata"]["name"],
            "HOME": "/root",
            **own,
            "KUBECONFIG": str(self._token_kubeconfig()),
        }

    def _token_kubeconfig(self) -> Path:
        path = self.directory / "kubeconfig"
        if path.exists():
            return path
        meta, spec = self.pod["metadata"], self.pod["spec"]
        account = spec.get("serviceAccountName") or "default"
        request = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {
                "expirationSeconds": TOKEN_SECONDS,
                "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"],
                                   "uid": meta["uid"]},
            },
        }  # fmt: skip
        answer = self.api.post(
            f"{self.url}/api/v1/namespaces/{meta['namespace']}/serviceaccounts/{account}/token",
            json=request,
            timeout=10,
        )
        if answer.status_code != 201:
            raise NotRunnable(
                "CreateContainerConfigError",
                f"no token for ServiceAccount {meta['namespace']}/{account}: "
                f"{answer.status_code} {answer.json().get('message', '')}",
            )
        return self._kubeconfig(path, answer.json()["status"]["token"])

    def _read(self, kind: str, namespace: str, name: str) -> Obj | None:
        plural = {"ConfigMap": "configmaps", "Secret": "secrets"}[kind]
        answer = self.api.get(
            f"{self.url}/api/v1/namespaces/{namespace}/{plural}/{name}", timeout=10
        )
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        found: Obj = answer.json()
        return found

    # --- probes --------------------------------------------------------------------------

    def _probe(self, container: Container, grace: float) -> None:
        now = time.monotonic()

        def check(spec: Obj, timeout: float) -> bool:
            return self._check(container, spec, timeout)

        if container.startup and not container.startup.passing:
            container.startup.run_if_due(now, check)
            if container.startup.failed:
                self._kill_unhealthy(container, grace)
            return
        if container.liveness:
            container.liveness.run_if_due(now, check)
            if container.liveness.failed:
                self._kill_unhealthy(container, grace)
                return
        if container.readiness:
            container.readiness.run_if_due(now, check)

    def _check(self, container: Container, spec: Obj, timeout: float) -> bool:
        if "exec" in spec:
            env = self._environment(container)
            return exec_command(self.netns.exec_prefix(), env, spec["exec"], timeout)
        for kind, probe in (("httpGet", http_get), ("tcpSocket", tcp_socket)):
            if kind in spec:
                action = {**spec[kind], "port": port_number(spec[kind]["port"], container.spec)}
                host = action.get("host") or self.netns.address
                return probe(self.netns.socket, host, action, timeout)
        return False

    def _kill_unhealthy(self, container: Container, grace: float) -> None:
        """As kubelet on a failed liveness or startup probe: stop, then restart per policy."""
        container.stop(grace)
        code = container.exited()
        container.record_exit(
            137 if code is None else code, self.pod["spec"].get("restartPolicy", "Always")
        )

    def _pod_grace(self) -> float:
        return float(self.pod["spec"].get("terminationGracePeriodSeconds", 30))

    def _stop_all(self, grace: float) -> None:
        stoppers = [
            threading.Thread(target=c.stop, args=(grace,), daemon=True) for c in self.containers
        ]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()

    def _confirm_deletion(self) -> None:
        """kubelet's last word: the pod's processes are gone, so the object may go."""
        body = {"preconditions": {"uid": self.uid}, "gracePeriodSeconds": 0}
        self.api.delete(self.path, json=body, timeout=10)

    # --- status --------------------------------------------------------------------------

    def _write_status(self) -> None:
        status = self._status()
        if status == self._written:
            return
        body = {"status": {**status, "conditions": self._conditions(status)}}
        answer = self.api.patch(
            self.path + "/status",
            json=body,
            headers={"Content-Type": "application/strategic-merge-patch+json"},
            timeout=10,
        )
        if answer.ok:
            self._written = status

    def _status(self) -> Obj:
        statuses = [c.status() for c in self.containers]
        return {
            "phase": self._phase(),
            "hostIP": self.host_ip,
            "hostIPs": [{"ip": self.host_ip}],
            "podIP": self.netns.address,
            "podIPs": [{"ip": self.netns.address}],
            "startTime": self.pod.get("status", {}).get("startTime") or timestamp(),
            "containerStatuses": statuses,
        }

    def _phase(self) -> str:
        containers = self.containers
        if all(c.finished for c in containers):
            codes = [c.state["terminated"]["exitCode"] for c in containers]
            return "Succeeded" if not any(codes) else "Failed"
        if any("waiting" in c.state and not c.restart_count and not c.restart_pending
               and c.process is None for c in containers):  # fmt: skip
            return "Pending"
        return "Running"

    def _conditions(self, status: Obj) -> list[Obj]:
        ready = all(s["ready"] for s in status["containerStatuses"])
        values = {
            "PodReadyToStartContainers": True,
            "Initialized": True,
            "ContainersReady": ready,
            "Ready": ready,
        }
        conditions = []
        for kind, value in values.items():
            text = "True" if value else "False"
            previous = self._transitions.get(kind)
            if previous is None or previous[0] != text:
                self._transitions[kind] = (text, timestamp())
            conditions.append(
                {"type": kind, "status": text, "lastTransitionTime": self._transitions[kind][1]}
            )
        return conditions
