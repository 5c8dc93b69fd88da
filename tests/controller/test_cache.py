"""The provider state cache: listed once, kept current by our writes, distrusted on failure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.vultr import VultrEmulator
from reconciler.controller.cache import ProviderCache
from reconciler.model import CdnRule, DnsRecord, OwnerMarker
from reconciler.providers.base import ProviderError
from reconciler.providers.edgio import EdgioCdn
from reconciler.providers.vultr import VultrDns
from tests.support import FAST

LIST_RULES = ("GET", "/config-api/v1/serviceInstances/shortname/{shortname}")
RULE = CdnRule(
    "exampleco",
    "exampleco.s.llnwi.net",
    "/fred",
    "origin.example.com",
    30080,
    owner=OwnerMarker("me", "edgioroute/default/web"),
)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


Cached = tuple[ProviderCache, VultrEmulator, EdgioEmulator, Clock]


@pytest.fixture
def cached() -> Iterator[Cached]:
    clock = Clock()
    with VultrEmulator(zones=("example.com",)) as vultr, EdgioEmulator() as edgio:
        dns = VultrDns(vultr.api_key, base_url=vultr.api_url, policy=FAST, rate=1000, burst=100)
        cdn = EdgioCdn(
            edgio.principal, edgio.shared_key_hex, base_url=edgio.api_url, policy=FAST, rate=1000
        )
        yield ProviderCache(dns, cdn, resync=600, clock=clock), vultr, edgio, clock


def list_calls(edgio: EdgioEmulator) -> int:
    return sum(
        n for (method, path), n in edgio.calls().items() if method == "GET" and "shortname" in path
    )


def test_listed_once_until_resync_or_a_full_listing(cached: Cached) -> None:
    cache, _, edgio, clock = cached
    cache.rules("exampleco")
    cache.rules("exampleco")
    assert list_calls(edgio) == 1
    clock.now = 601
    cache.rules("exampleco")
    cache.rules("exampleco", full=True)
    assert list_calls(edgio) == 3


def test_our_writes_keep_the_cache_current(cached: Cached) -> None:
    cache, _, edgio, _ = cached
    assert cache.rules("exampleco") == [] and cache.records("example.com") == []
    created = cache.cdn.create_rule(RULE)
    record = cache.dns.create_record(DnsRecord("example.com", "origin", "A", "203.0.113.1", 60))
    assert cache.rules("exampleco") == [created]
    assert cache.records("example.com") == [record]
    cache.cdn.delete_rule(created)
    assert cache.rules("exampleco") == []
    assert list_calls(edgio) == 1


def test_a_failed_write_invalidates_what_it_touched(cached: Cached) -> None:
    cache, _, edgio, _ = cached
    created = cache.cdn.create_rule(RULE)
    cache.rules("exampleco")
    listed = list_calls(edgio)
    edgio.remove_instance(created.id or "")
    edgio.faults.add(status=404, method="PUT", times=1)
    with pytest.raises(ProviderError):
        cache.cdn.update_rule(created, RULE)
    assert cache.rules("exampleco") == []  # listed again: the rule is gone
    assert list_calls(edgio) > listed
