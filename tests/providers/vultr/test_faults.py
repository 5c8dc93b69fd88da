"""How `VultrDns` behaves when Vultr misbehaves: typed errors, retries that never
duplicate a record, pacing under the rate limit, and an API key that never leaks."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from edgio_sandbox.vultr import VultrEmulator
from reconciler.model import DnsRecord
from reconciler.providers.base import (
    AuthFailed,
    NotFound,
    OutcomeUnknown,
    ProviderError,
    ServerError,
    Throttled,
    Unavailable,
    ValidationFailed,
)
from reconciler.providers.transport import RetryPolicy
from reconciler.providers.vultr import VultrDns
from tests.providers.vultr.conftest import ZONE
from tests.support import FAST, eventually

ONE_SHOT = RetryPolicy(attempts=1)
FEW = RetryPolicy(attempts=3, initial_wait=0.001, max_wait=0.01)


def a_record(ip: str, name: str = "origin") -> DnsRecord:
    return DnsRecord(zone=ZONE, name=name, type="A", data=ip, ttl=120)


@pytest.fixture
def unlimited() -> Iterator[VultrEmulator]:
    """Without the per-IP limit, so fault storms run at full speed."""
    with VultrEmulator(zones=(ZONE,), rate_limit=None, seed=3) as server:
        yield server


def fast_client(emulator: VultrEmulator, policy: RetryPolicy = FAST, **kw: float) -> VultrDns:
    return VultrDns(
        emulator.api_key, base_url=emulator.api_url, policy=policy, rate=1000, burst=50, **kw
    )


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthFailed),
        (403, AuthFailed),
        (404, NotFound),
        (400, ValidationFailed),
        (429, Throttled),
        (500, ServerError),
        (503, ServerError),
    ],
)
def test_each_status_is_a_typed_error(
    unlimited: VultrEmulator, status: int, error: type[ProviderError]
) -> None:
    unlimited.faults.add(status=status, method="GET")
    with pytest.raises(error) as raised:
        fast_client(unlimited, FEW).list_records(ZONE)
    assert type(raised.value) is error
    assert (raised.value.provider, raised.value.operation) == ("vultr", "list_records")
    assert raised.value.status == status
    expected_calls = 3 if error.retryable else 1
    assert unlimited.calls() == {("GET", "/v2/domains/{domain}/records"): expected_calls}


def test_a_reset_connection_is_unavailable(unlimited: VultrEmulator) -> None:
    unlimited.faults.add(status=None, reset=True)
    with pytest.raises(Unavailable):
        fast_client(unlimited, FEW).list_records(ZONE)
    assert unlimited.calls() == {("GET", "/v2/domains/{domain}/records"): 3}


def test_a_timeout_is_unavailable(unlimited: VultrEmulator) -> None:
    unlimited.faults.add(status=None, delay=1.0, times=1)
    with pytest.raises(Unavailable, match="Timeout"):
        fast_client(unlimited, ONE_SHOT, timeout=0.2).list_records(ZONE)


def test_unknown_zone_is_not_found(unlimited: VultrEmulator) -> None:
    with pytest.raises(NotFound, match=r"Domain not found: nowhere\.test"):
        fast_client(unlimited).list_records("nowhere.test")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "answer is not JSON"),
        (b"<html>maintenance</html>", "answer is not JSON"),
        (b'{"records": {}}', "unexpected response"),
        (b"[]", "unexpected response"),
    ],
)
def test_a_malformed_answer_is_a_retried_server_error(
    unlimited: VultrEmulator, body: bytes, message: str
) -> None:
    unlimited.faults.add(status=200, body=body, content_type="text/html")
    with pytest.raises(ServerError, match=message):
        fast_client(unlimited, FEW).list_records(ZONE)
    assert unlimited.calls() == {("GET", "/v2/domains/{domain}/records"): 3}


def test_validation_failed_carries_the_servers_message(unlimited: VultrEmulator) -> None:
    client = fast_client(unlimited)
    client.create_record(a_record("192.0.2.1"))
    clash = DnsRecord(zone=ZONE, name="origin", type="A", data="192.0.2.2", ttl=300)
    with pytest.raises(ValidationFailed) as raised:
        client.create_record(clash)
    assert raised.value.status == 400
    assert "TTL 300 differs from the TTL 120" in raised.value.message
    assert "TTL 300 differs from the TTL 120" in str(raised.value)
    assert len(unlimited.records(ZONE)) == 1


def test_transient_failures_are_retried_to_success(unlimited: VultrEmulator) -> None:
    unlimited.faults.add(status=503, times=2, method="GET")
    unlimited.faults.add(status=None, reset=True, times=1, method="GET")
    assert fast_client(unlimited).list_records(ZONE) == []
    unlimited.faults.add(status=429, times=2, method="POST")
    unlimited.faults.add(status=408, times=1, method="POST")
    made = fast_client(unlimited).create_record(a_record("192.0.2.1"))
    assert [r["id"] for r in unlimited.records(ZONE)] == [made.id]


POSTS = ("POST", "/v2/domains/{domain}/records")


@pytest.mark.parametrize(
    "fault",
    [{"status": 500}, {"status": 503}, {"status": None, "reset": True}],
    ids=["500", "503", "reset"],
)
def test_a_post_whose_answer_was_lost_is_not_repeated(
    unlimited: VultrEmulator, fault: dict[str, object]
) -> None:
    unlimited.faults.add(method="POST", times=1, after=True, **fault)  # type: ignore[arg-type]
    with pytest.raises(OutcomeUnknown) as raised:
        fast_client(unlimited).create_record(a_record("192.0.2.1"))
    assert raised.value.maybe_applied and not raised.value.retryable
    assert [r["data"] for r in unlimited.records(ZONE)] == ["192.0.2.1"]
    assert unlimited.calls() == {POSTS: 1}  # no second POST, and no listing either


def test_a_slow_post_that_lands_after_the_timeout_is_not_posted_again(
    unlimited: VultrEmulator,
) -> None:
    """The write is held past the client's timeout and applied afterwards: a lookup
    would find nothing yet, so anything but "don't post again" makes two records."""
    unlimited.faults.add(status=None, method="POST", times=1, delay=0.6)
    client = fast_client(unlimited, timeout=0.2)
    with pytest.raises(OutcomeUnknown, match="Timeout"):
        client.create_record(a_record("192.0.2.1"))
    eventually(lambda: unlimited.records(ZONE))
    assert [r.data for r in client.list_records(ZONE)] == ["192.0.2.1"]
    assert unlimited.calls()[POSTS] == 1


def test_a_429_on_a_post_is_retried_without_a_lookup(unlimited: VultrEmulator) -> None:
    unlimited.faults.add(status=429, method="POST", times=3)
    fast_client(unlimited).create_record(a_record("192.0.2.1"))
    assert unlimited.calls() == {POSTS: 4}


def test_a_create_against_a_closed_port_is_retried_and_unavailable() -> None:
    """No connection was ever made, so nothing can have been written: retrying is safe."""
    with VultrEmulator(zones=(ZONE,)) as gone:
        url, key = gone.api_url, gone.api_key
    client = VultrDns(key, base_url=url, policy=FEW, rate=1000, burst=50)
    with pytest.raises(Unavailable, match="not connected") as raised:
        client.create_record(a_record("192.0.2.1"))
    assert not raised.value.maybe_applied


def test_a_delete_whose_answer_was_lost_still_succeeds(unlimited: VultrEmulator) -> None:
    client = fast_client(unlimited)
    made = client.create_record(a_record("192.0.2.1"))
    unlimited.faults.add(status=502, method="DELETE", times=1, after=True)
    client.delete_record(made)
    assert unlimited.records(ZONE) == []


def run_workload(client: VultrDns) -> None:
    """Twenty A records and five TXT markers made, then half moved and a quarter deleted."""
    made = [client.create_record(a_record(f"192.0.2.{i}")) for i in range(20)]
    made += [
        client.create_record(DnsRecord(ZONE, f"a-r{i}", "TXT", f"heritage=x,n={i}", 300))
        for i in range(5)
    ]
    for record in made[:10]:
        client.update_record(record, a_record(f"198.51.100.{record.data.split('.')[-1]}"))
    for record in made[10:15]:
        client.delete_record(record)


def expected_after_workload() -> Counter[tuple[str, str]]:
    moved = [("origin", f"198.51.100.{i}") for i in range(10)]
    kept = [("origin", f"192.0.2.{i}") for i in range(15, 20)]
    markers = [(f"a-r{i}", f'"heritage=x,n={i}"') for i in range(5)]
    return Counter(moved + kept + markers)


def assert_exactly_once(emulator: VultrEmulator) -> None:
    assert Counter((r["name"], r["data"]) for r in emulator.records(ZONE)) == (
        expected_after_workload()
    )


@pytest.mark.parametrize("retry_after", [None, "0"])
def test_a_429_storm_completes_every_operation_exactly_once(
    unlimited: VultrEmulator, retry_after: str | None
) -> None:
    unlimited.faults.add(status=429, rate=0.5, retry_after=retry_after)
    run_workload(fast_client(unlimited, RetryPolicy(20, 0.001, 0.005, 0.01)))
    assert_exactly_once(unlimited)


def test_thirty_percent_server_errors_converge_pass_by_pass_without_a_duplicate(
    unlimited: VultrEmulator,
) -> None:
    """Creates whose outcome is unknown are left to the next pass's listing, as the
    controller does: the zone converges, and no record is ever made twice."""
    lost = unlimited.faults.add(status=500, method="POST", rate=0.3, after=True)
    unlimited.faults.add(status=503, rate=0.3)
    client = fast_client(unlimited, RetryPolicy(20, 0.001, 0.005))
    wanted = {f"192.0.2.{i}" for i in range(20)}
    for _ in range(30):
        listed = {record.data for record in client.list_records(ZONE)}
        if listed == wanted:
            break
        for address in sorted(wanted - listed):
            with contextlib.suppress(OutcomeUnknown):
                client.create_record(a_record(address))
        stored = [r["data"] for r in unlimited.records(ZONE)]
        assert len(stored) == len(set(stored))
    assert sorted(r["data"] for r in unlimited.records(ZONE)) == sorted(wanted)
    assert lost.times is None  # the fault stayed installed throughout
    assert unlimited.calls()[POSTS] > 20  # some answers were lost, yet nothing doubled


def test_a_burst_of_200_calls_stays_under_the_servers_limit() -> None:
    """Default pacing (20/s, burst 5) against Vultr's 30/s: not a single 429."""
    with VultrEmulator(zones=(ZONE,), rate_limit=30) as emulator:
        client = VultrDns(emulator.api_key, base_url=emulator.api_url, policy=ONE_SHOT)
        failures: list[BaseException] = []

        def worker(index: int) -> None:
            try:
                for n in range(50):
                    if n % 5 == 0:
                        client.create_record(a_record(f"10.0.{index}.{n}", name=f"w{index}"))
                    else:
                        client.list_records(ZONE)
            except ProviderError as error:
                failures.append(error)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert sum(emulator.calls().values()) == 200


SECRET = "SECRET-KEY-0123456789ABCDEF"


def test_the_api_key_never_appears_in_errors_or_reprs(
    unlimited: VultrEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = VultrDns(SECRET, base_url=unlimited.api_url, policy=ONE_SHOT)
    errors: list[BaseException] = []
    with pytest.raises(AuthFailed) as raised:
        wrong.list_records(ZONE)
    errors.append(raised.value)

    right = fast_client(unlimited, ONE_SHOT)
    echo = f'{{"error": "bad key {unlimited.api_key}", "status": 400}}'.encode()
    unlimited.faults.add(status=400, times=1, body=echo)
    with pytest.raises(ValidationFailed) as echoed:
        right.list_records(ZONE)
    errors.append(echoed.value)
    assert "<redacted>" in str(echoed.value)

    unlimited.faults.add(status=None, reset=True, times=1)
    with pytest.raises(Unavailable) as cut:
        right.list_records(ZONE)
    errors.append(cut.value)

    for error in errors:
        for text in (str(error), repr(error), error.args and str(error.args)):
            assert SECRET not in str(text)
            assert unlimited.api_key not in str(text)
    for client in (wrong, right):
        assert SECRET not in repr(client) and unlimited.api_key not in repr(client)
    assert SECRET not in caplog.text and unlimited.api_key not in caplog.text


def test_a_bad_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError) as raised:
        VultrDns("SECRET\nINJECTED")
    assert "SECRET" not in str(raised.value)
    with pytest.raises(ValueError):
        VultrDns("   ")
    client = VultrDns(f"{SECRET}\n")  # a Secret file's trailing newline is fine
    assert SECRET not in repr(client)
