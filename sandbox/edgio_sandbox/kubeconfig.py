"""The kubeconfig both API servers hand to kubectl and the client: one cluster, one user
with a bearer token, one context in `default`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def write_kubeconfig(path: str | Path, name: str, cluster: dict[str, Any], token: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": name, "namespace": "default"}}
        ],
        "current-context": name,
    }
    target = Path(path)
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    return target
