"""`VultrDns`, our client, over real HTTP against the emulator."""

from __future__ import annotations

from collections import Counter

import pytest

from edgio_sandbox.vultr import VultrEmulator
from reconciler.model import DnsRecord, OwnerMarker
from reconciler.providers.base import DnsProvider, ValidationFailed
from reconciler.providers.vultr import VultrDns
from reconciler.registry import ownership
from tests.providers.vultr.conftest import ZONE
from tests.support import FAST

RECORDS_ROUTE = ("GET", "/v2/domains/{domain}/records")


def a_record(ip: str, name: str = "origin", ttl: int = 120) -> DnsRecord:
    return DnsRecord(zone=ZONE, name=name, type="A", data=ip, ttl=ttl)


def stored(emulator: VultrEmulator) -> set[tuple[str, str, str, int]]:
    return {(r["name"], r["type"], r["data"], r["ttl"]) for r in emulator.records(ZONE)}


def test_life_cycle(dns: VultrDns, emulator: VultrEmulator) -> None:
    provider: DnsProvider = dns
    made = [provider.create_record(a_record(ip)) for ip in ("192.0.2.1", "192.0.2.2")]
    assert all(record.id for record in made)
    assert made == [a_record("192.0.2.1"), a_record("192.0.2.2")]

    listed = provider.list_records(ZONE)
    assert listed == made
    assert [r.id for r in listed] == [r.id for r in made]

    moved = provider.update_record(made[0], a_record("192.0.2.9"))
    assert (moved, moved.id) == (a_record("192.0.2.9"), made[0].id)
    assert stored(emulator) == {
        ("origin", "A", "192.0.2.9", 120),
        ("origin", "A", "192.0.2.2", 120),
    }

    provider.delete_record(moved)
    provider.delete_record(moved)  # already gone: still done, no error
    assert provider.list_records(ZONE) == [made[1]]


def test_apex_name_is_empty(dns: VultrDns, emulator: VultrEmulator) -> None:
    apex = dns.create_record(a_record("192.0.2.1", name=""))
    assert apex.fqdn == ZONE
    assert emulator.records(ZONE)[0]["name"] == ""


def test_txt_round_trip_strips_the_quotes(dns: VultrDns, emulator: VultrEmulator) -> None:
    text = ownership.render(OwnerMarker(owner="cluster-1", resource="origin"))
    marker = DnsRecord(zone=ZONE, name=ownership.txt_name("origin"), type="TXT", data=text, ttl=300)
    made = dns.create_record(marker)
    assert made.data == text
    assert emulator.records(ZONE)[0]["data"] == f'"{text}"'

    (listed,) = dns.list_records(ZONE)
    assert listed == marker
    assert ownership.parse(listed.data) == OwnerMarker(owner="cluster-1", resource="origin")

    renamed = dns.update_record(listed, DnsRecord(ZONE, "a-other", "TXT", "v=2", 300))
    assert emulator.records(ZONE)[0]["data"] == '"v=2"'
    assert dns.list_records(ZONE) == [renamed]


def test_paging_over_more_than_a_thousand_records(dns: VultrDns, emulator: VultrEmulator) -> None:
    ids = [
        emulator.seed_record(ZONE, f"host{i}", "A", f"10.0.{i // 250}.{i % 250}")
        for i in range(1234)
    ]
    emulator.reset_calls()
    listed = dns.list_records(ZONE)
    assert [r.id for r in listed] == ids
    assert listed[1233] == a_record("10.0.4.233", name="host1233", ttl=300)
    assert emulator.calls() == {RECORDS_ROUTE: 3}  # 500 + 500 + 234


def test_foreign_records_are_listed_untouched(dns: VultrDns, emulator: VultrEmulator) -> None:
    foreign = {
        emulator.seed_record(ZONE, "", "MX", "mx.example.net", priority=10): "MX",
        emulator.seed_record(ZONE, "www", "CNAME", "origin.example.net"): "CNAME",
        emulator.seed_record(ZONE, "", "TXT", "v=spf1 -all"): "TXT",
        emulator.seed_record(ZONE, "legacy", "A", "198.51.100.7"): "A",
    }
    before = emulator.records(ZONE)
    ours = dns.create_record(a_record("192.0.2.1"))
    listed = {r.id: r for r in dns.list_records(ZONE)}
    assert {record_id: listed[record_id].type for record_id in foreign} == foreign
    assert listed[next(iter(foreign))].data == "mx.example.net"

    dns.delete_record(ours)
    assert emulator.records(ZONE) == before


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        (DnsRecord(ZONE, "www", "CNAME", "elsewhere.example.net", 300), "only A and TXT"),
        (DnsRecord(ZONE, "a-x", "TXT", 'say "hi"', 300), "double quotes"),
        (DnsRecord(ZONE, "x", "A", "192.0.2.1", 0), "ttl"),
    ],
)
def test_refuses_what_it_must_not_write(
    dns: VultrDns, emulator: VultrEmulator, record: DnsRecord, fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment) as raised:
        dns.create_record(record)
    assert record.fqdn in str(raised.value)
    assert emulator.calls() == {}


def test_update_and_delete_need_a_listed_record(dns: VultrDns, emulator: VultrEmulator) -> None:
    with pytest.raises(ValueError, match="has no id"):
        dns.delete_record(a_record("192.0.2.1"))
    made = dns.create_record(a_record("192.0.2.1"))
    with pytest.raises(ValueError, match="cannot change zone or type"):
        dns.update_record(made, DnsRecord(ZONE, "origin", "TXT", "x", 120))
    assert Counter(method for method, _ in emulator.calls()) == Counter({"POST": 1})


def test_a_ttl_change_of_a_round_robin_set_is_refused_member_by_member(
    dns: VultrDns, emulator: VultrEmulator
) -> None:
    """Documents what the planner must do: change a set's TTL by replacing the set."""
    first, _ = (dns.create_record(a_record(ip)) for ip in ("192.0.2.1", "192.0.2.2"))
    with pytest.raises(ValidationFailed, match="TTL 60 differs"):
        dns.update_record(first, a_record("192.0.2.1", ttl=60))
    assert {ttl for *_, ttl in stored(emulator)} == {120}


def test_client_repr_is_plain(emulator: VultrEmulator) -> None:
    client = VultrDns(emulator.api_key, base_url=emulator.api_url, policy=FAST)
    assert repr(client) == f"VultrDns(base_url={emulator.api_url!r})"
