"""`EdgioCdn.list_rules` under odd but legal answers: capped pages, a collection that
moves while it is paged, instances the portal stored in shapes we cannot read, and our
marker in a second protocol set. Also when a 404 on delete means "already gone"."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from edgio_sandbox.edgio import EdgioEmulator
from reconciler.providers.base import AuthFailed, NotFound
from reconciler.registry import ownership
from tests.providers.edgio.conftest import OWNER, SHORTNAME, client_for, instance_body, make_rule

LIST = ("GET", f"/config-api/v1/svcinst/delivery/shortname/{SHORTNAME}")


def emulator_with(count: int, **settings: Any) -> EdgioEmulator:
    emulator = EdgioEmulator(shortnames=(SHORTNAME,), **settings).start()
    for i in range(count):
        emulator.seed_instance(SHORTNAME, instance_body(path=f"/p{i}/"))
    return emulator


def test_a_server_that_caps_the_page_size_loses_no_rule() -> None:
    emulator = emulator_with(75, max_page_size=30)
    try:
        listing = client_for(emulator).list_rules(SHORTNAME)
        assert len(listing) == 75 and listing.complete
        assert emulator.calls()[LIST] == 4  # 30, 30, 15, then an empty page
    finally:
        emulator.stop()


def test_a_total_ends_the_listing_without_an_empty_page() -> None:
    emulator = emulator_with(75, max_page_size=30, list_total=True)
    try:
        assert len(client_for(emulator).list_rules(SHORTNAME)) == 75
        assert emulator.calls()[LIST] == 3
    finally:
        emulator.stop()


def test_a_rule_created_between_pages_is_listed_once() -> None:
    """Newest first, a create shifts every page by one: the next page repeats a rule."""
    emulator = emulator_with(6, max_page_size=2, newest_first=True)
    try:
        emulator.faults.add(
            status=None,
            method="GET",
            times=1,
            after=True,
            run=lambda: emulator.seed_instance(SHORTNAME, instance_body(path="/late/")),
        )
        listing = client_for(emulator).list_rules(SHORTNAME)
        assert len(listing) == len({r.id for r in listing}) == 7
        assert listing.complete  # the second walk saw a still collection
    finally:
        emulator.stop()


def test_a_collection_that_keeps_moving_is_listed_incomplete() -> None:
    emulator = emulator_with(6, max_page_size=3, newest_first=True)
    try:
        made = iter(range(1000))
        emulator.faults.add(
            status=None,
            method="GET",
            after=True,
            run=lambda: emulator.seed_instance(SHORTNAME, instance_body(path=f"/new{next(made)}/")),
        )
        listing = client_for(emulator).list_rules(SHORTNAME)
        assert listing.complete is False
        assert len(listing) == len({r.id for r in listing})
    finally:
        emulator.stop()


def test_a_rule_deleted_between_pages_is_noticed_when_a_total_is_given() -> None:
    emulator = emulator_with(6, max_page_size=2, list_total=True)
    try:
        first = emulator.instances()[0]["uuid"]
        emulator.faults.add(
            status=None,
            method="GET",
            times=1,
            after=True,
            run=lambda: emulator.remove_instance(first),
        )
        listing = client_for(emulator).list_rules(SHORTNAME)
        assert listing.complete and len(listing) == 5
        assert emulator.calls()[LIST] > 3
    finally:
        emulator.stop()


def test_a_rule_of_ours_the_listing_missed_is_found_by_its_409() -> None:
    """Without a total a delete between pages hides a rule; creating it again draws a
    409 whose holder carries our exact marker: that is the rule, nothing is duplicated."""
    with EdgioEmulator(shortnames=(SHORTNAME,)) as emulator:
        cdn = client_for(emulator)
        ours = cdn.create_rule(make_rule())
        again = cdn.create_rule(make_rule(source_port=31000))
        assert again.id == ours.id and again.source_port == 31000
        [stored] = emulator.instances()
        assert stored["body"]["protocolSets"][0]["sourcePort"] == 31000


def marked_set(protocol: str = "http") -> dict[str, Any]:
    marker = ownership.marker_option(OWNER)
    return {
        "publishedProtocol": protocol,
        "sourceProtocol": "http",
        "sourcePort": 30080,
        "options": [{"name": marker.name, "parameters": list(marker.parameters)}],
    }


def odd(**changes: Any) -> dict[str, Any]:
    body = instance_body(path="/odd/")
    protocol_set = dict(body["protocolSets"][0])
    for key, value in changes.items():
        if key == "protocolSets":
            body["protocolSets"] = value
        elif value is ...:
            protocol_set.pop(key, None)
        else:
            protocol_set[key] = value
    if "protocolSets" not in changes:
        body["protocolSets"] = [protocol_set]
    return body


@pytest.mark.parametrize(
    "body",
    [
        odd(protocolSets=...),
        odd(protocolSets=[]),
        odd(protocolSets=None),
        odd(sourcePort="8080"),
        odd(options=[None]),
        odd(options=[{"name": "genreply", "parameters": [None]}]),
        odd(options=[{"name": "refresh_absmin", "parameters": [1.5]}]),
        odd(publishedProtocol=None),
    ],
    ids=[
        "no-sets",
        "empty-sets",
        "null-sets",
        "port-string",
        "null-option",
        "null-parameter",
        "float-parameter",
        "null-protocol",
    ],
)
def test_an_odd_foreign_rule_is_skipped_and_reported(body: dict[str, Any]) -> None:
    if body.get("protocolSets") is ...:
        del body["protocolSets"]
    with EdgioEmulator(shortnames=(SHORTNAME,)) as emulator:
        cdn = client_for(emulator)
        odd_id = emulator.seed_instance(SHORTNAME, body, raw=True)
        ours = cdn.create_rule(make_rule())
        listing = cdn.list_rules(SHORTNAME)
        assert listing == [ours]  # the listing works, and holds what it can read
        [unreadable] = listing.unreadable
        assert unreadable.id == odd_id and "malformed" in unreadable.problem
        assert listing.complete


def test_an_integral_float_port_is_a_port() -> None:
    with EdgioEmulator(shortnames=(SHORTNAME,)) as emulator:
        emulator.seed_instance(SHORTNAME, odd(sourcePort=8080.0), raw=True)
        [rule] = client_for(emulator).list_rules(SHORTNAME)
        assert rule.source_port == 8080 and rule.owner is None


def test_a_null_parameter_is_never_read_as_the_string_none() -> None:
    with EdgioEmulator(shortnames=(SHORTNAME,)) as emulator:
        body = odd(options=[{"name": "genreply", "parameters": [None]}])
        emulator.seed_instance(SHORTNAME, body, raw=True)
        listing = client_for(emulator).list_rules(SHORTNAME)
        assert "None" not in repr(list(listing)) and len(listing.unreadable) == 1


@pytest.mark.parametrize("position", [0, 1])
def test_our_marker_is_found_in_either_protocol_set(position: int) -> None:
    """A portal edit adds a second set in front of ours (two are legal)."""
    with EdgioEmulator(shortnames=(SHORTNAME,)) as emulator:
        cdn = client_for(emulator)
        created = cdn.create_rule(make_rule(options=()))
        other = {"publishedProtocol": "https", "sourceProtocol": "https", "options": []}
        sets = [other, marked_set()] if position else [marked_set(), other]
        emulator.edit_instance(created.id or "", protocolSets=sets)
        [listed] = cdn.list_rules(SHORTNAME)
        assert listed.owner == OWNER
        assert (listed.published_protocol, listed.source_port) == ("http", 30080)


def test_deleting_a_rule_that_is_gone_is_done() -> None:
    with EdgioEmulator(shortnames=(SHORTNAME,)) as emulator:
        cdn = client_for(emulator)
        created = cdn.create_rule(make_rule())
        emulator.remove_instance(created.id or "")
        cdn.delete_rule(created)  # 404 while the account lists fine: gone
        emulator.faults.add(status=410, method="DELETE", times=1)
        cdn.delete_rule(created)


def test_a_404_from_a_wrong_base_url_is_an_error() -> None:
    with EdgioEmulator(shortnames=(SHORTNAME,)) as emulator:
        created = client_for(emulator).create_rule(make_rule())
        wrong = client_for(emulator, base_url=emulator.url + "/config-api/v2")
        with pytest.raises(NotFound):
            wrong.delete_rule(created)
        assert len(emulator.instances()) == 1


def test_a_404_in_an_account_we_cannot_reach_is_an_error() -> None:
    with EdgioEmulator(shortnames=(SHORTNAME,)) as emulator:
        cdn = client_for(emulator)
        created = cdn.create_rule(make_rule())
        emulator.remove_instance(created.id or "")
        with pytest.raises(AuthFailed):
            cdn.delete_rule(replace(created, shortname="nobody"))


def test_every_protocol_set_is_read_and_a_release_writes_them_back_as_they_are() -> None:
    """A portal edit to the https set alone is drift (the rule differs from the one we
    wrote); releasing the rule keeps that edit, and only our marker goes."""
    with EdgioEmulator(shortnames=(SHORTNAME,)) as emulator:
        cdn = client_for(emulator)
        created = cdn.create_rule(make_rule(published_protocols=("http", "https")))
        [listed] = cdn.list_rules(SHORTNAME)
        assert listed == created and listed.protocol_sets == ()
        https = {**marked_set("https"), "sourcePort": 8443}
        emulator.edit_instance(created.id or "", protocolSets=[marked_set("http"), https])
        [edited] = cdn.list_rules(SHORTNAME)
        assert edited.owner == OWNER and edited != created
        assert [(s.published_protocol, s.source_port) for s in edited.protocol_sets] == [
            ("http", 30080),
            ("https", 8443),
        ]
        cdn.update_rule(edited, replace(edited, owner=None))
        [released] = cdn.list_rules(SHORTNAME)
        assert released.owner is None and released.protocol_sets == edited.protocol_sets
