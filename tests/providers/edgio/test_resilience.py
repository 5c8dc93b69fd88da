"""Injected faults: each surfaces as the right typed error or is retried to success, and
no retried write is ever applied twice."""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from edgio_sandbox.edgio import EdgioEmulator
from reconciler.providers.base import (
    AuthFailed,
    Conflict,
    NotFound,
    OutcomeUnknown,
    ProviderError,
    ServerError,
    Throttled,
    Unavailable,
    ValidationFailed,
)
from reconciler.providers.edgio import EdgioCdn
from reconciler.providers.transport import RetryPolicy
from tests.providers.edgio.conftest import SHORTNAME, client_for, make_rule
from tests.support import eventually

DELIVERY = "/config-api/v1/svcinst/delivery"
SEARCH = f"{DELIVERY}/shortname/{SHORTNAME}/searchAuto"


def post_count(emulator: EdgioEmulator) -> int:
    return emulator.calls().get(("POST", DELIVERY), 0)


def assert_one_instance_per_key(emulator: EdgioEmulator, expected: int) -> None:
    keys = [
        (i["body"]["publishedHostname"], i["body"]["publishedUrlPath"])
        for i in emulator.instances()
    ]
    assert len(keys) == len(set(keys)) == expected


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500},
        {"status": 502},
        {"status": 503},
        {"status": 408},
        {"status": 429},
        {"status": 429, "retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"},
        {"status": None, "reset": True},
    ],
    ids=["500", "502", "503", "408", "429", "429-http-date-past", "reset"],
)
def test_transient_faults_are_retried_to_success(
    emulator: EdgioEmulator, cdn: EdgioCdn, fault: dict[str, Any]
) -> None:
    """Idempotent calls are retried through all of these; a create only through those
    that prove nothing was written (see the lost-answer tests)."""
    for method in ("GET", "PUT", "DELETE"):
        emulator.faults.add(times=3, method=method, **fault)
    if fault["status"] in (408, 429):
        emulator.faults.add(times=3, method="POST", **fault)
    created = cdn.create_rule(make_rule())
    assert cdn.list_rules(SHORTNAME) == [created]
    assert cdn.update_rule(created, make_rule(source_port=1)).version == 2
    cdn.delete_rule(created)
    assert emulator.instances() == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"status": 500}, ServerError),
        ({"status": 503}, ServerError),
        ({"status": 429}, Throttled),
        ({"status": None, "reset": True}, Unavailable),
    ],
)
def test_persistent_transient_faults_give_up_with_a_typed_error(
    emulator: EdgioEmulator, cdn: EdgioCdn, fault: dict[str, Any], error: type[ProviderError]
) -> None:
    emulator.faults.add(method="GET", **fault)
    with pytest.raises(error) as caught:
        cdn.list_rules(SHORTNAME)
    assert caught.value.provider == "edgio" and caught.value.operation == "list_rules"
    assert sum(emulator.calls().values()) == 8  # every attempt of the policy, no more


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ValidationFailed),
        (401, AuthFailed),
        (403, AuthFailed),
        (404, NotFound),
        (409, Conflict),
    ],
)
def test_client_errors_are_typed_and_not_retried(
    emulator: EdgioEmulator, cdn: EdgioCdn, status: int, error: type[ProviderError]
) -> None:
    body = b'{"errors": [{"message": "injected refusal", "code": 1}]}'
    emulator.faults.add(status=status, method="POST", body=body)
    with pytest.raises(error, match="injected refusal") as caught:
        cdn.create_rule(make_rule())
    assert caught.value.status == status
    assert post_count(emulator) == 1
    assert emulator.instances() == []


def test_a_slow_answer_times_out_and_is_retried(emulator: EdgioEmulator) -> None:
    cdn = client_for(emulator, timeout=0.2)
    emulator.faults.add(status=None, delay=0.5, times=1, method="GET")
    assert cdn.list_rules(SHORTNAME) == []


@pytest.mark.parametrize("fault", [{"status": 500}, {"status": None, "reset": True}])
def test_a_lost_create_answer_is_not_posted_again(
    emulator: EdgioEmulator, cdn: EdgioCdn, fault: dict[str, Any]
) -> None:
    emulator.faults.add(method="POST", path=f"{DELIVERY}$", times=1, after=True, **fault)
    with pytest.raises(OutcomeUnknown):
        cdn.create_rule(make_rule())
    assert_one_instance_per_key(emulator, 1)
    assert emulator.calls() == {("POST", DELIVERY): 1}  # no retry, no lookup
    assert cdn.list_rules(SHORTNAME)[0].owner == make_rule().owner  # the next pass sees it


def test_a_slow_create_that_lands_after_the_timeout_is_not_posted_again(
    emulator: EdgioEmulator,
) -> None:
    emulator.faults.add(status=None, method="POST", path=f"{DELIVERY}$", times=1, delay=0.6)
    cdn = client_for(emulator, timeout=0.2)
    with pytest.raises(OutcomeUnknown, match="Timeout"):
        cdn.create_rule(make_rule())
    eventually(emulator.instances)
    assert_one_instance_per_key(emulator, 1)
    assert post_count(emulator) == 1


def test_a_429_on_a_create_is_retried_without_a_lookup(
    emulator: EdgioEmulator, cdn: EdgioCdn
) -> None:
    emulator.faults.add(status=429, method="POST", times=2)
    cdn.create_rule(make_rule())
    assert emulator.calls() == {("POST", DELIVERY): 3}


def test_a_lost_update_answer_is_retried_to_the_same_content(
    emulator: EdgioEmulator, cdn: EdgioCdn
) -> None:
    current = cdn.create_rule(make_rule())
    emulator.faults.add(status=502, method="PUT", times=1, after=True)
    updated = cdn.update_rule(current, make_rule(source_port=4242))
    assert updated.source_port == 4242 and updated.id == current.id
    assert_one_instance_per_key(emulator, 1)


def test_a_lost_delete_answer_counts_as_deleted(emulator: EdgioEmulator, cdn: EdgioCdn) -> None:
    created = cdn.create_rule(make_rule())
    emulator.faults.add(status=503, method="DELETE", times=1, after=True)
    cdn.delete_rule(created)
    assert emulator.instances() == []
    assert emulator.calls()[("DELETE", f"{DELIVERY}/{{uuid}}")] == 2


def run_workload(cdn: EdgioCdn, emulator: EdgioEmulator, count: int) -> None:
    """Create, list, update and delete half: each effect must happen exactly once."""
    created = [cdn.create_rule(make_rule(path=f"/r{i}/")) for i in range(count)]
    assert_one_instance_per_key(emulator, count)
    listed = {rule.id: rule for rule in cdn.list_rules(SHORTNAME)}
    assert set(listed) == {rule.id for rule in created}
    for rule in created:
        cdn.update_rule(rule, make_rule(path=rule.published_path, source_port=31000))
    for rule in created[: count // 2]:
        cdn.delete_rule(rule)
    remaining = cdn.list_rules(SHORTNAME)
    assert len(remaining) == count - count // 2
    assert {rule.source_port for rule in remaining} == {31000}
    assert_one_instance_per_key(emulator, count - count // 2)


@pytest.mark.parametrize("retry_after", [None, "0"], ids=["no-retry-after", "retry-after-0"])
def test_a_429_storm_completes_every_operation_exactly_once(
    emulator: EdgioEmulator, cdn: EdgioCdn, retry_after: str | None
) -> None:
    emulator.faults.add(status=429, rate=0.5, retry_after=retry_after)
    run_workload(cdn, emulator, 12)
    assert post_count(emulator) > 12  # the storm did hit the creates


def test_thirty_percent_5xx_converges_pass_by_pass_without_a_duplicate(
    emulator: EdgioEmulator,
) -> None:
    """Creates whose outcome is unknown are left to the next pass's listing, as the
    controller does: every rule ends up made exactly once."""
    cdn = client_for(emulator, policy=RetryPolicy(attempts=12, initial_wait=0.001, max_wait=0.005))
    lost = emulator.faults.add(
        status=500, rate=0.3, method="POST", path=f"{DELIVERY}$", after=True, times=4
    )
    emulator.faults.add(status=503, rate=0.3)
    wanted = {f"/r{i}/" for i in range(20)}
    for _ in range(30):
        listed = {rule.published_path for rule in cdn.list_rules(SHORTNAME)}
        if listed == wanted:
            break
        for path in sorted(wanted - listed):
            with contextlib.suppress(OutcomeUnknown, ServerError):
                cdn.create_rule(make_rule(path=path))
    assert_one_instance_per_key(emulator, 20)
    assert lost.times == 0  # four creates were applied but their answers lost
    assert post_count(emulator) > 20


def test_concurrent_creates_from_threads(emulator: EdgioEmulator, cdn: EdgioCdn) -> None:
    for method in ("GET", "PUT", "DELETE"):
        emulator.faults.add(status=503, rate=0.2, method=method)
    emulator.faults.add(status=429, rate=0.2, method="POST")
    with ThreadPoolExecutor(max_workers=4) as pool:
        rules = list(pool.map(lambda i: cdn.create_rule(make_rule(path=f"/t{i}/")), range(16)))
    assert len({rule.id for rule in rules}) == 16
    assert_one_instance_per_key(emulator, 16)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "HTTP 500: injected fault"),
        (b"upstream exploded", "HTTP 500: upstream exploded"),
        (b'{"message": "database down"}', "HTTP 500: database down"),
    ],
)
def test_error_messages_are_the_servers_own_words(
    emulator: EdgioEmulator, cdn: EdgioCdn, body: bytes | None, message: str
) -> None:
    emulator.faults.add(status=500, body=body)
    with pytest.raises(ServerError) as caught:
        cdn.get_rule("3f2b6c1e-0000-4000-8000-000000000001")
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>maintenance</html>", "answer is not JSON"),
        (b"not json", "answer is not JSON"),
        (b'{"items": []}', "no 'results' list"),
    ],
)
def test_malformed_answers_are_a_retried_server_error(
    emulator: EdgioEmulator, cdn: EdgioCdn, body: bytes, message: str
) -> None:
    emulator.faults.add(status=200, body=body, content_type="text/html")
    with pytest.raises(ServerError) as caught:
        cdn.list_rules(SHORTNAME)
    assert message in str(caught.value)
    assert caught.value.operation == "list_rules"
    assert sum(emulator.calls().values()) == 8  # retried like a 5xx, every attempt
