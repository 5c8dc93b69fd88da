"""The transport's behaviour, shown over real HTTP against both emulators: Retry-After,
backoff, one retry budget per call, shared pacing, redirects and secrets."""

from __future__ import annotations

import itertools
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.httpbase import EmulatorServer
from edgio_sandbox.vultr import Paging, VultrEmulator
from reconciler import __version__
from reconciler.fence import LeadershipLost
from reconciler.model import DnsRecord
from reconciler.providers.base import (
    Conflict,
    ProviderError,
    Redirected,
    ServerError,
    Throttled,
)
from reconciler.providers.edgio import EdgioCdn
from reconciler.providers.transport import RetryPolicy, user_agent
from reconciler.providers.vultr import VultrDns
from tests.providers.edgio.conftest import SHORTNAME, client_for, instance_body, make_rule

ZONE = "example.com"
QUICK = RetryPolicy(attempts=4, initial_wait=0.001, max_wait=0.01, max_retry_after=5.0)


@dataclass
class Side:
    """One provider: its emulator, a client of it, and its listing call."""

    emulator: EmulatorServer
    make: Callable[..., Any]  # builds a client: make(policy=..., timeout=..., base_url=...)
    route: str  # the emulator's label of the listing route

    def list(self, client: Any) -> list[Any]:
        if isinstance(client, VultrDns):
            return client.list_records(ZONE)
        return list(client.list_rules(SHORTNAME))

    def create(self, client: Any) -> None:
        if isinstance(client, VultrDns):
            client.create_record(DnsRecord(ZONE, "origin", "A", "192.0.2.1", 60))
        else:
            client.create_rule(make_rule())


def vultr_side(emulator: VultrEmulator) -> Side:
    def make(**settings: Any) -> VultrDns:
        options: dict[str, Any] = {"base_url": emulator.api_url, "rate": 1000, "burst": 50}
        options.update(settings)
        return VultrDns(emulator.api_key, **options)

    return Side(emulator, make, "/v2/domains/{domain}/records")


def edgio_side(emulator: EdgioEmulator) -> Side:
    def make(**settings: Any) -> EdgioCdn:
        return client_for(emulator, **settings)

    return Side(emulator, make, f"/config-api/v1/svcinst/delivery/shortname/{SHORTNAME}")


@pytest.fixture(params=["vultr", "edgio"])
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    if request.param == "vultr":
        with VultrEmulator(zones=(ZONE,), rate_limit=None) as vultr:
            yield vultr_side(vultr)
    else:
        with EdgioEmulator(shortnames=(SHORTNAME,)) as edgio:
            yield edgio_side(edgio)


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


# -- Retry-After ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(side: Side, status: int) -> None:
    """The second request waits the server's second, not the millisecond backoff: on a
    429, and on a 503 (RFC 9110 gives both a Retry-After)."""
    side.emulator.faults.add(status=status, retry_after="1", times=1, method="GET")
    side.list(side.make(policy=QUICK))
    first, second = side.emulator.arrivals("GET", side.route)
    assert second - first >= 0.95


@pytest.mark.parametrize(
    "header",
    [
        "Sun Nov  6 08:49:37 1994",  # asctime
        "Sun, 06 Nov 1994 08:49:37 -0000",
        "Sun, 06 Nov 1994 08:49:37",
        "tomorrow-ish",
        "0",
        "-3",
    ],
)
def test_odd_retry_after_values_fall_back_to_the_normal_backoff(side: Side, header: str) -> None:
    """Past dates in every form, garbage, zero and negative values: no crash, and no
    zero pause either (the backoff's lower bound is half its first step)."""
    policy = RetryPolicy(attempts=4, initial_wait=0.2, max_wait=0.2, max_retry_after=5.0)
    side.emulator.faults.add(status=429, retry_after=header, times=1, method="GET")
    side.list(side.make(policy=policy))
    first, second = side.emulator.arrivals("GET", side.route)
    assert second - first >= 0.1


@pytest.mark.parametrize("far", ["86400", "future-date"])
@pytest.mark.parametrize(("status", "error"), [(429, Throttled), (503, ServerError)])
def test_a_far_retry_after_fails_fast(
    side: Side, far: str, status: int, error: type[ProviderError]
) -> None:
    """A server that asks for more than `max_retry_after` is not asked again early."""
    header = far
    if far == "future-date":
        header = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    side.emulator.faults.add(status=status, retry_after=header, method="GET")
    with pytest.raises(error) as raised:
        side.list(side.make(policy=QUICK))
    assert raised.value.retry_after is not None and raised.value.retry_after > 3600
    assert side.emulator.calls() == {("GET", side.route): 1}


# -- backoff and budgets --------------------------------------------------------------------


def test_backoff_is_exponential_with_jitter(side: Side) -> None:
    """Each wait lies in [step/2, step] of a doubling step (the lower bound is what
    sleeping guarantees), and two runs of the same failures do not wait alike."""
    policy = RetryPolicy(attempts=5, initial_wait=0.04, max_wait=10.0)
    runs = []
    for _ in range(2):
        side.emulator.reset_calls()
        side.emulator.faults.clear()
        side.emulator.faults.add(status=503, times=4, method="GET")
        side.list(side.make(policy=policy))
        runs.append(gaps(side.emulator.arrivals("GET", side.route)))
    steps = [0.04, 0.08, 0.16, 0.32]
    for waits in runs:
        assert len(waits) == 4
        assert all(wait >= step / 2 for wait, step in zip(waits, steps, strict=True))
        assert waits[3] > waits[0]  # grows: the last lower bound exceeds the first step
    assert runs[0] != runs[1]
    below_step = [w < 0.95 * s for waits in runs for w, s in zip(waits, steps, strict=True)]
    assert any(below_step)  # not the bare exponential: jitter takes some waits lower


def test_one_retry_budget_covers_every_page_of_a_listing() -> None:
    """Two retries are spent on page 1; page 2's failure then ends the call instead of
    starting a fresh budget (nested budgets multiply requests under a flaky server)."""
    with VultrEmulator(zones=(ZONE,), rate_limit=None, paging=Paging(cap=2)) as vultr:
        for i in range(4):
            vultr.seed_record(ZONE, f"n{i}", "A", f"192.0.2.{i}")
        policy = RetryPolicy(attempts=3, initial_wait=0.001, max_wait=0.01)
        client = VultrDns(vultr.api_key, base_url=vultr.api_url, policy=policy)
        vultr.faults.add(status=503, times=2, method="GET")
        vultr.faults.add(
            status=None,
            times=1,
            method="GET",
            run=lambda: vultr.faults.add(status=503, times=1, method="GET"),
        )
        with pytest.raises(ServerError):
            client.list_records(ZONE)
        assert vultr.calls() == {("GET", "/v2/domains/{domain}/records"): 4}


def test_a_conflict_and_its_failing_lookup_share_one_budget() -> None:
    with EdgioEmulator(shortnames=(SHORTNAME,)) as edgio:
        edgio.seed_instance(SHORTNAME, instance_body())
        edgio.faults.add(status=503, method="GET", path="searchAuto")
        cdn = client_for(edgio, policy=RetryPolicy(attempts=4, initial_wait=0.001))
        with pytest.raises(ServerError):
            cdn.create_rule(make_rule())
        search = f"/config-api/v1/svcinst/delivery/shortname/{SHORTNAME}/searchAuto"
        assert edgio.calls() == {
            ("POST", "/config-api/v1/svcinst/delivery"): 1,
            ("GET", search): 4,
        }


# -- pacing ---------------------------------------------------------------------------------


def test_clients_of_one_endpoint_and_key_share_one_bucket() -> None:
    """Two clients at the default 20/s would together send 40/s and draw 429s from
    Vultr's 30/s; sharing the bucket keeps them under it, with no fresh burst each."""
    with VultrEmulator(zones=(ZONE,), rate_limit=30) as vultr:
        one_shot = RetryPolicy(attempts=1)
        clients = [
            VultrDns(vultr.api_key, base_url=vultr.api_url, policy=one_shot) for _ in range(2)
        ]
        deadline = time.monotonic() + 1.6
        turn = 0
        while time.monotonic() < deadline:
            clients[turn % 2].list_records(ZONE)
            turn += 1
        assert turn <= 5 + 20 * 1.7  # one burst and one rate between them


def test_edgio_pacing_defaults_are_one_request_per_1_2_s_in_bursts_of_5() -> None:
    with EdgioEmulator(shortnames=(SHORTNAME,)) as edgio:
        cdn = EdgioCdn(edgio.principal, edgio.shared_key_hex, base_url=edgio.api_url)
        for _ in range(6):
            cdn.list_rules(SHORTNAME)
        times = edgio.arrivals("GET")
        assert times[4] - times[0] < 0.5  # the burst of five goes at once
        assert 1.1 <= times[5] - times[0] < 2.0  # the sixth waits for a token: 1.2 s


# -- redirects and secrets ------------------------------------------------------------------


def test_a_redirect_to_another_host_is_not_followed(side: Side) -> None:
    """127.0.0.1 and localhost are different hosts: neither a Bearer token nor a signed
    request may travel to the second."""
    with VultrEmulator(host="127.0.0.1", rate_limit=None) as thief:
        elsewhere = f"http://localhost:{thief.port}"
        for status in (307, 308):
            side.emulator.faults.add(status=status, location=elsewhere, times=1)
            with pytest.raises(Redirected, match="localhost"):
                side.list(side.make(policy=QUICK))
        side.emulator.faults.add(status=307, location=elsewhere, times=1, method="POST")
        with pytest.raises(Redirected):
            side.create(side.make(policy=QUICK))
        assert thief.calls() == {}


def test_every_write_names_the_process_that_sent_it(side: Side) -> None:
    """The User-Agent carries the writer's Lease identity, so the provider's own log
    says which replica wrote (the fault campaign judges leadership by it)."""
    side.create(side.make(policy=QUICK, writer="node-1_4242"))
    side.create(side.make(policy=QUICK, writer="node-2_17"))
    assert [w.writer for w in side.emulator.writes()] == ["node-1_4242", "node-2_17"]
    assert user_agent("node-1_4242") == f"edgio-ingress/{__version__} (node-1_4242)"


def test_a_same_host_redirect_is_followed_and_signed_again(side: Side) -> None:
    side.emulator.faults.add(status=307, location=side.emulator.url, times=1, method="GET")
    assert side.list(side.make(policy=QUICK)) == []
    assert side.emulator.calls() == {("GET", side.route): 2}


def test_no_credential_in_errors_or_their_chain(side: Side) -> None:
    """Errors raised from a requests failure keep nothing of it: the exception it holds
    carries the request and its Authorization (or signed) headers."""
    side.emulator.faults.add(status=None, reset=True)
    client = side.make(policy=RetryPolicy(attempts=2, initial_wait=0.001))
    with pytest.raises(ProviderError) as raised:
        side.list(client)
    error: BaseException | None = raised.value
    while error is not None:
        assert not hasattr(error, "request"), repr(error)
        error = error.__cause__ or error.__context__
    text = "".join(traceback.format_exception(raised.value))
    assert "Bearer" not in text and "X-LLNW-Security-Token" not in text


def test_an_echoed_key_is_redacted_even_lower_cased_or_cut_short(side: Side) -> None:
    emulator = side.emulator
    secret = emulator.api_key if isinstance(emulator, VultrEmulator) else None
    if isinstance(emulator, EdgioEmulator):
        secret = emulator.shared_key_hex
    assert secret is not None
    for echo in (secret.lower(), secret.upper()[3:-3], secret[5:20]):
        body = f'{{"error": "bad key {echo}", "message": "bad key {echo}"}}'.encode()
        emulator.faults.add(status=400, times=1, body=body)
        with pytest.raises(ProviderError) as raised:
            side.list(side.make(policy=QUICK))
        for text in (str(raised.value), repr(raised.value), raised.value.message):
            assert "<redacted>" in text
            assert echo.lower() not in text.lower()
            assert secret[5:13].lower() not in text.lower()


def test_a_conflict_of_a_foreign_rule_is_never_adopted_on_a_retried_create() -> None:
    """A 429 makes the create try again; the retry meets an unmarked rule at the same
    host and path, and that stays someone else's."""
    with EdgioEmulator(shortnames=(SHORTNAME,)) as edgio:
        cdn = client_for(edgio, policy=QUICK)
        edgio.faults.add(
            status=429,
            method="POST",
            times=1,
            run=lambda: edgio.seed_instance(SHORTNAME, instance_body()),
        )
        with pytest.raises(Conflict):
            cdn.create_rule(make_rule(host="www.example.com", path="/app/"))
        [foreign] = edgio.instances()
        assert foreign["revision"]["versionNumber"] == 1
        assert [r.owner for r in cdn.list_rules(SHORTNAME)] == [None]


# -- the fence ------------------------------------------------------------------------------


def test_a_write_asks_the_fence_before_every_request_it_sends() -> None:
    """Leadership can end while a write waits (pacing, a retry's backoff, a Retry-After):
    the fence is asked right before each request leaves, so a write held past the end of
    leadership is never sent."""
    asked: list[int] = []

    def fence() -> None:
        asked.append(1)
        if len(asked) > 1:
            raise LeadershipLost("the Lease was last renewed 10.0 s ago")

    with VultrEmulator(zones=(ZONE,), rate_limit=None) as vultr:
        vultr.faults.add(status=429, retry_after="1", times=1, method="POST")
        client = vultr_side(vultr).make(policy=QUICK, fence=fence)
        with pytest.raises(LeadershipLost):
            client.create_record(DnsRecord(ZONE, "origin", "A", "192.0.2.1", 60))
        client.list_records(ZONE)  # reads do not ask
        assert len(asked) == 2
        assert len(vultr.arrivals("POST", "/v2/domains/{domain}/records")) == 1  # the 429
        assert vultr.writes() == [] and vultr.records(ZONE) == []
