"""`edgio-ingress derive`: show the EdgioRoutes the controller would make from Ingress files.

It runs the same pure derivation as the controller, offline, so users can check an
Ingress before applying it. Output is YAML on stdout; notes and errors go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import yaml

from reconciler.api import CONTROLLER_NAME
from reconciler.cmd.manifests import ManifestError, read_objects
from reconciler.derive.ingress import (
    class_controllers,
    default_classes,
    derive_route,
    is_edgio_ingress,
    object_key,
)
from reconciler.errors import InvalidObject


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "derive",
        help="print the EdgioRoutes derived from Ingress manifests",
        description="Read Ingress manifests and print the EdgioRoutes the controller derives.",
    )
    parser.add_argument(
        "-f",
        "--filename",
        dest="files",
        action="append",
        required=True,
        metavar="FILE",
        help="a YAML file of manifests ('-' for stdin); repeatable",
    )
    parser.add_argument(
        "--controller-name",
        default=CONTROLLER_NAME,
        help="the IngressClass spec.controller that selects this controller",
    )
    parser.set_defaults(run=run)


def _note(message: str) -> None:
    print(message, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    objects: list[dict[str, Any]] = []
    try:
        for path in args.files:
            objects.extend(read_objects(path))
    except ManifestError as error:
        _note(f"error: {error}")
        return 1
    classes = [o for o in objects if o.get("kind") == "IngressClass"]
    controllers, defaults = class_controllers(classes), default_classes(classes)
    routes: list[dict[str, Any]] = []
    failed = False
    for obj in objects:
        kind = obj.get("kind")
        if kind == "IngressClass":
            continue
        if kind != "Ingress":
            _note(f"skipped {kind} {object_key(obj)}: not an Ingress")
        elif not is_edgio_ingress(obj, controllers, args.controller_name, defaults):
            _note(
                f"skipped Ingress {object_key(obj)}: not for Edgio (no label cdn=edgio, "
                "no Edgio IngressClass by name, legacy annotation or default)"
            )
        else:
            try:
                derived = derive_route(obj)
            except InvalidObject as error:
                failed = True
                for problem in error.errors:
                    _note(f"error: {error.kind} {error.key}: {problem}")
                continue
            for warning in derived.warnings:
                _note(f"warning: Ingress {object_key(obj)}: {warning}")
            routes.append(derived.manifest)
    if routes:
        sys.stdout.write(yaml.safe_dump_all(routes, sort_keys=False))
    return 1 if failed else 0
