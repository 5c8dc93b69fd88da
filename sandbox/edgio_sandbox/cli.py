"""The `edgio-sandbox` command: local emulators of the APIs edgio-ingress talks to."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from edgio_sandbox import up


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgio-sandbox",
        description="Emulated Kubernetes API, Vultr DNS API and Edgio Config API, on loopback.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    up.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
