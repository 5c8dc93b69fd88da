"""Fixtures for the Vultr emulator and clients: a fresh emulator per test (it starts in
milliseconds), our client with a fast retry policy, and the official client as the
reference that proves the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import vultr_python_client
from vultr_python_client.apis.tags.dns_api import DnsApi

from edgio_sandbox.vultr import VultrEmulator
from reconciler.providers.vultr import VultrDns
from tests.support import FAST

ZONE = "example.com"


@pytest.fixture
def emulator() -> Iterator[VultrEmulator]:
    with VultrEmulator(zones=(ZONE,), seed=7) as server:
        yield server


@pytest.fixture
def dns(emulator: VultrEmulator) -> VultrDns:
    return VultrDns(emulator.api_key, base_url=emulator.api_url, policy=FAST, timeout=5)


def official_api(url: str, key: str, *, retries: bool = True) -> Iterator[DnsApi]:
    """The unmodified official client, with the documented access_token workaround."""
    config = vultr_python_client.Configuration(host=url)
    config.access_token = key
    if not retries:
        config.retries = False
    with vultr_python_client.ApiClient(config) as client:
        yield DnsApi(client)


@pytest.fixture
def official(emulator: VultrEmulator) -> Iterator[DnsApi]:
    yield from official_api(emulator.api_url, emulator.api_key)
