"""The `edgio-ingress` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from reconciler import __version__, derive_command, run_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgio-ingress",
        description="Edgio Delivery CDN as a Kubernetes Ingress provider.",
    )
    parser.add_argument("--version", action="version", version=f"edgio-ingress {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    derive_command.register(commands)
    run_command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
