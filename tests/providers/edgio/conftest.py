"""Fixtures: a fresh Edgio emulator per test and our client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from edgio_sandbox.edgio import EdgioEmulator
from reconciler.model import CdnOption, CdnRule, OwnerMarker
from reconciler.providers.edgio import EdgioCdn
from reconciler.providers.signing import LlnwAuth
from tests.support import FAST

SHORTNAME = "exampleco"
OWNER = OwnerMarker(owner="cluster-a", resource="edgioroute/default/web")


def client_for(emulator: EdgioEmulator, **overrides: Any) -> EdgioCdn:
    settings: dict[str, Any] = {
        "base_url": emulator.api_url,
        "rate": 10_000.0,
        "burst": 100,
        "policy": FAST,
        "timeout": 5.0,
    }
    settings.update(overrides)
    user = settings.pop("user", emulator.principal)
    key = settings.pop("key", emulator.shared_key_hex)
    return EdgioCdn(user, key, **settings)


def make_rule(host: str = "www.example.com", path: str = "/app/", **fields: Any) -> CdnRule:
    values: dict[str, Any] = {
        "shortname": SHORTNAME,
        "published_host": host,
        "published_path": path,
        "source_host": "k8s-origin.example.com",
        "source_port": 30080,
        "options": (CdnOption("refresh_absmin", (3600,)),),
        "owner": OWNER,
    }
    values.update(fields)
    return CdnRule(**values)


def instance_body(host: str = "www.example.com", path: str = "/app/") -> dict[str, Any]:
    """A create body as another tool (or the portal) would write it."""
    return {
        "serviceKey": {"name": "delivery"},
        "serviceProfileName": "LLNW-Generic",
        "publishedHostname": host,
        "publishedUrlPath": path,
        "sourceHostname": "origin.example.com",
        "sourceUrlPath": "/",
        "protocolSets": [{"publishedProtocol": "https", "sourceProtocol": "https", "options": []}],
    }


@pytest.fixture
def emulator() -> Iterator[EdgioEmulator]:
    with EdgioEmulator(shortnames=(SHORTNAME, "otherco")) as server:
        yield server


@pytest.fixture
def cdn(emulator: EdgioEmulator) -> EdgioCdn:
    return client_for(emulator)


@pytest.fixture
def session(emulator: EdgioEmulator) -> Iterator[requests.Session]:
    """A plain `requests` session signed like the official clients, for unwrapped endpoints."""
    with requests.Session() as signed:
        signed.auth = LlnwAuth(emulator.principal, emulator.shared_key_hex)
        signed.headers["Content-Type"] = "application/json"
        yield signed
