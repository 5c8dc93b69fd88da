"""The Vultr emulator's limits and the odd answers it can be asked for, over plain HTTP:
the 30 requests/s per client address, overlapping, capped and endless pages, and the
fault modes of the shared server base (redirects, non-JSON bodies, side effects)."""

from __future__ import annotations

import contextlib
import http.client
import json
from typing import Any

import requests

from edgio_sandbox.vultr import Paging, VultrEmulator
from tests.support import eventually

ZONE = "example.com"
T = 5


class FrozenClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def get_from(emulator: VultrEmulator, source: str, path: str = "/v2/domains") -> int:
    """One GET sent from the local address `source` (all of 127/8 is loopback)."""
    connection = http.client.HTTPConnection(
        emulator.host, emulator.port, timeout=T, source_address=(source, 0)
    )
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {emulator.api_key}"})
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_default_limit_is_30_requests_a_second_per_client_address() -> None:
    clock = FrozenClock()
    with VultrEmulator(zones=(ZONE,), clock=clock) as emulator:
        statuses = [get_from(emulator, "127.0.0.1") for _ in range(31)]
        assert statuses == [200] * 30 + [429]
        assert get_from(emulator, "127.0.0.2") == 200  # another address has its own budget
        clock.now += 1.0
        assert get_from(emulator, "127.0.0.1") == 200  # the window has moved on


def pages(emulator: VultrEmulator, per_page: int = 500, limit: int = 20) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    url = f"{emulator.api_url}/domains/{ZONE}/records"
    params: dict[str, Any] = {"per_page": per_page}
    found = []
    for _ in range(limit):
        body = requests.get(url, headers=headers, params=params, timeout=T).json()
        found.append(body)
        cursor = body["meta"]["links"]["next"]
        if not cursor:
            break
        params = {"per_page": per_page, "cursor": cursor}
    return found


def seeded(paging: Paging) -> VultrEmulator:
    emulator = VultrEmulator(zones=(ZONE,), rate_limit=None, paging=paging).start()
    for i in range(5):
        emulator.seed_record(ZONE, f"n{i}", "A", f"192.0.2.{i}")
    return emulator


def names(page: dict[str, Any]) -> list[str]:
    return [record["name"] for record in page["records"]]


def test_paging_modes() -> None:
    capped = seeded(Paging(cap=2))
    overlapping = seeded(Paging(cap=2, overlap=1))
    endless = seeded(Paging(cap=2, endless=True))
    try:
        assert [names(p) for p in pages(capped)] == [["n0", "n1"], ["n2", "n3"], ["n4"]]
        assert [names(p) for p in pages(overlapping)] == [
            ["n0", "n1"],
            ["n1", "n2"],
            ["n2", "n3"],
            ["n3", "n4"],
        ]
        run = pages(endless, limit=6)
        assert [names(p) for p in run] == [["n0", "n1"], ["n2", "n3"], ["n4"], [], [], []]
        cursors = [p["meta"]["links"]["next"] for p in run]
        assert len(set(cursors)) == 6 and all(cursors)  # a fresh cursor every time
        assert {p["meta"]["total"] for p in run} == {5}
    finally:
        for emulator in (capped, overlapping, endless):
            emulator.stop()


def test_a_redirect_fault_points_at_another_base_with_the_same_target() -> None:
    with VultrEmulator(zones=(ZONE,), rate_limit=None) as emulator:
        emulator.faults.add(status=307, location="http://localhost:9", times=1)
        answer = requests.get(f"{emulator.api_url}/domains?x=1", allow_redirects=False, timeout=T)
        assert answer.status_code == 307
        assert answer.headers["Location"] == "http://localhost:9/v2/domains?x=1"


def test_a_fault_can_answer_with_a_body_that_is_not_json() -> None:
    with VultrEmulator(zones=(ZONE,), rate_limit=None) as emulator:
        emulator.faults.add(status=200, body=b"<html>hi</html>", content_type="text/html")
        answer = requests.get(f"{emulator.api_url}/domains", timeout=T)
        assert answer.headers["Content-Type"] == "text/html"
        assert answer.text == "<html>hi</html>"


def test_a_fault_can_run_a_side_effect_between_two_requests() -> None:
    with VultrEmulator(zones=(ZONE,), rate_limit=None) as emulator:
        emulator.faults.add(
            status=None,
            times=1,
            after=True,
            run=lambda: emulator.seed_record(ZONE, "late", "A", "192.0.2.9"),
        )
        first, second = pages(emulator), pages(emulator)
        assert names(first[0]) == [] and names(second[0]) == ["late"]
        assert len(emulator.arrivals("GET")) == 2


def test_a_slow_write_lands_after_the_client_gave_up() -> None:
    with VultrEmulator(zones=(ZONE,), rate_limit=None) as emulator:
        emulator.faults.add(status=None, method="POST", delay=0.5, times=1)
        body = json.dumps({"name": "www", "type": "A", "data": "192.0.2.1"})
        headers = {"Authorization": f"Bearer {emulator.api_key}"}
        with contextlib.suppress(requests.Timeout):
            requests.post(
                f"{emulator.api_url}/domains/{ZONE}/records",
                data=body,
                headers=headers,
                timeout=0.1,
            )
        assert emulator.records(ZONE) == []  # not yet
        eventually(lambda: emulator.records(ZONE))
