"""`python -m edgio_sandbox.kube --port 8001 --kubeconfig PATH`: the Kubernetes
emulator alone, for the demo and for poking at it with kubectl."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edgio_sandbox.up import run, start_kube


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m edgio_sandbox.kube")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", dest="kube_port", type=int, default=0)
    parser.add_argument("--kubeconfig", type=Path)
    parser.add_argument("--env-file", type=Path)
    return run(parser.parse_args(), [start_kube])


if __name__ == "__main__":
    sys.exit(main())
