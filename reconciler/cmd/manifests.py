"""Reading Kubernetes manifests from files, as `kubectl apply -f` accepts them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import yaml


class ManifestError(Exception):
    """A file that cannot be read as manifests; the message names the file."""


def read_objects(path: str) -> Iterator[dict[str, Any]]:
    """Every object in a multi-document YAML file ('-' is stdin); List kinds are expanded."""
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        documents = list(yaml.safe_load_all(text))
    except OSError as error:
        raise ManifestError(f"{path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ManifestError(f"{path}: not valid YAML: {error}") from None
    for index, document in enumerate(documents):
        if document is None:
            continue
        if not isinstance(document, dict):
            raise ManifestError(f"{path}: document {index + 1} is not a Kubernetes object")
        if str(document.get("kind", "")).endswith("List") and "items" in document:
            yield from (item for item in document["items"] or [] if isinstance(item, dict))
        else:
            yield document
