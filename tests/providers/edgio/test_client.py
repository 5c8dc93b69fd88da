"""EdgioCdn against the emulator over real HTTP: every call, and the CdnRule mapping."""

from __future__ import annotations

import time

import pytest

from edgio_sandbox.edgio import EdgioEmulator
from reconciler.model import CdnOption, OwnerMarker
from reconciler.providers.base import AuthFailed, Conflict, NotFound, ValidationFailed
from reconciler.providers.edgio import EdgioCdn
from tests.providers.edgio.conftest import OWNER, SHORTNAME, client_for, instance_body, make_rule


def test_create_returns_the_stored_rule_with_id_state_and_version(
    cdn: EdgioCdn, emulator: EdgioEmulator
) -> None:
    desired = make_rule()
    created = cdn.create_rule(desired)
    assert created == desired
    assert created.id and created.state == "COMPLETED" and created.version == 1
    [stored] = emulator.instances(SHORTNAME)
    assert stored["uuid"] == created.id
    assert stored["revision"]["createdBy"] == emulator.principal


def test_wire_shape_of_a_created_instance(cdn: EdgioCdn, emulator: EdgioEmulator) -> None:
    cdn.create_rule(make_rule(source_port=None, published_protocols=("https",)))
    [stored] = emulator.instances()
    assert stored["accounts"] == [{"shortname": SHORTNAME}]
    body = stored["body"]
    assert body["serviceKey"] == {"name": "delivery"}
    assert body["serviceProfileName"] == "LLNW-Generic"
    assert (body["publishedHostname"], body["publishedUrlPath"]) == ("www.example.com", "/app/")
    assert (body["sourceHostname"], body["sourceUrlPath"]) == ("k8s-origin.example.com", "/")
    [protocol_set] = body["protocolSets"]
    assert protocol_set["publishedProtocol"] == "https"
    assert protocol_set["sourceProtocol"] == "http"
    assert protocol_set["sourcePort"] is None
    assert protocol_set["options"][0] == {"name": "refresh_absmin", "parameters": [3600]}
    marker = protocol_set["options"][1]
    assert marker["name"] == "req_send_header"
    assert marker["parameters"][0] == "X-Edgio-Ingress-Owner"
    assert "edgio-ingress/owner=cluster-a" in marker["parameters"][1]


def test_service_profile_is_configurable(emulator: EdgioEmulator) -> None:
    client_for(emulator, service_profile="exampleco-EdgeFunctions").create_rule(make_rule())
    assert emulator.instances()[0]["body"]["serviceProfileName"] == "exampleco-EdgeFunctions"


def test_option_parameters_keep_their_json_types(cdn: EdgioCdn) -> None:
    options = (
        CdnOption("refresh_absmin", (3600,)),
        CdnOption("refresh_absmax", ("7200",)),
        CdnOption("reply_send_header", ("X-Delivered-By", "edge")),
        CdnOption("genreply"),
    )
    created = cdn.create_rule(make_rule(options=options))
    [listed] = cdn.list_rules(SHORTNAME)
    assert created.options == listed.options == options
    assert listed.owner == OWNER


def test_get_rule(cdn: EdgioCdn) -> None:
    created = cdn.create_rule(make_rule())
    fetched = cdn.get_rule(created.id or "")
    assert fetched == created and fetched.id == created.id


def test_get_unknown_rule_is_not_found(cdn: EdgioCdn) -> None:
    with pytest.raises(NotFound, match="no delivery instance"):
        cdn.get_rule("3f2b6c1e-0000-4000-8000-000000000001")


def test_update_is_a_full_replace_that_bumps_the_version(
    cdn: EdgioCdn, emulator: EdgioEmulator
) -> None:
    current = cdn.create_rule(make_rule())
    desired = make_rule(source_port=31999, options=())
    updated = cdn.update_rule(current, desired)
    assert updated == desired
    assert (updated.id, updated.version) == (current.id, 2)
    [stored] = emulator.instances()
    assert stored["body"]["protocolSets"][0]["sourcePort"] == 31999
    assert [o["name"] for o in stored["body"]["protocolSets"][0]["options"]] == ["req_send_header"]


def test_update_of_a_deleted_rule_is_not_found(cdn: EdgioCdn) -> None:
    current = cdn.create_rule(make_rule())
    cdn.delete_rule(current)
    with pytest.raises(NotFound):
        cdn.update_rule(current, make_rule(source_port=1))


def test_delete_removes_and_a_second_delete_is_fine(cdn: EdgioCdn, emulator: EdgioEmulator) -> None:
    created = cdn.create_rule(make_rule())
    cdn.delete_rule(created)
    assert emulator.instances() == []
    cdn.delete_rule(created)
    with pytest.raises(NotFound):
        cdn.get_rule(created.id or "")


def test_update_and_delete_need_a_uuid(cdn: EdgioCdn) -> None:
    with pytest.raises(ValueError, match=r"www.example.com/app/.*no uuid"):
        cdn.delete_rule(make_rule())
    with pytest.raises(ValueError, match="no uuid"):
        cdn.update_rule(make_rule(), make_rule())


def test_list_pages_until_an_empty_page(cdn: EdgioCdn, emulator: EdgioEmulator) -> None:
    for i in range(205):
        emulator.seed_instance(SHORTNAME, instance_body(path=f"/p{i}/"))
    emulator.seed_instance("otherco", instance_body(path="/elsewhere/"))
    emulator.reset_calls()
    rules = cdn.list_rules(SHORTNAME)
    assert sorted(r.published_path for r in rules) == sorted(f"/p{i}/" for i in range(205))
    assert len({r.id for r in rules}) == 205
    pattern = "/config-api/v1/svcinst/delivery/shortname/exampleco"
    assert emulator.calls() == {("GET", pattern): 4}  # 100, 100, 5, then an empty page


def test_list_of_an_exact_multiple_of_the_page_size(cdn: EdgioCdn, emulator: EdgioEmulator) -> None:
    for i in range(100):
        emulator.seed_instance(SHORTNAME, instance_body(path=f"/p{i}/"))
    assert len(cdn.list_rules(SHORTNAME)) == 100
    assert cdn.list_rules("otherco") == []


def test_foreign_rules_are_listed_without_owner(cdn: EdgioCdn, emulator: EdgioEmulator) -> None:
    emulator.seed_instance(SHORTNAME, instance_body(path=""))
    [foreign] = cdn.list_rules(SHORTNAME)
    assert foreign.owner is None
    assert foreign.published_path == "/"
    assert (foreign.published_protocol, foreign.source_protocol) == ("https", "https")
    assert foreign.source_port is None


def test_find_rule_by_host_and_path(cdn: EdgioCdn, emulator: EdgioEmulator) -> None:
    emulator.seed_instance(SHORTNAME, instance_body(path="/app"))
    created = cdn.create_rule(make_rule(path="/app/"))
    assert cdn.find_rule(SHORTNAME, "www.example.com", "/app/") == created
    assert cdn.find_rule(SHORTNAME, "www.example.com", "/other/") is None
    assert cdn.find_rule(SHORTNAME, "other.example.com", "/app/") is None
    found = cdn.find_rule(SHORTNAME, "www.example.com", "app")
    assert found is not None and found.owner is None


def test_duplicate_host_and_path_is_a_conflict(cdn: EdgioCdn) -> None:
    cdn.create_rule(make_rule())
    other_route = OwnerMarker(OWNER.owner, "edgioroute/default/other")
    with pytest.raises(Conflict, match=r"already publishes www\.example\.com/app/"):
        cdn.create_rule(make_rule(source_port=1234, owner=other_route))


def test_invalid_rule_is_rejected_with_the_servers_message(cdn: EdgioCdn) -> None:
    with pytest.raises(ValidationFailed, match="not an IP address") as caught:
        cdn.create_rule(make_rule(host="192.0.2.10"))
    assert caught.value.status == 400
    with pytest.raises(ValidationFailed, match="sourcePort must be an integer"):
        cdn.create_rule(make_rule(source_port=0))


def test_unknown_account_is_refused(cdn: EdgioCdn) -> None:
    with pytest.raises(AuthFailed, match="no access to shortname 'nobody'") as caught:
        cdn.list_rules("nobody")
    assert caught.value.status == 403


def test_pending_flips_to_completed_after_the_publish_delay() -> None:
    with EdgioEmulator(publish_delay=0.3) as emulator:
        cdn = client_for(emulator)
        created = cdn.create_rule(make_rule())
        assert created.state == "PENDING"
        deadline = time.monotonic() + 10
        state = created.state
        while state != "COMPLETED" and time.monotonic() < deadline:
            state = cdn.get_rule(created.id or "").state
            time.sleep(0.05)
        assert state == "COMPLETED"
        updated = cdn.update_rule(created, make_rule(source_port=1))
        assert updated.state == "PENDING"
