"""The Edgio emulator's paging switches and raw seeding, over plain signed HTTP."""

from __future__ import annotations

from typing import Any

import requests

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.llnw_signature import PRINCIPAL_HEADER
from reconciler.providers.signing import LlnwAuth
from tests.providers.edgio.conftest import SHORTNAME, instance_body


def listing(emulator: EdgioEmulator, **params: Any) -> dict[str, Any]:
    with requests.Session() as session:
        session.auth = LlnwAuth(emulator.principal, emulator.shared_key_hex)
        url = f"{emulator.api_url}/svcinst/delivery/shortname/{SHORTNAME}"
        answer = session.get(url, params=params, timeout=5)
        assert answer.status_code == 200, answer.text
        assert PRINCIPAL_HEADER in answer.request.headers
        result: dict[str, Any] = answer.json()
        return result


def paths(answer: dict[str, Any]) -> list[str]:
    return [instance["body"].get("publishedUrlPath") for instance in answer["results"]]


def test_page_cap_total_and_newest_first() -> None:
    with EdgioEmulator(
        shortnames=(SHORTNAME,), max_page_size=2, list_total=True, newest_first=True
    ) as emulator:
        for i in range(3):
            emulator.seed_instance(SHORTNAME, instance_body(path=f"/p{i}/"))
        first = listing(emulator, size=100, page=1)
        assert paths(first) == ["/p2/", "/p1/"]  # capped at 2, newest first
        assert first["total"] == 3
        assert paths(listing(emulator, size=100, page=2)) == ["/p0/"]


def test_the_defaults_give_what_was_asked_without_a_total() -> None:
    with EdgioEmulator(shortnames=(SHORTNAME,)) as emulator:
        for i in range(3):
            emulator.seed_instance(SHORTNAME, instance_body(path=f"/p{i}/"))
        answer = listing(emulator, size=2, page=1)
        assert paths(answer) == ["/p0/", "/p1/"] and "total" not in answer


def test_raw_seeding_stores_what_the_api_would_refuse() -> None:
    with EdgioEmulator(shortnames=(SHORTNAME,)) as emulator:
        body = instance_body(path="/odd/")
        body["protocolSets"] = [{"publishedProtocol": "http", "sourcePort": "8080"}]
        emulator.seed_instance(SHORTNAME, body, raw=True)
        emulator.seed_instance(SHORTNAME, {"publishedHostname": None}, raw=True)
        stored = listing(emulator)["results"]
        assert stored[0]["body"]["protocolSets"][0]["sourcePort"] == "8080"
        assert stored[1]["body"] == {"publishedHostname": None}
