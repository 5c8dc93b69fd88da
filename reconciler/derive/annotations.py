"""The `cdn.edgio.io/*` Ingress annotations: what an Ingress cannot say in its spec.

Unknown keys under our prefix are errors rather than silently ignored, because a typo
(`cdn.edgio.io/orgin-hostname`) would otherwise publish to the wrong origin quietly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reconciler import api
from reconciler.derive import edge, fields
from reconciler.errors import FieldError
from reconciler.model import WEB_PROTOCOLS, DeletionPolicy, WebProtocol

PREFIX = api.ANNOTATION_PREFIX
SHORTNAME = PREFIX + "shortname"
ORIGIN_HOSTNAME = PREFIX + "origin-hostname"
ORIGIN_PROTOCOL = PREFIX + "origin-protocol"
ORIGIN_PATH = PREFIX + "origin-path"
OPTIONS = PREFIX + "options"
DELETION_POLICY = PREFIX + "deletion-policy"
PUBLISHED_PROTOCOLS = PREFIX + "published-protocols"
ADOPT = api.ADOPT_ANNOTATION  # read by the controller from the Ingress, not part of the spec
# The Edgio name the hosts are CNAMEd to, shown as the Ingress's load-balancer hostname
# (reconciler.derive.edge); read from the Ingress or the EdgioRoute, not part of the spec.
EDGE_HOSTNAME = PREFIX + "edge-hostname"
KNOWN = (
    SHORTNAME,
    ORIGIN_HOSTNAME,
    ORIGIN_PROTOCOL,
    ORIGIN_PATH,
    OPTIONS,
    DELETION_POLICY,
    PUBLISHED_PROTOCOLS,
    ADOPT,
    EDGE_HOSTNAME,
)


BOOLEANS = ("true", "false")


def adopts(annotations: Mapping[str, str]) -> bool:
    """Whether a route (or its Ingress) asks to take over unmarked rules of its hosts."""
    return annotations.get(ADOPT) == "true"


def edge_hostname_of(annotations: Mapping[str, str]) -> str | None:
    """The edge name a route (or its Ingress) is annotated with, in normal form."""
    value = annotations.get(EDGE_HOSTNAME)
    return fields.normalise_host(value) if value is not None else None


def edge_hostname_errors(
    annotations: Mapping[str, str], hosts: Sequence[str] = ()
) -> list[FieldError]:
    """The annotated edge name's problem, if any, for an object publishing `hosts`."""
    name = edge_hostname_of(annotations)
    problem = edge.edge_hostname_problem(name, hosts) if name is not None else None
    return [FieldError(field_of(EDGE_HOSTNAME), f"{name!r} {problem}")] if problem else []


def field_of(key: str) -> str:
    return f"metadata.annotations[{key}]"


Check = Callable[[str], str | None]  # a value -> the whole error message, or None


def _described(problem_of: Callable[[str], str | None]) -> Check:
    def check(value: str) -> str | None:
        problem = problem_of(value)
        return f"{value!r} {problem}" if problem else None

    return check


def _one_of(*allowed: str) -> Check:
    def check(value: str) -> str | None:
        return fields.choice_problem(value, allowed)

    return check


def _same(value: str) -> str:
    return value


# annotation, where its value goes in the EdgioRoute spec, its check, its normal form
_SCALARS: tuple[tuple[str, tuple[str, ...], Check, Callable[[str], str]], ...] = (
    (SHORTNAME, ("shortname",), _described(fields.shortname_problem), _same),
    (
        ORIGIN_HOSTNAME,
        ("origin", "hostname"),
        _described(fields.origin_problem),
        fields.normalise_host,
    ),
    (ORIGIN_PROTOCOL, ("origin", "protocol"), _one_of(*WEB_PROTOCOLS), _same),
    (ORIGIN_PATH, ("origin", "path"), _described(fields.path_problem), _same),
    (DELETION_POLICY, ("deletionPolicy",), _one_of(*(p.value for p in DeletionPolicy)), _same),
)


def parse_annotations(annotations: Mapping[str, str]) -> tuple[dict[str, Any], list[FieldError]]:
    """EdgioRoute spec fragments from annotations, and every problem found (not just the first)."""
    spec: dict[str, Any] = {}
    errors = [
        FieldError(field_of(key), f"unknown annotation; known ones are {', '.join(KNOWN)}")
        for key in sorted(annotations)
        if key.startswith(PREFIX) and key not in KNOWN
    ]
    if (adopt := annotations.get(ADOPT)) is not None and (problem := _one_of(*BOOLEANS)(adopt)):
        errors.append(FieldError(field_of(ADOPT), problem))
    for key, path, check, normalise in _SCALARS:
        if (raw := annotations.get(key)) is None:
            continue
        value = normalise(raw)
        if message := check(value):
            errors.append(FieldError(field_of(key), message))
            continue
        *parents, leaf = path
        target = spec
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    if (raw_options := annotations.get(OPTIONS)) is not None:
        options, option_errors = fields.parse_options(raw_options, field_of(OPTIONS))
        errors.extend(option_errors)
        if not option_errors:
            spec["cdn"] = {"options": [fields.option_to_spec(o) for o in options]}
    return spec, errors


def published_protocols(
    annotations: Mapping[str, str],
) -> tuple[tuple[WebProtocol, ...] | None, list[FieldError]]:
    """The protocols every rule of the Ingress is published on, when annotated."""
    if (raw := annotations.get(PUBLISHED_PROTOCOLS)) is None:
        return None, []
    protocols, problem = fields.parse_protocols(raw)
    if problem:
        return None, [FieldError(field_of(PUBLISHED_PROTOCOLS), problem)]
    return protocols, []
