"""Adoption: a route annotated `cdn.edgio.io/adopt: "true"` takes over the rule Edgio
already has for its host and path, only when asked, only when that rule carries no
ownership marker, and in place, so the host is never unpublished."""

from __future__ import annotations

import pytest

from tests.controller.conftest import HOST, SHORTNAME, World, converged, ingress
from tests.support import eventually

pytestmark = pytest.mark.slow


def portal_rule(world: World) -> str:
    """The rule someone made in the portal for the path our Ingress publishes."""
    return world.edgio.seed_instance(
        SHORTNAME,
        {
            "publishedHostname": HOST,
            "publishedUrlPath": "/fred",
            "sourceHostname": "legacy.example.net",
            "protocolSets": [{"publishedProtocol": "http", "sourceProtocol": "http"}],
        },
    )


def test_a_foreign_rule_is_taken_over_in_place_only_when_asked(world: World) -> None:
    world.seed_cluster()
    uuid = portal_rule(world)
    world.apply(ingress())
    assert world.once().returncode == 0
    assert world.condition("web", "Conflict").get("reason") == "ForeignRule"
    assert world.rules()["/fred"]["body"]["sourceHostname"] == "legacy.example.net"

    world.apply(ingress(annotations={"cdn.edgio.io/adopt": "true"}))
    assert world.once().returncode == 0
    eventually(lambda: converged(world), timeout=30)
    adopted = world.rules()["/fred"]
    assert adopted["uuid"] == uuid  # the same rule, rewritten: never deleted and recreated
    assert adopted["body"]["sourceHostname"] == "origin.example.com"
    assert not [w for w in world.edgio.writes() if w.method in ("DELETE", "POST")]


def test_a_rule_of_another_controller_is_never_adopted(world: World, other_cluster: World) -> None:
    other_cluster.seed_cluster()
    other_cluster.apply(ingress())
    assert other_cluster.once("--owner-id", "cluster-b").returncode == 0
    theirs = world.rules()["/fred"]
    world.seed_cluster()
    world.apply(ingress(annotations={"cdn.edgio.io/adopt": "true"}))
    assert world.once("--owner-id", "cluster-a").returncode == 0
    assert world.condition("web", "Conflict").get("reason") == "ForeignRule"
    assert world.rules()["/fred"] == theirs


def test_a_bad_adopt_value_is_named_on_the_ingress(world: World) -> None:
    world.seed_cluster()
    portal_rule(world)
    world.apply(ingress(annotations={"cdn.edgio.io/adopt": "yes"}))
    assert world.once().returncode == 0
    [event] = [e for e in world.events("Ingress") if e["reason"] == "InvalidSpec"]
    assert "metadata.annotations[cdn.edgio.io/adopt]: unsupported value 'yes'" in event["message"]
    assert world.route() is None
    assert world.rules()["/fred"]["body"]["sourceHostname"] == "legacy.example.net"
