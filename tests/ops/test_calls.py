"""Every provider call the controller makes is one log line: provider, operation, what it
was about, outcome and duration; a failure says why, and no line carries a credential."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.vultr import VultrEmulator
from reconciler.controller.observability import configure_logging
from reconciler.model import CdnRule, DnsRecord, OwnerMarker
from reconciler.providers.base import AuthFailed, DnsProvider
from reconciler.providers.calls import logged
from reconciler.providers.edgio import EdgioCdn
from reconciler.providers.vultr import VultrDns
from reconciler.registry import ownership
from tests.support import FAST

RECORD = DnsRecord("example.com", "origin", "A", "203.0.113.1", 60)


def rule(owner: OwnerMarker | None) -> CdnRule:
    return CdnRule(
        "exampleco", "exampleco.s.llnwi.net", "/fred", "origin.example.com", 31000, owner=owner
    )


@pytest.fixture(autouse=True)
def debug_logs() -> Iterator[None]:
    """The controller's own configuration, at debug, for each test only."""
    configure_logging("json", "debug")
    yield
    structlog.reset_defaults()


def test_a_write_and_a_listing_are_told_with_their_subject_and_duration() -> None:
    with VultrEmulator(zones=("example.com",)) as vultr:
        dns: DnsProvider = logged(VultrDns(vultr.api_key, base_url=vultr.api_url), "vultr")
        with capture_logs() as lines:
            dns.create_record(RECORD)
            dns.list_records("example.com")
    create, listing = lines
    assert create["event"] == "provider call"
    assert create["log_level"] == "info"
    assert create["provider"] == "vultr"
    assert create["operation"] == "create_record"
    assert create["record"] == "origin.example.com A 203.0.113.1"
    assert create["outcome"] == "ok"
    assert 0 <= create["duration"] < 5
    assert listing["operation"] == "list_records"
    assert listing["target"] == "example.com"
    assert listing["count"] == 1


def test_a_rule_call_names_its_route() -> None:
    marker = OwnerMarker("k8s-test", ownership.route_resource("default/web"))
    with EdgioEmulator(shortnames=("exampleco",)) as edgio:
        client = EdgioCdn(edgio.principal, edgio.shared_key_hex, base_url=edgio.api_url, rate=50)
        cdn = logged(client, "edgio")
        with capture_logs() as lines:
            created = cdn.create_rule(rule(marker))
            cdn.delete_rule(created)
    assert [(line["operation"], line["route"]) for line in lines] == [
        ("create_rule", "default/web"),
        ("delete_rule", "default/web"),
    ]
    assert lines[0]["rule"] == "exampleco/exampleco.s.llnwi.net/fred"


def test_a_failed_call_is_a_warning_with_the_reason_and_no_credential() -> None:
    with VultrEmulator(zones=("example.com",)) as vultr:
        wrong_key = "WRONG" + vultr.api_key[5:]
        dns = logged(VultrDns(wrong_key, base_url=vultr.api_url, policy=FAST), "vultr")
        with capture_logs() as lines, pytest.raises(AuthFailed):
            dns.create_record(RECORD)
    (line,) = lines
    assert line["log_level"] == "warning"
    assert line["outcome"] == "ProviderAuthFailed"
    assert line["status"] == 401
    assert line["error"]
    told = json.dumps(lines)
    assert wrong_key not in told and vultr.api_key not in told


def test_the_proxy_passes_everything_else_through() -> None:
    """The provider cache follows a rule being published with `get_rule`, which it finds
    by `hasattr`: the proxy must offer it too (logged at debug, it runs every pass)."""
    with EdgioEmulator(shortnames=("exampleco",)) as edgio:
        client = EdgioCdn(edgio.principal, edgio.shared_key_hex, base_url=edgio.api_url, rate=50)
        cdn = logged(client, "edgio")
        created = cdn.create_rule(rule(None))
        assert hasattr(cdn, "get_rule") and created.id is not None
        with capture_logs() as lines:
            cdn.get_rule(created.id)  # type: ignore[attr-defined]
        assert lines[0]["log_level"] == "debug"
        assert lines[0]["target"] == created.id
        assert edgio.shared_key_hex not in repr(cdn)
