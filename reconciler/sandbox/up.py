"""`edgio-ingress sandbox up`: run the local emulators until interrupted.

Each emulator is started by a *starter* in :data:`STARTERS`; what it reports in
:meth:`Running.info` joins one JSON object printed as the first line of stdout, so a
script or test reads every URL and file it needs from that line. Adding an emulator is
adding a starter (and its flags in :func:`register`).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from reconciler.sandbox.httpbase import EmulatorServer
from reconciler.sandbox.kube import KubeEmulator


@dataclass
class Running:
    """A started emulator and what it tells the user about itself."""

    server: EmulatorServer
    info: Callable[[], dict[str, str]]

    def stop(self) -> None:
        self.server.stop()


Starter = Callable[[argparse.Namespace], Running]


def start_kube(args: argparse.Namespace) -> Running:
    kube = KubeEmulator(host=args.host, port=args.kube_port).start()
    path = args.kubeconfig or Path(tempfile.mkdtemp(prefix="edgio-sandbox-")) / "kubeconfig"
    kube.kubeconfig(path)
    return Running(kube, lambda: {"kube": kube.url, "kubeconfig": str(path)})


STARTERS: list[Starter] = [start_kube]


def register(commands: Any) -> None:
    """Add `sandbox up` to the `edgio-ingress` command's subparsers."""
    sandbox = commands.add_parser("sandbox", help="local emulators for tests and the demo")
    actions = sandbox.add_subparsers(dest="sandbox_command", metavar="ACTION")
    actions.required = True
    up = actions.add_parser("up", help="start the emulators; print their addresses as JSON")
    up.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    up.add_argument("--kube-port", type=int, default=0, help="Kubernetes API port (0: any free)")
    up.add_argument("--kubeconfig", type=Path, help="where to write the kubeconfig")
    up.set_defaults(run=run)


def run(args: argparse.Namespace, starters: list[Starter] | None = None) -> int:
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    running: list[Running] = []
    try:
        for starter in starters or STARTERS:
            running.append(starter(args))
        info: dict[str, str] = {}
        for emulator in running:
            info.update(emulator.info())
        sys.stdout.write(json.dumps(info) + "\n")
        sys.stdout.flush()
        while not stopping.wait(0.5):
            pass
    finally:
        for emulator in reversed(running):
            emulator.stop()
    return 0
