"""The `edgio-ingress` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from reconciler import __version__
from reconciler.cmd import derive as derive_command
from reconciler.cmd import run as run_command


class _Parser(argparse.ArgumentParser):
    """A bad flag is one line naming it and exit code 2, like every other bad setting
    (argparse would print the whole usage first, burying the line that matters)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="edgio-ingress",
        description="Edgio Delivery CDN as a Kubernetes Ingress provider.",
    )
    parser.add_argument("--version", action="version", version=f"edgio-ingress {__version__}")
    commands: argparse._SubParsersAction[argparse.ArgumentParser] = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser
    )
    commands.required = True
    derive_command.register(commands)
    run_command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
