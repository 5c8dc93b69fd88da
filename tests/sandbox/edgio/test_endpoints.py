"""Every emulated endpoint, including those our client does not wrap, through a plain
`requests` session signed with LlnwAuth (as the official SDKs would call them)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from edgio_sandbox.edgio import EdgioEmulator
from reconciler.providers.edgio import EdgioCdn
from tests.providers.edgio.conftest import SHORTNAME, instance_body, make_rule

Json = dict[str, Any]
DELIVERY = "/svcinst/delivery"


def api(emulator: EdgioEmulator, path: str) -> str:
    return emulator.api_url + path


def payload(host: str = "www.example.com", path: str = "/app/", **body: Any) -> Json:
    return {"accounts": [{"shortname": SHORTNAME}], "body": {**instance_body(host, path), **body}}


def create(session: requests.Session, emulator: EdgioEmulator, **body: Any) -> Json:
    response = session.post(api(emulator, DELIVERY), json=payload(**body))
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result


def error_of(response: requests.Response) -> Json:
    first: Json = response.json()["errors"][0]
    return first


def test_health_and_status(session: requests.Session, emulator: EdgioEmulator) -> None:
    assert session.get(api(emulator, "/health/check")).status_code == 200
    status = session.get(api(emulator, "/utils/status")).json()
    assert status["cfgMgmtConnection"] == {"available": "true"}
    assert isinstance(status["version"], str)


def test_create_answers_200_with_the_stored_instance(
    session: requests.Session, emulator: EdgioEmulator
) -> None:
    created = create(session, emulator)
    assert created["isLatest"] is True and created["isEnabled"] is True
    assert created["shortname"] == SHORTNAME
    assert created["status"] == {"state": "COMPLETED"}
    assert created["revision"]["versionNumber"] == 1
    assert isinstance(created["revision"]["createdDate"], int)
    assert created["meta"]["serviceKey"] == "delivery"
    got = session.get(api(emulator, f"{DELIVERY}/{created['uuid']}"))
    assert got.json() == created


def test_search_filters_on_body_fields_and_pages(
    session: requests.Session, emulator: EdgioEmulator
) -> None:
    for i in range(5):
        create(session, emulator, path=f"/p{i}/")
    create(session, emulator, host="other.example.com", path="/p0/")
    search = api(emulator, f"{DELIVERY}/shortname/{SHORTNAME}/searchAuto")
    by_host = session.get(search, params={"body.publishedHostname": "www.example.com"}).json()
    assert len(by_host["results"]) == 5
    both = {"body.publishedHostname": "other.example.com", "body.publishedUrlPath": "/p0/"}
    [found] = session.get(search, params=both).json()["results"]
    assert found["body"]["publishedHostname"] == "other.example.com"
    page = {"body.publishedHostname": "www.example.com", "size": 2, "page": 3}
    assert [
        r["body"]["publishedUrlPath"] for r in session.get(search, params=page).json()["results"]
    ] == ["/p4/"]
    bad = session.get(search, params={"publishedHostname": "x"})
    assert bad.status_code == 400 and "unknown search field" in error_of(bad)["description"]


@pytest.mark.parametrize("params", [{"size": "0"}, {"size": "x"}, {"page": "0"}, {"size": 5000}])
def test_bad_paging_is_400(
    session: requests.Session, emulator: EdgioEmulator, params: dict[str, str]
) -> None:
    response = session.get(api(emulator, f"{DELIVERY}/shortname/{SHORTNAME}"), params=params)
    assert response.status_code == 400


def test_versions_history_and_rollback(
    session: requests.Session, emulator: EdgioEmulator, cdn: EdgioCdn
) -> None:
    first = cdn.create_rule(make_rule(source_port=30001))
    cdn.update_rule(first, make_rule(source_port=30002))
    uuid = first.id
    versions = session.get(api(emulator, f"{DELIVERY}/{uuid}/versions")).json()["results"]
    assert [(v["revision"]["versionNumber"], v["isLatest"]) for v in versions] == [
        (1, False),
        (2, True),
    ]
    v1 = session.get(api(emulator, f"{DELIVERY}/{uuid}/versions/1")).json()
    assert v1["body"]["protocolSets"][0]["sourcePort"] == 30001
    assert session.get(api(emulator, f"{DELIVERY}/{uuid}/versions/9")).status_code == 404
    rolled = session.post(api(emulator, f"{DELIVERY}/{uuid}/rollbackTo/1"), data=b"null")
    assert rolled.status_code == 200
    assert rolled.json()["revision"]["versionNumber"] == 3
    assert cdn.get_rule(uuid or "").source_port == 30001
    again = session.post(api(emulator, f"{DELIVERY}/{uuid}/rollbackTo/2"))
    assert again.json()["revision"]["versionNumber"] == 4
    assert cdn.get_rule(uuid or "").source_port == 30002


def test_validate_is_a_dry_run(session: requests.Session, emulator: EdgioEmulator) -> None:
    validate = api(emulator, f"{DELIVERY}/validate")
    good = session.post(validate, json=payload())
    assert good.status_code == 200 and good.json()["Success"] is True
    bad = session.post(validate, json=payload(host="10.0.0.1"))
    assert bad.status_code == 200 and bad.json()["Success"] is False
    assert "not an IP address" in bad.json()["errors"][0]["description"]
    assert emulator.instances() == []
    create(session, emulator)
    duplicate = session.post(validate, json=payload())
    assert duplicate.json()["Success"] is False
    foreign = {**payload(), "accounts": [{"shortname": "nobody"}]}
    assert session.post(validate, json=foreign).status_code == 403


def test_inheritance_creates_from_a_parent(
    session: requests.Session, emulator: EdgioEmulator
) -> None:
    parent = create(session, emulator, publishedUrlPath="/parent/")
    inherit = api(emulator, f"{DELIVERY}/inheritance")
    child = session.post(
        inherit, params={"parentId": parent["uuid"]}, json={"body": {"publishedUrlPath": "/kid/"}}
    )
    assert child.status_code == 200, child.text
    assert child.json()["body"]["sourceHostname"] == parent["body"]["sourceHostname"]
    assert child.json()["body"]["publishedUrlPath"] == "/kid/"
    assert child.json()["uuid"] != parent["uuid"]
    assert session.post(inherit, json={"body": {}}).status_code == 400
    unknown = {"parentId": "3f2b6c1e-0000-4000-8000-000000000001"}
    assert session.post(inherit, params=unknown, json={"body": {}}).status_code == 404


@pytest.mark.parametrize("body", [b"", b"null"])
def test_delete_accepts_an_empty_or_null_body(
    session: requests.Session, emulator: EdgioEmulator, body: bytes
) -> None:
    uuid = create(session, emulator)["uuid"]
    assert session.delete(api(emulator, f"{DELIVERY}/{uuid}"), data=body).status_code == 200
    assert session.get(api(emulator, f"{DELIVERY}/{uuid}")).status_code == 404
    assert session.delete(api(emulator, f"{DELIVERY}/{uuid}"), data=body).status_code == 404


def test_delete_with_a_body_is_400(session: requests.Session, emulator: EdgioEmulator) -> None:
    uuid = create(session, emulator)["uuid"]
    assert session.delete(api(emulator, f"{DELIVERY}/{uuid}"), json={"x": 1}).status_code == 400


def test_put_accepts_what_get_returned_minus_read_only_parts(
    session: requests.Session, emulator: EdgioEmulator
) -> None:
    """The Limelight demo's update style: GET, drop revision/shortname/status, edit, PUT."""
    instance = create(session, emulator)
    for key in ("revision", "shortname", "status"):
        del instance[key]
    instance["body"]["sourceHostname"] = "new-origin.example.com"
    url = api(emulator, f"{DELIVERY}/{instance['uuid']}")
    updated = session.put(url, json=instance)
    assert updated.status_code == 200, updated.text
    assert updated.json()["body"]["sourceHostname"] == "new-origin.example.com"
    assert updated.json()["revision"]["versionNumber"] == 2
    instance["uuid"] = "3f2b6c1e-0000-4000-8000-000000000001"
    assert session.put(url, json=instance).status_code == 400


INVALID_BODIES = [
    ({"protocolSets": []}, "1 or 2 protocol sets"),
    ({"protocolSets": [{"publishedProtocol": "http", "sourceProtocol": "http"}] * 2}, "same"),
    (
        {
            "protocolSets": [
                {"publishedProtocol": p, "sourceProtocol": "http"}
                for p in ("http", "https", "http")
            ]
        },
        "1 or 2",
    ),
    (
        {"protocolSets": [{"publishedProtocol": "ftp", "sourceProtocol": "http"}]},
        "'http' or 'https'",
    ),
    (
        {
            "protocolSets": [
                {"publishedProtocol": "http", "sourceProtocol": "http", "sourcePort": "80"}
            ]
        },
        "integer port",
    ),
    (
        {
            "protocolSets": [
                {"publishedProtocol": "http", "sourceProtocol": "http", "sourcePort": True}
            ]
        },
        "integer port",
    ),
    ({"publishedHostname": "2001:db8::1"}, "not an IP address"),
    ({"publishedHostname": "bad host"}, "not a valid hostname"),
    ({"sourceHostname": ""}, "sourceHostname"),
    ({"serviceKey": {"name": "httpcs"}}, "serviceKey"),
    ({"publishedUrlPath": 7}, "publishedUrlPath must be a string"),
]


@pytest.mark.parametrize(("override", "message"), INVALID_BODIES)
def test_invalid_bodies_are_400_with_a_message(
    session: requests.Session, emulator: EdgioEmulator, override: Json, message: str
) -> None:
    response = session.post(api(emulator, DELIVERY), json=payload(**override))
    assert response.status_code == 400
    assert message in error_of(response)["description"]
    assert emulator.instances() == []


def test_not_json_and_no_accounts_are_400(
    session: requests.Session, emulator: EdgioEmulator
) -> None:
    assert session.post(api(emulator, DELIVERY), data=b"{not json").status_code == 400
    no_accounts = session.post(api(emulator, DELIVERY), json={"body": instance_body()})
    assert no_accounts.status_code == 400
    assert "accounts" in error_of(no_accounts)["description"]


def test_paths_are_normalised_and_null_port_accepted(
    session: requests.Session, emulator: EdgioEmulator
) -> None:
    sets = [{"publishedProtocol": "http", "sourceProtocol": "http", "sourcePort": None}]
    created = create(session, emulator, publishedUrlPath="", sourceUrlPath="src", protocolSets=sets)
    assert created["body"]["publishedUrlPath"] == "/"
    assert created["body"]["sourceUrlPath"] == "/src"
    duplicate = session.post(api(emulator, DELIVERY), json=payload(publishedUrlPath="/"))
    assert duplicate.status_code == 409
    assert error_of(duplicate)["message"] == "conflict"


def test_other_accounts_are_forbidden(session: requests.Session, emulator: EdgioEmulator) -> None:
    uuid = emulator.seed_instance("nobody", instance_body())
    assert session.get(api(emulator, f"{DELIVERY}/{uuid}")).status_code == 403
    assert session.get(api(emulator, f"{DELIVERY}/shortname/nobody")).status_code == 403
    foreign = {**payload(), "accounts": [{"shortname": "nobody"}]}
    forbidden = session.post(api(emulator, DELIVERY), json=foreign)
    assert forbidden.status_code == 403 and error_of(forbidden)["code"] == 1025


def test_unknown_endpoints_are_404(session: requests.Session, emulator: EdgioEmulator) -> None:
    assert session.get(api(emulator, "/svcinst/nothing/here")).status_code == 404
    assert session.get(emulator.url + "/other-api/v1/x").status_code == 404
    assert session.patch(api(emulator, f"{DELIVERY}/x")).status_code == 404


def test_route_labels_hide_uuids(session: requests.Session, emulator: EdgioEmulator) -> None:
    uuid = create(session, emulator)["uuid"]
    session.get(api(emulator, f"{DELIVERY}/{uuid}/versions/1"))
    calls = emulator.calls()
    assert calls[("GET", "/config-api/v1/svcinst/delivery/{uuid}/versions/1")] == 1
    assert not any(uuid in label for _, label in calls)


def test_out_of_band_edits_are_visible_to_the_client(
    emulator: EdgioEmulator, cdn: EdgioCdn
) -> None:
    created = cdn.create_rule(make_rule())
    emulator.edit_instance(created.id or "", sourceHostname="hijacked.example.com")
    drifted = cdn.get_rule(created.id or "")
    assert drifted.source_host == "hijacked.example.com" and drifted.version == 2
    assert drifted.owner == created.owner
    emulator.remove_instance(created.id or "")
    assert cdn.list_rules(SHORTNAME) == []
    with pytest.raises(ValueError, match="not an IP address"):
        emulator.seed_instance(SHORTNAME, instance_body(host="192.0.2.1"))


def test_info_and_env_point_at_the_emulator(emulator: EdgioEmulator) -> None:
    info = emulator.info()
    assert info["edgio"] == emulator.api_url and info["shortname"] == SHORTNAME
    env = emulator.env()
    assert env["EDGIO_API_URL"] == emulator.api_url
    assert env["EDGIO_API_USER"] == emulator.principal
    assert env["EDGIO_API_SHARED_KEY"] == emulator.shared_key_hex
    assert env["EDGIO_INGRESS_SHORTNAME"] == SHORTNAME
    assert len(bytes.fromhex(emulator.shared_key_hex)) == 32
    assert emulator.shared_key_hex not in repr(emulator)
