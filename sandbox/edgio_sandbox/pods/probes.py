"""Startup, readiness and liveness probes, with kubelet's defaults and counting rules.

A probe is run when it is due (`initialDelaySeconds` after the container started, then
every `periodSeconds`); `successThreshold` successes in a row make it pass and
`failureThreshold` failures in a row make it fail. Liveness and readiness wait until the
startup probe (if any) has passed. httpGet passes on a status from 200 to 399, tcpSocket
on a connect; both reach the pod through a socket of its network namespace, at its pod
address, as kubelet reaches the pod IP. exec runs the command inside the namespace.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass
class Probe:
    """One probe of one container, and its running count."""

    spec: Obj
    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int
    due: float = 0.0
    successes: int = 0
    failures: int = 0
    passing: bool = False

    @classmethod
    def of(cls, spec: Obj | None) -> Probe | None:
        if not spec:
            return None
        return cls(
            spec,
            initial_delay=float(spec.get("initialDelaySeconds", 0)),
            period=float(spec.get("periodSeconds", 10)),
            timeout=float(spec.get("timeoutSeconds", 1)),
            success_threshold=int(spec.get("successThreshold", 1)),
            failure_threshold=int(spec.get("failureThreshold", 3)),
        )

    def reset(self, started: float) -> None:
        """A new container instance: counts start over, first run after the delay."""
        self.due = started + self.initial_delay
        self.successes = self.failures = 0
        self.passing = False

    def run_if_due(self, now: float, check: Callable[[Obj, float], bool]) -> bool | None:
        """Run the probe when due and count the outcome; None when it was not due."""
        if now < self.due:
            return None
        self.due = now + self.period
        ok = check(self.spec, self.timeout)
        if ok:
            self.successes, self.failures = self.successes + 1, 0
            if self.successes >= self.success_threshold:
                self.passing = True
        else:
            self.successes, self.failures = 0, self.failures + 1
            if self.failures >= self.failure_threshold:
                self.passing = False
        return ok

    @property
    def failed(self) -> bool:
        return self.failures >= self.failure_threshold


def port_number(port: Any, container: Obj) -> int:
    """A probe's port, by number or by the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared["containerPort"])
    return int(port)


def http_get(connect: Callable[[], socket.socket], host: str, spec: Obj, timeout: float) -> bool:
    """kubelet's httpGet: GET the path with the probe's headers; 200-399 passes."""
    headers = "".join(f"{h['name']}: {h['value']}\r\n" for h in spec.get("httpHeaders") or [])
    request = (
        f"GET {spec.get('path', '/')} HTTP/1.1\r\nHost: {host}\r\n"
        f"User-Agent: kube-probe/1.34\r\nAccept: */*\r\n{headers}Connection: close\r\n\r\n"
    )
    try:
        with connect() as sock:
            sock.settimeout(timeout)
            sock.connect((host, int(spec["port"])))
            sock.sendall(request.encode())
            answer = b""
            while len(answer) < 10240 and (chunk := sock.recv(4096)):  # kubelet reads 10 KiB
                answer += chunk
    except OSError:
        return False
    head = answer.decode("latin-1")
    parts = head.split(" ", 2)
    return len(parts) > 1 and parts[1].isdigit() and 200 <= int(parts[1]) < 400


def tcp_socket(connect: Callable[[], socket.socket], host: str, spec: Obj, timeout: float) -> bool:
    try:
        with connect() as sock:
            sock.settimeout(timeout)
            sock.connect((host, int(spec["port"])))
    except OSError:
        return False
    return True


def exec_command(prefix: list[str], env: Mapping[str, str], spec: Obj, timeout: float) -> bool:
    try:
        result = subprocess.run(
            [*prefix, *spec["command"]], env=dict(env), capture_output=True, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0
