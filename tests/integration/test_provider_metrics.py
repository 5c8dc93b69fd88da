"""Every provider call is counted by provider, operation and outcome, throttles by source."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.vultr import VultrEmulator
from reconciler.model import CdnRule, DnsRecord
from reconciler.providers.base import NotFound
from reconciler.providers.edgio import EdgioCdn
from reconciler.providers.transport import RetryPolicy
from reconciler.providers.vultr import VultrDns

FAST = RetryPolicy(attempts=4, initial_wait=0.001, max_wait=0.01, max_retry_after=0.02)


def calls(provider: str, operation: str, outcome: str) -> float:
    labels = {"provider": provider, "operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("edgio_ingress_provider_calls_total", labels) or 0.0


def throttles(provider: str, source: str) -> float:
    labels = {"provider": provider, "source": source}
    return REGISTRY.get_sample_value("edgio_ingress_provider_throttles_total", labels) or 0.0


def test_vultr_calls_and_throttles_are_counted() -> None:
    with VultrEmulator(zones=("example.com",)) as vultr:
        dns = VultrDns(vultr.api_key, base_url=vultr.api_url, policy=FAST, rate=1000, burst=100)
        before = {
            "ok": calls("vultr", "create_record", "ok"),
            "throttled": calls("vultr", "create_record", "ProviderThrottled"),
            "server": throttles("vultr", "server"),
            "rejected": calls("vultr", "list_records", "ProviderNotFound"),
        }
        vultr.faults.add(status=429, method="POST", times=1)
        dns.create_record(DnsRecord("example.com", "origin", "A", "203.0.113.1", 60))
        with pytest.raises(NotFound):
            dns.list_records("missing.example")
        assert calls("vultr", "create_record", "ok") == before["ok"] + 1
        assert calls("vultr", "create_record", "ProviderThrottled") == before["throttled"] + 1
        assert throttles("vultr", "server") == before["server"] + 1
        assert calls("vultr", "list_records", "ProviderNotFound") == before["rejected"] + 1


def test_edgio_calls_and_client_pacing_are_counted() -> None:
    with EdgioEmulator() as edgio:
        # One token every half second: each listing after the first must wait for one,
        # however slow a loaded machine answers.
        cdn = EdgioCdn(
            edgio.principal, edgio.shared_key_hex, base_url=edgio.api_url, rate=2, burst=1
        )
        before_ok = calls("edgio", "list_rules", "ok")
        before_paced = throttles("edgio", "client")
        for _ in range(3):
            cdn.list_rules("exampleco")
        assert calls("edgio", "list_rules", "ok") == before_ok + 3
        assert throttles("edgio", "client") >= before_paced + 2
        rule = CdnRule("exampleco", "a.example.com", "/", "origin.example.com", 30080)
        created = cdn.create_rule(rule)
        assert created.id is not None
        assert REGISTRY.get_sample_value(
            "edgio_ingress_provider_call_seconds_count",
            {"provider": "edgio", "operation": "create_rule"},
        )
