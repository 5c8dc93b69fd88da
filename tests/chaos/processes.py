"""The controller processes of a campaign run: `edgio-ingress run` replicas and
`run --once`, each reaching the API server through its own cuttable proxy, started,
signalled and restarted as the faults say.

A process's identity is `<hostname>_<pid>`, the string it writes as the Lease's
holderIdentity and sends with every provider write, so the servers' records name it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from edgio_sandbox.kubeconfig import write_kubeconfig
from tests.support import TcpProxy

BIN = Path(sys.executable).parent
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
SITECUSTOMIZE = Path(__file__).parent / "faketime"
ARGV = [
    str(BIN / "edgio-ingress"), "run", "--interval", "1s", "--owner-id", "chaos",
    "--metrics-addr", "0", "--health-addr", "0",
]  # fmt: skip


def skewed(env: dict[str, str], seconds: float) -> dict[str, str]:
    """`env` for a process whose wall clock is `seconds` off (libfaketime); its
    monotonic clock is left alone, as a host with a wrong time-of-day has it. The
    sitecustomize beside this module mends `time.sleep`, which libfaketime breaks."""
    path = [str(SITECUSTOMIZE), *filter(None, [env.get("PYTHONPATH")])]
    return {
        **env,
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME": f"{seconds:+.0f}",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "PYTHONPATH": os.pathsep.join(path),
    }


class Controller:
    """One controller, restarted as new processes (each a new identity) under one name."""

    def __init__(
        self, name: str, env: dict[str, str], home: Path, kube_port: int, once: bool = False
    ):
        self.name, self.home, self.once = name, home, once
        self._stack = contextlib.ExitStack()
        self.proxy = self._stack.enter_context(TcpProxy(f"http://127.0.0.1:{kube_port}"))
        kubeconfig = write_kubeconfig(
            home / f"kubeconfig-{name}", "sandbox", {"server": self.proxy.url}, "sandbox-token"
        )
        self.env = {**env, "KUBECONFIG": str(kubeconfig)}
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []
        self.identities: list[str] = []
        self.signals: list[str] = []  # what was sent, in order: SIGKILL, SIGTERM, SIGSTOP

    @property
    def identity(self) -> str:
        return self.identities[-1] if self.identities else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        log = self.home / f"{self.name}-{len(self.logs)}.log"
        self.logs.append(log)
        argv = [*ARGV, "--once"] if self.once else ARGV
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                argv, env=self.env, stdout=subprocess.DEVNULL, stderr=out
            )
        self.identities.append(f"{socket.gethostname()}_{self.process.pid}")

    def send(self, signum: signal.Signals) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signum)
            self.signals.append(signum.name)

    def kill(self) -> None:
        self.send(signal.SIGKILL)
        self.wait(10)

    def wait(self, timeout: float) -> bool:
        """True once the process has exited (within `timeout` seconds)."""
        if self.process is None:
            return True
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self) -> None:
        """The end of a run: continued if stopped, terminated, killed if it lingers."""
        if self.alive():
            assert self.process is not None
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.terminate()
            if not self.wait(10):
                self.kill()
        self._stack.close()

    def passes(self) -> int:
        """Passes the live process has finished."""
        if not self.logs:
            return 0
        count = 0
        for line in self.logs[-1].read_text(errors="replace").splitlines():
            try:
                count += json.loads(line).get("event") == "pass"
            except (json.JSONDecodeError, AttributeError):
                continue
        return count
