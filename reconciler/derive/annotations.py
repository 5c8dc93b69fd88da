"""The `cdn.edgio.io/*` Ingress annotations: what an Ingress cannot say in its spec.

Unknown keys under our prefix are errors rather than silently ignored, because a typo
(`cdn.edgio.io/orgin-hostname`) would otherwise publish to the wrong origin quietly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.derive import fields
from reconciler.errors import FieldError
from reconciler.model import DeletionPolicy

PREFIX = "cdn.edgio.io/"
SHORTNAME = PREFIX + "shortname"
ORIGIN_HOSTNAME = PREFIX + "origin-hostname"
ORIGIN_PROTOCOL = PREFIX + "origin-protocol"
ORIGIN_PATH = PREFIX + "origin-path"
OPTIONS = PREFIX + "options"
DELETION_POLICY = PREFIX + "deletion-policy"
KNOWN = (SHORTNAME, ORIGIN_HOSTNAME, ORIGIN_PROTOCOL, ORIGIN_PATH, OPTIONS, DELETION_POLICY)


def field_of(key: str) -> str:
    return f"metadata.annotations[{key}]"


def parse_annotations(annotations: Mapping[str, str]) -> tuple[dict[str, Any], list[FieldError]]:
    """EdgioRoute spec fragments from annotations, and every problem found (not just the first)."""
    spec: dict[str, Any] = {}
    errors: list[FieldError] = []

    def fail(key: str, message: str) -> None:
        errors.append(FieldError(field_of(key), message))

    for key in sorted(annotations):
        if key.startswith(PREFIX) and key not in KNOWN:
            fail(key, f"unknown annotation; known ones are {', '.join(KNOWN)}")

    origin: dict[str, Any] = {}
    if (shortname := annotations.get(SHORTNAME)) is not None:
        problem = fields.shortname_problem(shortname)
        if problem:
            fail(SHORTNAME, f"{shortname!r} {problem}")
        else:
            spec["shortname"] = shortname
    if (hostname := annotations.get(ORIGIN_HOSTNAME)) is not None:
        hostname = fields.normalise_host(hostname)
        problem = fields.origin_problem(hostname)
        if problem:
            fail(ORIGIN_HOSTNAME, f"{hostname!r} {problem}")
        else:
            origin["hostname"] = hostname
    if (protocol := annotations.get(ORIGIN_PROTOCOL)) is not None:
        if protocol not in fields.PROTOCOLS:
            fail(ORIGIN_PROTOCOL, f"unsupported value {protocol!r}: use http or https")
        else:
            origin["protocol"] = protocol
    if (path := annotations.get(ORIGIN_PATH)) is not None:
        problem = fields.path_problem(path)
        if problem:
            fail(ORIGIN_PATH, f"{path!r} {problem}")
        else:
            origin["path"] = path
    if origin:
        spec["origin"] = origin
    if (raw_options := annotations.get(OPTIONS)) is not None:
        options, option_errors = fields.parse_options(raw_options, field_of(OPTIONS))
        errors.extend(option_errors)
        if not option_errors:
            spec["cdn"] = {"options": [fields.option_to_spec(o) for o in options]}
    if (policy := annotations.get(DELETION_POLICY)) is not None:
        allowed = [p.value for p in DeletionPolicy]
        if policy not in allowed:
            fail(DELETION_POLICY, f"unsupported value {policy!r}: use {' or '.join(allowed)}")
        else:
            spec["deletionPolicy"] = policy
    return spec, errors
