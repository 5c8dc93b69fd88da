"""`make demo`: the real controller on the built-in sandbox, telling the seed's story.

The Kubernetes, Vultr and Edgio emulators run in this process; the real `kubectl`
applies the CRD and the seed's manifests; `edgio-ingress run` runs as its own process,
configured by the environment `edgio-sandbox up --env-file` writes. Every step waits for
its outcome with a deadline, and the demo exits 1 naming the step that missed it.
`--keep-running` leaves it all up afterwards, for `kubectl` and `curl`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from edgio_sandbox.demo.helm import main_helm
from edgio_sandbox.demo.story import INTERVAL, MATCHING, RESYNC, STEPS, Story
from edgio_sandbox.demo.tables import story as log_story
from edgio_sandbox.demo.world import (
    SHORTNAME,
    ZONE,
    Controller,
    Sandbox,
    StepMissed,
    controller_env,
)
from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.kube import KubeEmulator
from edgio_sandbox.vultr import VultrEmulator

__all__ = ["main", "run"]


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m edgio_sandbox.demo", description=__doc__)
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="leave the sandbox and the controller up at the end, until Ctrl-C",
    )
    parser.add_argument(
        "--helm",
        action="store_true",
        help="the story on a real control plane (kube-apiserver, kube-controller-manager, "
        "the sandbox's pod runner), the controller installed by helm; needs root",
    )
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default="info",
        help="the controller's --log-level (its log is in the work directory)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where the kubeconfig, the env file and the controller's log go "
        "(default: a new temporary directory, removed at the end unless kept)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="edgio-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.helm:
        code = main_helm(workdir)
        if code == 0 and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
        return code
    with ExitStack() as stack:
        sandbox = Sandbox(
            stack.enter_context(KubeEmulator()),
            stack.enter_context(VultrEmulator(zones=(ZONE,))),
            stack.enter_context(EdgioEmulator(shortnames=(SHORTNAME,))),
        )
        code = run(sandbox, workdir, keep_running=args.keep_running, log_level=args.log_level)
    if code == 0 and args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return code


def run(
    sandbox: Sandbox, workdir: Path, *, keep_running: bool = False, log_level: str = "info"
) -> int:
    """The whole story on `sandbox`; 0 when every step converged in time, else 1."""
    kubeconfig = sandbox.kube.kubeconfig(workdir / "kubeconfig")
    env_file = workdir / "sandbox.env"
    controller = Controller(
        workdir,
        controller_env(sandbox, kubeconfig, env_file),
        [
            "--interval",
            f"{INTERVAL:g}s",
            "--provider-resync",
            f"{RESYNC:g}s",
            "--log-level",
            log_level,
        ],
    )
    story = Story(sandbox, controller, kubeconfig)
    try:
        for step in STEPS:
            step(story)
        elapsed = time.monotonic() - story.started
        print(f"\n=== Done: every step converged, in {elapsed:.1f} s.", flush=True)
        if keep_running:
            hold(story, env_file)
        return 0
    except StepMissed as missed:
        print(f"\ndemo failed at {missed}", file=sys.stderr)
        print(f"the controller's log: {controller.log_path}; its last lines:", file=sys.stderr)
        for line in controller.log_path.read_text(errors="replace").splitlines()[-15:]:
            print(f"  {line}", file=sys.stderr)
        return 1
    finally:
        controller.stop()


def hold(story: Story, env_file: Path) -> None:
    """Publish the example again, print where everything is, wait for Ctrl-C or SIGTERM."""
    story.chapter(8, "Left running: the matching Ingress is published again")
    story.kubectl("apply", "-f", "examples/pywai-edgio-ingress-matching.yaml")
    story.wait("its EdgioRoute is Ready", lambda: story.ready(MATCHING).get("status") == "True")
    controller = story.controller
    print(
        f"""
The sandbox and the controller keep running. In another shell:

  export KUBECONFIG={story.kubeconfig}
  kubectl get er,ingress -A
  curl -s {controller.metrics_url} | grep ^edgio_ingress_
  curl -s {controller.health_url}/healthz {controller.health_url}/readyz

  metrics:   {controller.metrics_url}
  health:    {controller.health_url}/healthz, {controller.health_url}/readyz
  env file:  {env_file}  (what `edgio-sandbox up --env-file` writes; holds the credentials)
  log:       {controller.log_path}

Stop it all with Ctrl-C (or: kill {os.getpid()}).""",
        flush=True,
    )
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    while not stopping.wait(1.0):
        for line in log_story(controller.new_lines()):
            print(line, flush=True)
    print("\nstopping the controller and the sandbox", flush=True)
