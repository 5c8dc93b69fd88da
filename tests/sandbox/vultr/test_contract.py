"""The emulator, proved with the unmodified official client (vultr-python-client 1.0.2).

If these pass, the emulator answers the way the client expects the real API to: exact
status codes, exact Content-Type, typed fields, cursor paging, error bodies.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import vultr_python_client
from vultr_python_client.apis.tags.dns_api import DnsApi

from edgio_sandbox.vultr import VultrEmulator
from tests.providers.vultr.conftest import ZONE, official_api

T = 5  # seconds; the official client has no timeout unless given one
ZONE_PATH = {"dns-domain": ZONE}


def rec_path(record_id: str) -> dict[str, str]:
    return {"dns-domain": ZONE, "record-id": record_id}


def error_of(raised: pytest.ExceptionInfo[vultr_python_client.ApiException]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(raised.value.body)
    return body


def create(api: DnsApi, **body: Any) -> dict[str, Any]:
    response = api.create_dns_domain_record(path_params=ZONE_PATH, body=body, timeout=T)
    assert response.response.status == 201
    record: dict[str, Any] = json.loads(response.response.data)["record"]
    return record


def test_record_life_cycle(official: DnsApi, emulator: VultrEmulator) -> None:
    ips = ["192.0.2.10", "192.0.2.11", "192.0.2.12"]
    created = [create(official, name="nodes", type="A", data=ip, ttl=120) for ip in ips]
    assert [r["priority"] for r in created] == [-1, -1, -1]
    assert len({r["id"] for r in created}) == 3

    listed = official.list_dns_domain_records(path_params=ZONE_PATH, query_params={}, timeout=T)
    assert sorted(str(r["data"]) for r in listed.body["records"]) == ips
    assert int(listed.body["meta"]["total"]) == 3

    first = created[0]["id"]
    patched = official.update_dns_domain_record(
        path_params=rec_path(first), body={"data": "192.0.2.99"}, timeout=T
    )
    assert patched.response.status == 204
    assert patched.response.data == b""
    got = official.get_dns_domain_record(path_params=rec_path(first), timeout=T)
    assert (got.body["record"]["data"], int(got.body["record"]["ttl"])) == ("192.0.2.99", 120)

    deleted = official.delete_dns_domain_record(path_params=rec_path(first), timeout=T)
    assert deleted.response.status == 204
    with pytest.raises(vultr_python_client.ApiException) as raised:
        official.get_dns_domain_record(path_params=rec_path(first), timeout=T)
    assert raised.value.status == 404
    assert error_of(raised)["status"] == 404
    assert first in error_of(raised)["error"]
    assert len(emulator.records(ZONE)) == 2


def test_domain_endpoints(official: DnsApi) -> None:
    made = official.create_dns_domain(body={"domain": "shop.test", "ip": "192.0.2.5"}, timeout=T)
    assert made.response.status == 200
    assert made.body["domain"]["domain"] == "shop.test"
    assert made.body["domain"]["dns_sec"] == "disabled"

    listed = official.list_dns_domains(query_params={}, timeout=T)
    assert [str(d["domain"]) for d in listed.body["domains"]] == [ZONE, "shop.test"]

    defaults = official.list_dns_domain_records(
        path_params={"dns-domain": "shop.test"}, query_params={}, timeout=T
    )
    by_type = {(str(r["type"]), str(r["name"])): r for r in defaults.body["records"]}
    assert by_type[("A", "")]["data"] == "192.0.2.5"
    assert int(by_type[("MX", "")]["priority"]) == 10
    assert ("CNAME", "*") in by_type

    with pytest.raises(vultr_python_client.ApiException) as raised:
        official.create_dns_domain(body={"domain": "shop.test"}, timeout=T)
    assert raised.value.status == 400

    path = {"dns-domain": "shop.test"}
    assert (
        official.update_dns_domain(
            path_params=path, body={"dns_sec": "enabled"}, timeout=T
        ).response.status
        == 204
    )
    assert official.get_dns_domain(path_params=path, timeout=T).body["domain"]["dns_sec"] == (
        "enabled"
    )
    assert official.delete_dns_domain(path_params=path, timeout=T).response.status == 204
    with pytest.raises(vultr_python_client.ApiException) as raised:
        official.get_dns_domain(path_params=path, timeout=T)
    assert raised.value.status == 404


def test_soa_and_dnssec(official: DnsApi) -> None:
    soa = official.get_dns_domain_soa(path_params=ZONE_PATH, timeout=T).body["dns_soa"]
    assert soa["nsprimary"] == "ns1.vultr.com"
    official.update_dns_domain_soa(
        path_params=ZONE_PATH, body={"email": "hostmaster@example.com"}, timeout=T
    )
    soa = official.get_dns_domain_soa(path_params=ZONE_PATH, timeout=T).body["dns_soa"]
    assert (soa["nsprimary"], soa["email"]) == ("ns1.vultr.com", "hostmaster@example.com")

    assert official.get_dns_domain_dnssec(path_params=ZONE_PATH, timeout=T).body["dns_sec"] == ()
    official.update_dns_domain(path_params=ZONE_PATH, body={"dns_sec": "enabled"}, timeout=T)
    lines = official.get_dns_domain_dnssec(path_params=ZONE_PATH, timeout=T).body["dns_sec"]
    assert [line.split()[2] for line in lines] == ["DNSKEY", "DS"]


def test_paging_follows_links_next_and_prev(official: DnsApi, emulator: VultrEmulator) -> None:
    ids = [emulator.seed_record(ZONE, f"n{i}", "A", f"192.0.2.{i}") for i in range(7)]
    pages: list[list[str]] = []
    query: dict[str, Any] = {"per_page": 3}
    cursors: list[str] = []
    while True:
        body = official.list_dns_domain_records(
            path_params=ZONE_PATH, query_params=query, timeout=T
        ).body
        assert int(body["meta"]["total"]) == 7
        pages.append([str(r["id"]) for r in body["records"]])
        cursors.append(str(body["meta"]["links"]["prev"]))
        if not body["meta"]["links"]["next"]:
            break
        query = {"per_page": 3, "cursor": str(body["meta"]["links"]["next"])}
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [i for page in pages for i in page] == ids
    assert cursors[0] == ""

    back = official.list_dns_domain_records(
        path_params=ZONE_PATH, query_params={"per_page": 3, "cursor": cursors[2]}, timeout=T
    ).body
    assert [str(r["id"]) for r in back["records"]] == pages[1]


def test_per_page_defaults_to_100_and_caps_at_500(
    official: DnsApi, emulator: VultrEmulator
) -> None:
    for i in range(600):
        emulator.seed_record(ZONE, f"h{i}", "A", "192.0.2.1")
    default = official.list_dns_domain_records(path_params=ZONE_PATH, query_params={}, timeout=T)
    assert len(default.body["records"]) == 100
    capped = official.list_dns_domain_records(
        path_params=ZONE_PATH, query_params={"per_page": 1000}, timeout=T
    )
    assert len(capped.body["records"]) == 500
    assert int(capped.body["meta"]["total"]) == 600


def test_cursor_does_not_skip_records_when_earlier_ones_go(
    official: DnsApi, emulator: VultrEmulator
) -> None:
    ids = [emulator.seed_record(ZONE, f"n{i}", "A", f"192.0.2.{i}") for i in range(6)]
    first = official.list_dns_domain_records(
        path_params=ZONE_PATH, query_params={"per_page": 3}, timeout=T
    ).body
    emulator.remove_record(ZONE, ids[0])
    rest = official.list_dns_domain_records(
        path_params=ZONE_PATH,
        query_params={"per_page": 3, "cursor": str(first["meta"]["links"]["next"])},
        timeout=T,
    ).body
    assert [str(r["id"]) for r in rest["records"]] == ids[3:]


def test_wrong_key_is_401(emulator: VultrEmulator) -> None:
    for api in official_api(emulator.api_url, "NOT-THE-KEY"):
        with pytest.raises(vultr_python_client.ApiException) as raised:
            api.list_dns_domains(query_params={}, timeout=T)
        assert raised.value.status == 401
        assert error_of(raised)["status"] == 401


def test_unknown_zone_is_404_with_error_body(official: DnsApi) -> None:
    with pytest.raises(vultr_python_client.ApiException) as raised:
        official.list_dns_domain_records(
            path_params={"dns-domain": "nowhere.test"}, query_params={}, timeout=T
        )
    assert raised.value.status == 404
    assert error_of(raised) == {"error": "Domain not found: nowhere.test", "status": 404}


def test_txt_round_trip_and_quoting_rules(official: DnsApi, emulator: VultrEmulator) -> None:
    value = "heritage=edgio-ingress,edgio-ingress/owner=c1"
    made = create(official, name="a-nodes", type="TXT", data=f'  "{value}" ', ttl=120)
    assert made["data"] == f'"{value}"'
    assert emulator.records(ZONE)[0]["data"] == f'"{value}"'

    cases = {
        value: "Record data must be enclosed in quotes",
        f'"{value}': "Record data must be enclosed in quotes",
        '"a"b"': "Quotes may only appear at the beginning and end of the data",
    }
    for data, message in cases.items():
        with pytest.raises(vultr_python_client.ApiException) as raised:
            create(official, name="x", type="TXT", data=data)
        assert raised.value.status == 400
        assert error_of(raised) == {"error": message, "status": 400}


def test_one_ttl_per_name_and_type(official: DnsApi) -> None:
    first = create(official, name="nodes", type="A", data="192.0.2.1", ttl=60)
    with pytest.raises(vultr_python_client.ApiException) as raised:
        create(official, name="nodes", type="A", data="192.0.2.2", ttl=120)
    assert raised.value.status == 400
    assert "TTL" in error_of(raised)["error"]

    create(official, name="nodes", type="A", data="192.0.2.2", ttl=60)
    create(official, name="nodes", type="TXT", data='"other type, other set"', ttl=120)
    with pytest.raises(vultr_python_client.ApiException) as raised:
        official.update_dns_domain_record(
            path_params=rec_path(first["id"]), body={"ttl": 120}, timeout=T
        )
    assert raised.value.status == 400


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "x", "type": "BOGUS", "data": "1"}, "Invalid record type"),
        ({"name": "www.example.com", "type": "A", "data": "192.0.2.1"}, "relative"),
        ({"name": "www.", "type": "A", "data": "192.0.2.1"}, "relative"),
        ({"name": "bad name", "type": "A", "data": "192.0.2.1"}, "Invalid record name"),
        ({"name": "x", "type": "A", "data": "2001:db8::1"}, "Invalid IP"),
        ({"name": "x", "type": "AAAA", "data": "192.0.2.1"}, "Invalid IP"),
        ({"name": "x", "type": "A", "data": "192.0.2.1", "ttl": 0}, "Invalid TTL"),
    ],
)
def test_record_validation(official: DnsApi, body: dict[str, Any], fragment: str) -> None:
    with pytest.raises(vultr_python_client.ApiException) as raised:
        create(official, **body)
    assert raised.value.status == 400
    assert fragment in error_of(raised)["error"]


def test_type_cannot_change(official: DnsApi) -> None:
    made = create(official, name="x", type="A", data="192.0.2.1")
    with pytest.raises(vultr_python_client.ApiException) as raised:
        official.update_dns_domain_record(
            path_params=rec_path(made["id"]), body={"type": "TXT", "data": '"x"'}, timeout=T
        )
    assert raised.value.status == 400


def test_429_past_the_per_ip_limit_without_retry_after() -> None:
    with VultrEmulator(rate_limit=3) as emulator:
        for api in official_api(emulator.api_url, emulator.api_key, retries=False):
            statuses = []
            for _ in range(50):
                try:
                    api.list_dns_domains(query_params={}, timeout=T)
                    statuses.append(200)
                except vultr_python_client.ApiException as error:
                    statuses.append(error.status)
                    assert "Retry-After" not in error.headers
                    assert json.loads(error.body)["status"] == 429
                    break
    assert statuses[:3] == [200, 200, 200]
    assert statuses[-1] == 429


def test_429_can_carry_retry_after_when_asked() -> None:
    with VultrEmulator(rate_limit=1, retry_after=2) as emulator:
        statuses = [raw(emulator, "GET", "/domains") for _ in range(2)]
    assert [r.status_code for r in statuses] == [200, 429]
    assert statuses[1].headers["Retry-After"] == "2"


def raw(emulator: VultrEmulator, method: str, path: str, body: Any = None) -> requests.Response:
    """What the official client will not send (or hides): checked over plain HTTP."""
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    data = None if body is None else json.dumps(body)
    return requests.request(
        method, f"{emulator.api_url}{path}", headers=headers, data=data, timeout=T
    )


def test_ttl_must_be_an_integer(emulator: VultrEmulator) -> None:
    for ttl in ("300", 300.0, 1.5, True, 0):
        body = {"name": "x", "type": "A", "data": "192.0.2.1", "ttl": ttl}
        response = raw(emulator, "POST", f"/domains/{ZONE}/records", body)
        assert response.status_code == 400, ttl
        assert "Invalid TTL" in response.json()["error"]


def test_content_type_is_exactly_json_and_204_has_no_body(emulator: VultrEmulator) -> None:
    body = {"name": "x", "type": "A", "data": "192.0.2.1"}
    made = raw(emulator, "POST", f"/domains/{ZONE}/records", body)
    assert (made.status_code, made.headers["Content-Type"]) == (201, "application/json")
    listed = raw(emulator, "GET", f"/domains/{ZONE}/records")
    assert listed.headers["Content-Type"] == "application/json"
    gone = raw(emulator, "DELETE", f"/domains/{ZONE}/records/{made.json()['record']['id']}")
    assert (gone.status_code, gone.content) == (204, b"")
    assert raw(emulator, "PUT", f"/domains/{ZONE}/records").status_code == 405
    assert raw(emulator, "GET", "/nothing").status_code == 404


def test_malformed_query_and_body_are_400(emulator: VultrEmulator) -> None:
    assert raw(emulator, "GET", f"/domains/{ZONE}/records?per_page=many").status_code == 400
    assert raw(emulator, "GET", f"/domains/{ZONE}/records?cursor=garbage!").status_code == 400
    response = raw(emulator, "POST", f"/domains/{ZONE}/records", ["not", "an", "object"])
    assert response.json() == {"error": "Request body must be a JSON object", "status": 400}


def test_calls_are_counted_by_route_with_placeholders(
    official: DnsApi, emulator: VultrEmulator
) -> None:
    made = create(official, name="x", type="A", data="192.0.2.1")
    official.get_dns_domain_record(path_params=rec_path(made["id"]), timeout=T)
    assert emulator.calls() == {
        ("POST", "/v2/domains/{domain}/records"): 1,
        ("GET", "/v2/domains/{domain}/records/{id}"): 1,
    }


def test_direct_helpers_for_tests_and_drift(emulator: VultrEmulator) -> None:
    record_id = emulator.seed_record(ZONE, "mail", "MX", "mx.example.net", priority=5)
    txt_id = emulator.seed_record(ZONE, "note", "TXT", "unquoted is fine here")
    emulator.edit_record(ZONE, txt_id, data="edited", ttl=60)
    assert emulator.records(ZONE) == [
        {
            "id": record_id,
            "type": "MX",
            "name": "mail",
            "data": "mx.example.net",
            "priority": 5,
            "ttl": 300,
        },
        {
            "id": txt_id,
            "type": "TXT",
            "name": "note",
            "data": '"edited"',
            "priority": -1,
            "ttl": 60,
        },
    ]
    with pytest.raises(ValueError, match="Invalid IP"):
        emulator.seed_record(ZONE, "x", "A", "not-an-ip")
    with pytest.raises(ValueError, match="unknown fields"):
        emulator.edit_record(ZONE, txt_id, colour="blue")
    emulator.remove_record(ZONE, record_id)
    with pytest.raises(KeyError):
        emulator.remove_record(ZONE, record_id)
    assert [r["id"] for r in emulator.records(ZONE)] == [txt_id]
    assert emulator.info() == {
        "vultr": emulator.api_url,
        "vultr_api_key": emulator.api_key,
        "zone": ZONE,
    }
    assert emulator.env()["VULTR_API_URL"] == emulator.api_url
    assert emulator.env()["EDGIO_INGRESS_DNS_ZONE"] == ZONE
