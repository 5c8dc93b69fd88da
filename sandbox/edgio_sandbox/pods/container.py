"""One container of a pod: its process, restarts with kubelet's back-off, probes, and the
`containerStatuses` entry the API shows for it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .probes import Probe

Obj = dict[str, Any]

BACKOFF_START = 10.0  # kubelet's CrashLoopBackOff: 10 s, doubled per restart ...
BACKOFF_MAX = 300.0  # ... up to five minutes
BACKOFF_RESET = 600.0  # a container that ran this long starts its back-off over


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Container:
    """A container's process and what kubelet reports of it."""

    def __init__(self, spec: Obj, log: Path):
        self.spec = spec
        self.name: str = spec["name"]
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.restart_count = 0
        self.state: Obj = {"waiting": {"reason": "ContainerCreating"}}
        self.last_state: Obj = {}
        self.started_at = 0.0  # monotonic time of the current process's start
        self.not_before = 0.0  # monotonic time before which no restart (back-off)
        self.backoff = 0.0
        self.finished = False  # exited, and the restart policy says it stays so
        self.restart_pending = False  # exited, to be started again (restartCount + 1)
        self.startup = Probe.of(spec.get("startupProbe"))
        self.readiness = Probe.of(spec.get("readinessProbe"))
        self.liveness = Probe.of(spec.get("livenessProbe"))

    # --- life cycle ----------------------------------------------------------------------

    def start(self, argv: list[str], env: Mapping[str, str], cwd: Path) -> None:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                argv,
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: signals reach its children
            )
        self.started_at = time.monotonic()
        self.state = {"running": {"startedAt": timestamp()}}
        for probe in (self.startup, self.readiness, self.liveness):
            if probe:
                probe.reset(self.started_at)

    def waiting(self, reason: str, message: str = "") -> None:
        self.state = {"waiting": {"reason": reason, **({"message": message} if message else {})}}

    def exited(self) -> int | None:
        """The exit code once the process has ended (a signal -N reads as 128+N)."""
        if self.process is None:
            return None
        code = self.process.poll()
        if code is None:
            return None
        return 128 - code if code < 0 else code

    def stop(self, grace: float) -> None:
        """SIGTERM to the container's main process (as the runtime sends it to PID 1),
        SIGKILL to all of its processes after `grace` seconds."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _kill_all(self.process)
            self.process.wait()

    def record_exit(self, code: int, restart_policy: str) -> None:
        """The process ended: keep its terminated state, and say when it may start again."""
        assert self.process is not None
        _kill_all(self.process)  # what the main process left running
        running = self.state.get("running", {})
        self.state = {
            "terminated": {
                "exitCode": code,
                "reason": "Completed" if code == 0 else "Error",
                "startedAt": running.get("startedAt", timestamp()),
                "finishedAt": timestamp(),
                "containerID": self.container_id,
            }
        }
        ran = time.monotonic() - self.started_at
        self.process = None
        restart = restart_policy == "Always" or (restart_policy == "OnFailure" and code != 0)
        if not restart:
            self.finished = True
            return
        self.last_state = self.state
        self.restart_pending = True
        if ran >= BACKOFF_RESET:
            self.backoff = 0.0
        self.not_before = time.monotonic() + self.backoff
        self.backoff = min(BACKOFF_MAX, max(BACKOFF_START, self.backoff * 2))

    def may_start(self) -> bool:
        """Whether the (re)start may happen now, counting a restart when it does; in
        back-off the container waits with kubelet's reason, CrashLoopBackOff."""
        if time.monotonic() < self.not_before:
            self.waiting("CrashLoopBackOff", f"back-off restarting failed container {self.name}")
            return False
        if self.restart_pending:
            self.restart_count += 1
            self.restart_pending = False
        return True

    # --- what the API shows --------------------------------------------------------------

    @property
    def container_id(self) -> str:
        pid = self.process.pid if self.process else 0
        return f"edgio-sandbox://{self.name}-{pid}"

    @property
    def started(self) -> bool:
        return self.process is not None and (self.startup is None or self.startup.passing)

    @property
    def ready(self) -> bool:
        return self.started and (self.readiness is None or self.readiness.passing)

    def status(self) -> Obj:
        status: Obj = {
            "name": self.name,
            "image": self.spec.get("image", ""),
            "imageID": "",
            "ready": self.ready,
            "started": self.started,
            "restartCount": self.restart_count,
            "state": self.state,
        }
        if self.process is not None:
            status["containerID"] = self.container_id
        if self.last_state:
            status["lastState"] = self.last_state
        return status


def _kill_all(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to every process the container started (its process group), as the
    runtime's teardown kills what PID 1 left behind."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
