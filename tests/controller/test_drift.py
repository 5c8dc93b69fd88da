"""Edits made outside are corrected by the next full listing; foreign objects never."""

from __future__ import annotations

import pytest

from tests.controller.conftest import HOST, ORIGIN, SHORTNAME, ZONE, World, converged, ingress
from tests.support import eventually

pytestmark = pytest.mark.slow


def seeded(world: World) -> tuple[str, str]:
    world.seed_cluster()
    foreign_record = world.vultr.seed_record(ZONE, "www", "A", "198.51.100.80")
    foreign_rule = world.edgio.seed_instance(
        SHORTNAME,
        {
            "publishedHostname": HOST,
            "publishedUrlPath": "/legacy/",
            "sourceHostname": "legacy.example.net",
            "protocolSets": [{"publishedProtocol": "http", "sourceProtocol": "http"}],
        },
    )
    world.apply(ingress())
    return foreign_record, foreign_rule


def assert_foreign_untouched(world: World, record: str, rule: str) -> None:
    records = {r["id"]: r for r in world.vultr.records(ZONE)}
    assert records[record]["data"] == "198.51.100.80"
    instances = {i["uuid"]: i for i in world.edgio.instances()}
    assert instances[rule]["body"]["sourceHostname"] == "legacy.example.net"
    assert instances[rule]["revision"]["versionNumber"] == 1


def test_the_cron_pass_restores_edited_and_deleted_objects(world: World) -> None:
    record, rule = seeded(world)
    assert world.once().returncode == 0
    assert converged(world)
    ours = world.rules()["/fred"]
    world.edgio.edit_instance(ours["uuid"], sourceHostname="tampered.example.net")
    assert world.once().returncode == 0
    assert world.rules()["/fred"]["body"]["sourceHostname"] == ORIGIN
    world.edgio.remove_instance(ours["uuid"])
    gone = next(r for r in world.vultr.records(ZONE) if r["name"] == "origin")
    world.vultr.remove_record(ZONE, gone["id"])
    assert world.once().returncode == 0
    assert world.rules()["/fred"]["body"]["sourceHostname"] == ORIGIN
    assert world.a_records() == ["203.0.113.1", "203.0.113.2"]
    assert_foreign_untouched(world, record, rule)


def test_the_running_loop_restores_drift_at_its_next_full_listing(world: World) -> None:
    record, rule = seeded(world)
    world.start("--interval", "0.5s", "--provider-resync", "1s")
    eventually(lambda: converged(world), timeout=20)
    ours = world.rules()["/fred"]
    world.edgio.edit_instance(ours["uuid"], sourceHostname="tampered.example.net")
    eventually(lambda: world.rules()["/fred"]["body"]["sourceHostname"] == ORIGIN, timeout=20)
    gone = next(r for r in world.vultr.records(ZONE) if r["name"] == "origin")
    world.vultr.remove_record(ZONE, gone["id"])
    eventually(lambda: world.a_records() == ["203.0.113.1", "203.0.113.2"], timeout=20)
    assert_foreign_untouched(world, record, rule)
