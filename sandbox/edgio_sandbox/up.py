"""`edgio-sandbox up`: run the local emulators until interrupted.

Each emulator is started by a *starter* in :data:`STARTERS`; what it reports in
:meth:`Running.info` joins one JSON object printed as the first line of stdout, so a
script or test reads every URL and file it needs from that line, and what it reports in
:meth:`Running.env` goes to `--env-file` as the variables the controller reads. Adding an
emulator is adding a starter (and its flags in :func:`register`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Protocol
from urllib.parse import urlsplit

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.kube import KubeEmulator
from edgio_sandbox.pods import PodRunner, PodRunnerError
from edgio_sandbox.realkube import RealKube, RealKubeError
from edgio_sandbox.vultr import VultrEmulator


class Server(Protocol):
    def stop(self) -> None: ...


@dataclass
class Running:
    """A started emulator, what it tells the user about itself, and what to tidy after."""

    server: Server
    info: Callable[[], dict[str, str]]
    env: Callable[[], dict[str, str]]
    scratch: Path | None = None  # a temporary directory of ours, removed on stop

    def stop(self) -> None:
        self.server.stop()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


Starter = Callable[[argparse.Namespace], Running]


def start_kube(args: argparse.Namespace) -> Running:
    """The emulator, or with --real-kube etcd and kube-apiserver (`tools/kube/build.sh`)."""
    kube: KubeEmulator | RealKube
    if getattr(args, "real_kube", False):  # `python -m edgio_sandbox.kube` has no such flag
        kube = RealKube(args.kube_bin, host=args.host, port=args.kube_port).start()
    else:
        kube = KubeEmulator(host=args.host, port=args.kube_port).start()
    scratch = None
    path = args.kubeconfig
    if path is None:
        scratch = Path(tempfile.mkdtemp(prefix="edgio-sandbox-"))
        path = scratch / "kubeconfig"
    kube.kubeconfig(path)
    return Running(
        kube,
        lambda: {"kube": kube.url, "kubeconfig": str(path)},
        lambda: {"KUBECONFIG": str(path)},
        scratch,
    )


def start_vultr(args: argparse.Namespace) -> Running:
    vultr = VultrEmulator(host=args.host, port=args.vultr_port, zones=(args.zone,)).start()
    return Running(vultr, vultr.info, vultr.env)


def start_edgio(args: argparse.Namespace) -> Running:
    edgio = EdgioEmulator(host=args.host, port=args.edgio_port, shortnames=(args.shortname,))
    edgio.start()
    return Running(edgio, edgio.info, edgio.env)


STARTERS: list[Starter] = [start_kube, start_vultr, start_edgio]


def start_pods(running: list[Running]) -> Running:
    """With --run-pods, the pod runner on the real API server: its pods reach every
    server started before it at the same loopback URLs as the host (see
    `edgio_sandbox.pods.netns`), so the env file's values work inside a pod too."""
    kube = next(r.server for r in running if isinstance(r.server, RealKube))
    urls = [value for r in running for value in r.info().values() if "://" in value]
    ports = [port for port in (urlsplit(url).port for url in urls) if port]
    runner = PodRunner(kube, forward=ports).start()
    return Running(runner, lambda: {}, lambda: {})


def register(commands: Any) -> None:
    """Add `up` to the `edgio-sandbox` command's subparsers."""
    up = commands.add_parser("up", help="start the emulators; print their addresses as JSON")
    up.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    up.add_argument("--kube-port", type=int, default=0, help="Kubernetes API port (0: any free)")
    up.add_argument("--kubeconfig", type=Path, help="where to write the kubeconfig")
    up.add_argument(
        "--real-kube",
        action="store_true",
        help="run the real etcd and kube-apiserver instead of the Kubernetes emulator",
    )
    up.add_argument(
        "--kube-bin",
        type=Path,
        help="where etcd and kube-apiserver are (default: what tools/kube/build.sh built)",
    )
    up.add_argument(
        "--run-pods",
        action="store_true",
        help="with --real-kube: register Nodes and run their pods, as kubelet would "
        "(needs root; images named *edgio-ingress run as the installed command)",
    )
    up.add_argument("--vultr-port", type=int, default=0, help="Vultr DNS API port (0: any free)")
    up.add_argument("--edgio-port", type=int, default=0, help="Edgio Config API port (0: any free)")
    up.add_argument("--zone", default="example.com", help="the DNS zone the Vultr emulator holds")
    up.add_argument("--shortname", default="exampleco", help="the Edgio account the emulator holds")
    up.add_argument(
        "--env-file",
        type=Path,
        help="also write KEY=value lines (URLs and credentials) for the controller, mode 0600",
    )
    up.set_defaults(run=run)


def write_env_file(path: Path, values: dict[str, str]) -> None:
    """Credentials inside: readable by the owner only, from the first byte."""
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("".join(f"{key}={value}\n" for key, value in sorted(values.items())))


def run(args: argparse.Namespace, starters: list[Starter] | None = None) -> int:
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    run_pods = getattr(args, "run_pods", False)
    if run_pods and not args.real_kube:
        print("error: --run-pods needs --real-kube (the emulator runs no pods)", file=sys.stderr)
        return 2
    running: list[Running] = []
    try:
        pods: list[Starter] = [lambda _: start_pods(running)] if run_pods else []
        for starter in [*(starters or STARTERS), *pods]:
            try:
                running.append(starter(args))
            except OSError as error:
                print(
                    f"error: cannot start the sandbox: {error.strerror or error}", file=sys.stderr
                )
                return 1
            except (RealKubeError, PodRunnerError) as error:
                print(f"error: cannot start the sandbox: {error}", file=sys.stderr)
                return 1
        info: dict[str, str] = {}
        env: dict[str, str] = {}
        for emulator in running:
            info.update(emulator.info())
            env.update(emulator.env())
        if args.env_file:
            write_env_file(args.env_file, env)
            info["env_file"] = str(args.env_file)
        sys.stdout.write(json.dumps(info) + "\n")
        sys.stdout.flush()
        while not stopping.wait(0.5):
            pass
    finally:
        for emulator in reversed(running):
            emulator.stop()
    return 0
