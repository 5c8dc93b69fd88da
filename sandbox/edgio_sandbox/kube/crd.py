"""CustomResourceDefinitions: turning a CRD object into served kinds, as the API server does.

Creating or updating a CRD registers each served version at once (no controller lag to
wait for), and its status says so with the `NamesAccepted` and `Established` conditions
that `kubectl wait --for=condition=Established` and installers look for.
"""

from __future__ import annotations

import re
from typing import Any

from .kinds import Kind
from .status import invalid
from .store import Obj, now
from .table import JsonPathError, parse_jsonpath

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def served_kinds(crd: Obj) -> list[Kind]:
    spec = crd["spec"]
    names = spec["names"]
    return [
        Kind(
            group=spec["group"],
            version=version["name"],
            plural=names["plural"],
            kind=names["kind"],
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            status="status" in (version.get("subresources") or {}),
            generation=True,
            fields=tuple(
                entry["jsonPath"].lstrip(".") for entry in version.get("selectableFields") or ()
            ),
            custom=True,
            schema=(version.get("schema") or {}).get("openAPIV3Schema"),
            columns=tuple(version.get("additionalPrinterColumns") or ()),
            categories=tuple(names.get("categories") or ()),
        )
        for version in spec.get("versions") or ()
        if version.get("served", True)
    ]


def admit_crd(kind: Kind, crd: Obj, old: Obj | None) -> None:
    """Check what the server needs to serve the CRD, then mark it accepted and established."""
    name = crd["metadata"]["name"]
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    causes: list[tuple[str, str]] = []
    for field in ("plural", "kind"):
        if not names.get(field):
            causes.append((f"spec.names.{field}", "Required value"))
    if not spec.get("group"):
        causes.append(("spec.group", "Required value"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(("spec.scope", "Unsupported value: must be Namespaced or Cluster"))
    versions = spec.get("versions") or []
    if not versions or any(not v.get("name") for v in versions):
        causes.append(("spec.versions", "Required value: each version needs a name"))
    causes += _column_errors(versions)
    causes += _metadata_errors(versions)
    if causes:
        invalid(kind, name, causes)
    if name != f"{names['plural']}.{spec['group']}":
        message = f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'
        invalid(kind, name, [("metadata.name", message)])
    if not _DNS_LABEL.match(names["plural"]):
        invalid(kind, name, [("spec.names.plural", "Invalid value: must be a DNS-1035 label")])
    if (crd.get("status") or {}).get("conditions"):
        return  # established already: keep its conditions and their transition times
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", f"{names['kind']}List")
    storage = [v["name"] for v in versions if v.get("storage")] or [versions[0]["name"]]
    crd["status"] = {
        "acceptedNames": dict(names),
        "storedVersions": storage,
        "conditions": [
            _condition("NamesAccepted", "NoConflicts"),
            _condition("Established", "InitialNamesAccepted"),
        ],
    }


def _column_errors(versions: list[Obj]) -> list[tuple[str, str]]:
    """Printer columns are parsed when the CRD is accepted, not when `kubectl get` runs."""
    causes = []
    for v, version in enumerate(versions):
        for c, column in enumerate(version.get("additionalPrinterColumns") or ()):
            try:
                parse_jsonpath(str(column.get("jsonPath", "")))
            except JsonPathError as error:
                where = f"spec.versions[{v}].additionalPrinterColumns[{c}].jsonPath"
                causes.append((where, f"Invalid value: {error}"))
    return causes


_METADATA_FORBIDDEN = (
    "Forbidden: must not specify anything other than name and generateName, "
    "but metadata is implicitly specified"
)


def _metadata_errors(versions: list[Obj]) -> list[tuple[str, str]]:
    """The schema of a custom resource's `metadata` may say `type: object` and constrain
    `name` and `generateName`, nothing else (not even a description): the server owns
    ObjectMeta. kube-apiserver refuses the whole CRD otherwise, so must we, or a CRD that
    passes here fails to install in a cluster. One schema shared by every version is
    reported at `spec.validation`, as the API server reports it."""
    schemas = [((v.get("schema") or {}).get("openAPIV3Schema") or {}) for v in versions]
    causes = []
    for v, schema in enumerate(schemas):
        metadata = (schema.get("properties") or {}).get("metadata")
        if metadata is None:
            continue
        extra = set(metadata) - {"type", "properties"}
        extra |= {f"properties.{p}" for p in metadata.get("properties") or {}} - {
            "properties.name",
            "properties.generateName",
        }
        if extra or metadata.get("type", "object") != "object":
            shared = all(other == schema for other in schemas)
            where = "spec.validation" if shared else f"spec.versions[{v}].schema"
            causes.append((f"{where}.openAPIV3Schema.properties[metadata]", _METADATA_FORBIDDEN))
            if shared:
                break
    return causes


def _condition(kind: str, reason: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True",
        "reason": reason,
        "message": "the initial names have been accepted"
        if kind == "Established"
        else "no conflicts found",
        "lastTransitionTime": now(),
    }
