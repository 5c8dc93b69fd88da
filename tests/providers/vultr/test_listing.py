"""`VultrDns.list_records` under odd but legal paging: each record once, a listing that
saw the zone move is taken again or marked incomplete, paging always ends, and a record
that cannot be read is skipped and reported instead of failing the pass."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from edgio_sandbox.vultr import Paging, VultrEmulator
from reconciler.providers.base import NotFound, ProviderError
from reconciler.providers.vultr import VultrDns
from tests.providers.vultr.conftest import ZONE
from tests.support import FAST

RECORDS = ("GET", "/v2/domains/{domain}/records")


def client(emulator: VultrEmulator, **settings: object) -> VultrDns:
    return VultrDns(
        emulator.api_key,
        base_url=str(settings.pop("base_url", emulator.api_url)),
        policy=FAST,
        rate=1000,
        burst=50,
    )


def seeded(paging: Paging, count: int = 5) -> VultrEmulator:
    emulator = VultrEmulator(zones=(ZONE,), rate_limit=None, paging=paging).start()
    for i in range(count):
        emulator.seed_record(ZONE, f"n{i}", "A", f"192.0.2.{i}")
    return emulator


def test_pages_that_repeat_records_list_each_once_and_incomplete() -> None:
    emulator = seeded(Paging(cap=2, overlap=1))
    try:
        listing = client(emulator).list_records(ZONE)
        assert sorted(r.name for r in listing) == [f"n{i}" for i in range(5)]
        assert len({r.id for r in listing}) == len(listing)
        assert listing.complete is False  # the pages kept overlapping on the second walk too
    finally:
        emulator.stop()


def test_a_record_added_between_pages_is_seen_by_the_second_walk() -> None:
    emulator = seeded(Paging(cap=2))
    try:
        emulator.faults.add(
            status=None,
            method="GET",
            times=1,
            after=True,
            run=lambda: emulator.seed_record(ZONE, "late", "A", "198.51.100.1"),
        )
        listing = client(emulator).list_records(ZONE)
        assert listing.complete is True
        assert sorted(r.name for r in listing) == ["late", "n0", "n1", "n2", "n3", "n4"]
        assert emulator.calls()[RECORDS] == 3 + 3  # a walk saw the total move; one more
    finally:
        emulator.stop()


def test_a_record_deleted_between_pages_makes_the_walk_repeat() -> None:
    emulator = seeded(Paging(cap=2))
    try:
        first = emulator.records(ZONE)[0]["id"]
        emulator.faults.add(
            status=None,
            method="GET",
            times=1,
            after=True,
            run=lambda: emulator.remove_record(ZONE, first),
        )
        listing = client(emulator).list_records(ZONE)
        assert listing.complete is True
        assert sorted(r.name for r in listing) == ["n1", "n2", "n3", "n4"]
        assert emulator.calls()[RECORDS] > 3
    finally:
        emulator.stop()


def test_endless_fresh_cursors_to_empty_pages_end_the_listing() -> None:
    emulator = seeded(Paging(cap=2, endless=True))
    try:
        listing = client(emulator).list_records(ZONE)
        assert len(listing) == 5 and listing.complete is True
        assert emulator.calls()[RECORDS] == 3  # stopped at meta.total
    finally:
        emulator.stop()


def test_empty_pages_with_fresh_cursors_end_the_listing_without_a_total() -> None:
    emulator = seeded(Paging(endless=True), count=0)
    try:
        page = {"records": [], "meta": {"links": {"next": "again", "prev": ""}}}
        emulator.faults.add(status=200, method="GET", body=json.dumps(page).encode())
        assert client(emulator).list_records(ZONE) == []
        assert emulator.calls()[RECORDS] == 1
    finally:
        emulator.stop()


def test_a_record_that_cannot_be_read_is_skipped_and_reported(
    emulator: VultrEmulator,
) -> None:
    good = {"id": "r-1", "type": "A", "name": "www", "data": "192.0.2.1", "ttl": 60}
    odd = {"id": "r-2", "type": "A", "name": "odd", "data": "192.0.2.2", "ttl": "soon"}
    page = {"records": [odd, good], "meta": {"total": 2, "links": {"next": "", "prev": ""}}}
    emulator.faults.add(status=200, method="GET", body=json.dumps(page).encode())
    listing = client(emulator).list_records(ZONE)
    assert [r.id for r in listing] == ["r-1"]
    [unreadable] = listing.unreadable
    assert unreadable.id == "r-2" and "ttl" in unreadable.problem
    assert listing.complete is True


def test_deleting_a_record_that_is_gone_is_done(emulator: VultrEmulator) -> None:
    dns = client(emulator)
    record_id = emulator.seed_record(ZONE, "www", "A", "192.0.2.1")
    [record] = dns.list_records(ZONE)
    emulator.remove_record(ZONE, record_id)
    dns.delete_record(record)  # 404 while the zone is there: already gone
    emulator.faults.add(status=410, method="DELETE", times=1)
    dns.delete_record(record)  # 410: gone
    assert record.id == record_id


@pytest.mark.parametrize("where", ["zone", "base_url"])
def test_a_404_about_something_else_than_the_record_is_an_error(
    emulator: VultrEmulator, where: str
) -> None:
    emulator.seed_record(ZONE, "www", "A", "192.0.2.1")
    [record] = client(emulator).list_records(ZONE)
    if where == "zone":
        record, dns = replace(record, zone="missing.example"), client(emulator)
    else:
        dns = client(emulator, base_url=emulator.url + "/v1")
    with pytest.raises(NotFound):
        dns.delete_record(record)
    assert len(emulator.records(ZONE)) == 1


def test_listing_errors_still_surface(emulator: VultrEmulator) -> None:
    with pytest.raises(ProviderError):
        client(emulator).list_records("missing.example")
