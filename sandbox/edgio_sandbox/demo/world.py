"""What the demo runs on: the emulators, `kubectl`, the controller process, deadlines.

The demo drives the product only from the outside, as a user does: manifests go in with
the real `kubectl`, the controller is `edgio-ingress run` in its own process, reading the
environment `edgio-sandbox up --env-file` would write, and every step waits for what the
user would see, with a deadline. Nothing here imports the product.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.kube import KubeEmulator
from edgio_sandbox.up import write_env_file
from edgio_sandbox.vultr import VultrEmulator

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[3]
ZONE = "example.com"
SHORTNAME = "exampleco"
ROUTES = "cdn.edgio.io/v1alpha1"


class StepMissed(Exception):
    """A step whose outcome did not show up before its deadline; the demo exits 1."""


@dataclass
class Sandbox:
    """The three emulators, in this process, so the demo can also act as the outside world
    (a kubelet registering a node, someone editing a rule in the portal)."""

    kube: KubeEmulator
    vultr: VultrEmulator
    edgio: EdgioEmulator


def command(name: str) -> str:
    """A command of this virtualenv first (`make` puts it on PATH too), else from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name) or name


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_get(url: str) -> tuple[int, str]:
    """Status and body, as `curl` would show them; 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError:
        return 0, ""


def wait_for(step: str, what: str, probe: Callable[[], T | None], deadline: float) -> T:
    """Poll `probe` until it returns something truthy; StepMissed after `deadline` s."""
    stop = threading.Event()
    give_up = time.monotonic() + deadline
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > give_up:
            raise StepMissed(f"{step}: {what}: not seen within {deadline:.0f} s")
        stop.wait(0.05)


class Controller:
    """`edgio-ingress run` as its own process; its log lines go to a file in the workdir."""

    def __init__(self, workdir: Path, env: dict[str, str], args: Sequence[str]):
        self.log_path = workdir / "controller.log"
        self.metrics_url = f"http://127.0.0.1:{free_port()}/metrics"
        self.health_port = free_port()
        self.argv = [
            command("edgio-ingress"),
            "run",
            "--metrics-addr",
            self.metrics_url.removeprefix("http://").removesuffix("/metrics"),
            "--health-addr",
            f"127.0.0.1:{self.health_port}",
            *args,
        ]
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self._read = 0  # log lines already shown

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self) -> None:
        """SIGTERM, as Kubernetes stops a pod; the controller releases its Lease."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def lines(self) -> list[dict[str, Any]]:
        """Every JSON log line so far (anything else, such as a traceback, as `raw`)."""
        if not self.log_path.exists():
            return []
        parsed: list[dict[str, Any]] = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                value = {"raw": line}
            parsed.append(value if isinstance(value, dict) else {"raw": line})
        return parsed

    def new_lines(self) -> list[dict[str, Any]]:
        """The lines written since the last call."""
        lines = self.lines()
        fresh, self._read = lines[self._read :], len(lines)
        return fresh

    def metric(self, name: str) -> list[str]:
        """The sample lines of one metric, as `curl ... | grep name` shows them."""
        _, text = http_get(self.metrics_url)
        return [line for line in text.splitlines() if line.startswith(name)]


def controller_env(sandbox: Sandbox, kubeconfig: Path, env_file: Path) -> dict[str, str]:
    """Exactly what `edgio-sandbox up --env-file` writes, also written to `env_file`."""
    values = {"KUBECONFIG": str(kubeconfig), **sandbox.vultr.env(), **sandbox.edgio.env()}
    write_env_file(env_file, values)
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("EDGIO_", "VULTR_"))}
    return {**keep, **values}
