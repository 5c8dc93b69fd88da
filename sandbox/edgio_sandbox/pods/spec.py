"""What a container's spec says to run, resolved as kubelet resolves it: the command line
(`command`/`args` with `$(VAR)` references) and the environment (`envFrom`, then `env`,
from values, ConfigMaps, Secrets and the pod's own fields).

Only images whose repository ends in `edgio-ingress` can run: the image's entrypoint is
the `edgio-ingress` command, so the runner starts the installed command instead of
pulling the image. Anything else is refused with :class:`NotRunnable`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any

Obj = dict[str, Any]
#: kind ("ConfigMap" or "Secret"), namespace, name -> the object, or None when missing
Reader = Callable[[str, str, str], Obj | None]

IMAGE_SUFFIX = "edgio-ingress"
_REFERENCE = re.compile(r"\$\((\w+)\)|\$\$")


class NotRunnable(Exception):
    """The container cannot start: its `reason` and `message` go to its waiting state."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def repository(image: str) -> str:
    """`registry:5000/team/edgio-ingress:1.0@sha256:...` -> `registry:5000/team/edgio-ingress`."""
    name = image.split("@", 1)[0]
    head, colon, tag = name.rpartition(":")
    return head if colon and "/" not in tag else name


def argv(container: Obj, env: Mapping[str, str], executable: str) -> list[str]:
    """The command line: the image's entrypoint (`edgio-ingress`) unless `command` replaces
    it, then `args`; `$(VAR)` is expanded from the container's environment."""
    image = container.get("image", "")
    if not repository(image).endswith(IMAGE_SUFFIX):
        raise NotRunnable(
            "ImageNotRunnable",
            f"the sandbox's pod runner runs only images whose repository ends in "
            f"{IMAGE_SUFFIX!r} (as the installed edgio-ingress command); {image!r} is not one",
        )
    command = [expand(part, env) for part in container.get("command") or [IMAGE_SUFFIX]]
    if command[0] == IMAGE_SUFFIX:
        command[0] = executable
    return command + [expand(part, env) for part in container.get("args") or []]


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubelet's `$(VAR)`: replaced when VAR is defined, kept as written when not; `$$`
    is a literal `$`."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REFERENCE.sub(replace, text)


def environment(container: Obj, pod: Obj, read: Reader, extra: Mapping[str, str]) -> dict[str, str]:
    """`envFrom` sources in order, then `env` entries (later ones win, as in kubelet);
    `extra` are the pod's own fields a `fieldRef` may name beyond metadata and spec."""
    namespace = pod["metadata"]["namespace"]
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for key, value in _source_data(source, namespace, read).items():
            env[prefix + key] = value
    for entry in container.get("env") or []:
        if "valueFrom" in entry:
            found = _value_from(entry["valueFrom"], pod, namespace, read, extra)
            if found is not None:
                env[entry["name"]] = found
        else:
            env[entry["name"]] = expand(entry.get("value", ""), env)
    return env


def _source_data(source: Obj, namespace: str, read: Reader) -> dict[str, str]:
    for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
        if field in source:
            reference = source[field]
            obj = _required(kind, namespace, reference["name"], reference.get("optional"), read)
            return _data(obj) if obj else {}
    return {}


def _value_from(
    source: Obj, pod: Obj, namespace: str, read: Reader, extra: Mapping[str, str]
) -> str | None:
    for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
        if field in source:
            reference = source[field]
            optional = reference.get("optional")
            obj = _required(kind, namespace, reference["name"], optional, read)
            data = _data(obj) if obj else {}
            if reference["key"] not in data and obj and not optional:
                raise NotRunnable(
                    "CreateContainerConfigError",
                    f"couldn't find key {reference['key']} in {kind} "
                    f"{namespace}/{reference['name']}",
                )
            return data.get(reference["key"])
    if "fieldRef" in source:
        return _field(pod, source["fieldRef"]["fieldPath"], extra)
    raise NotRunnable("CreateContainerConfigError", f"unsupported env source {sorted(source)}")


def _required(kind: str, namespace: str, name: str, optional: Any, read: Reader) -> Obj | None:
    obj = read(kind, namespace, name)
    if obj is None and not optional:
        raise NotRunnable(
            "CreateContainerConfigError", f'{kind.lower()} "{name}" not found in {namespace}'
        )
    return obj


def _data(obj: Obj) -> dict[str, str]:
    if obj.get("kind") == "Secret":
        raw = obj.get("data") or {}
        return {key: base64.b64decode(value).decode() for key, value in raw.items()}
    return dict(obj.get("data") or {})


_LABEL = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


def _field(pod: Obj, path: str, extra: Mapping[str, str]) -> str:
    """The downward API's fields: metadata name, namespace, uid, a label or annotation;
    spec nodeName and serviceAccountName; status podIP and hostIP (from `extra`)."""
    meta, spec = pod["metadata"], pod["spec"]
    simple = {
        "metadata.name": meta["name"],
        "metadata.namespace": meta["namespace"],
        "metadata.uid": meta["uid"],
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName") or "default",
        **extra,
    }
    if path in simple:
        return str(simple[path])
    if match := _LABEL.match(path):
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    raise NotRunnable("CreateContainerConfigError", f"unsupported fieldRef {path}")
