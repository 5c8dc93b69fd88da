"""The elector judged as client-go judges it, with injected clocks and an injected API:
any failure of a renewal ends leadership at the renew deadline, a held Lease is taken
only after watching it stand still for a whole duration on our own clock, and the
holder's wall-clock timestamps never make a Lease free."""

from __future__ import annotations

import copy
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from reconciler.cluster.lease import DURATION, RENEW_DEADLINE, RETRY, LeaseElector
from reconciler.fence import LeadershipLost
from tests.support import eventually

NAME, NAMESPACE = "edgio-ingress", "default"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeLeases:
    """The Lease calls of a CoordinationV1Api over one record; `failure` is raised by
    every call while set, whatever its type; `timeouts` records what each call asked."""

    def __init__(self) -> None:
        self.record: dict[str, Any] | None = None
        self.version = 0
        self.failure: BaseException | None = None
        self.timeouts: list[Any] = []
        self.api_client = self

    @staticmethod
    def sanitize_for_serialization(lease: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(lease)

    def _call(self, timeout: Any) -> None:
        self.timeouts.append(timeout)
        if self.failure is not None:
            raise self.failure

    def read_namespaced_lease(self, name: str, namespace: str, **kw: Any) -> dict[str, Any]:
        self._call(kw.get("_request_timeout"))
        if self.record is None:
            raise ApiException(status=404)
        return self.record

    def create_namespaced_lease(self, namespace: str, body: dict[str, Any], **kw: Any) -> None:
        self._call(kw.get("_request_timeout"))
        self.store(body)

    def replace_namespaced_lease(
        self, name: str, namespace: str, body: dict[str, Any], **kw: Any
    ) -> None:
        self._call(kw.get("_request_timeout"))
        assert self.record is not None
        if body["metadata"].get("resourceVersion") != self.record["metadata"]["resourceVersion"]:
            raise ApiException(status=409)
        self.store(body)

    def store(self, body: dict[str, Any]) -> None:
        self.version += 1
        self.record = copy.deepcopy(body)
        self.record["metadata"]["resourceVersion"] = str(self.version)

    def hold(self, holder: str, renewed: datetime) -> None:
        """Another replica's renewal, stamped by its own (perhaps skewed) clock."""
        spec = {
            "holderIdentity": holder,
            "leaseDurationSeconds": int(DURATION),
            "renewTime": renewed.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        self.store({"metadata": {"name": NAME, "namespace": NAMESPACE}, "spec": spec})

    @property
    def holder(self) -> str | None:
        return None if self.record is None else self.record["spec"].get("holderIdentity")


def elector(api: FakeLeases, clock: Clock, identity: str = "me") -> LeaseElector:
    return LeaseElector(api, NAME, NAMESPACE, identity, clock=clock)  # type: ignore[arg-type]


FAILURES = [
    ConnectionRefusedError(111, "Connection refused"),
    ProtocolError("Connection aborted.", ConnectionResetError(104, "reset by peer")),
    ReadTimeoutError(None, "/leases", "Read timed out."),  # type: ignore[arg-type]
    ApiException(status=503),
    RuntimeError("anything at all"),
]


@pytest.mark.parametrize("failure", FAILURES, ids=lambda e: type(e).__name__)
def test_a_renewal_failing_in_any_way_ends_leadership_at_the_renew_deadline(
    failure: BaseException,
) -> None:
    api, clock = FakeLeases(), Clock()
    me = elector(api, clock)
    assert me.try_acquire()
    api.failure = failure
    while clock.now < 1000.0 + RENEW_DEADLINE - RETRY:
        clock.now += RETRY
        assert me.try_acquire()  # never raises; still ours inside the renew deadline
        me.fence.check()
    clock.now = 1000.0 + RENEW_DEADLINE
    with pytest.raises(LeadershipLost):
        me.fence.check()  # the fence needs no renewal attempt to close
    assert not me.try_acquire()
    assert me.lost.is_set()
    api.failure = None
    clock.now += 100.0
    assert not me.try_acquire()  # a lost leader does not come back: it exits
    with pytest.raises(LeadershipLost):
        me.fence.check()


def test_a_renewal_that_comes_after_the_renew_deadline_does_not_revive_leadership() -> None:
    """A process frozen (or starved) past the deadline has lost, even if the API answers."""
    api, clock = FakeLeases(), Clock()
    me = elector(api, clock)
    assert me.try_acquire()
    clock.now += RENEW_DEADLINE + 1.0
    assert not me.try_acquire()
    assert me.lost.is_set()
    with pytest.raises(LeadershipLost):
        me.fence.check()


def test_the_campaign_thread_outlives_a_refused_connection_and_reports_the_loss() -> None:
    api = FakeLeases()
    me = LeaseElector(
        api,  # type: ignore[arg-type]
        NAME,
        NAMESPACE,
        "me",
        duration=0.6,
        renew_deadline=0.3,
        retry=0.05,
    )
    changes: list[bool] = []
    stop = threading.Event()
    thread = threading.Thread(target=me.campaign, args=(stop, lambda: changes.append(me.leading)))
    thread.start()
    try:
        eventually(lambda: me.leading, timeout=5)
        api.failure = ConnectionRefusedError(111, "Connection refused")
        eventually(me.lost.is_set, timeout=5)
        thread.join(timeout=5)
        assert changes == [True, False]
        assert not me.leading
        with pytest.raises(LeadershipLost):
            me.fence.check()
    finally:
        stop.set()
        thread.join(timeout=5)


def test_every_lease_call_has_a_timeout_well_inside_the_renew_deadline() -> None:
    api, clock = FakeLeases(), Clock()
    me = elector(api, clock)
    me.try_acquire()
    clock.now += RETRY
    me.try_acquire()
    me.release()
    assert len(api.timeouts) >= 5
    for timeout in api.timeouts:
        assert timeout is not None
        assert 2 * sum(timeout) < RENEW_DEADLINE  # a read and a replace, both hung


@pytest.mark.parametrize("skew", [timedelta(minutes=-10), timedelta(0), timedelta(minutes=10)])
def test_a_held_lease_is_taken_only_after_watching_it_still_for_a_whole_duration(
    skew: timedelta,
) -> None:
    api, clock = FakeLeases(), Clock()
    api.hold("other", datetime.now(UTC) + skew)
    me = elector(api, clock)
    for _ in range(int(DURATION / RETRY)):
        assert not me.try_acquire()
        clock.now += RETRY * 0.99
    assert api.holder == "other"
    clock.now = 1000.0 + DURATION
    assert me.try_acquire()
    assert api.holder == "me"


def test_a_holder_whose_clock_is_minutes_behind_keeps_its_lease_while_it_renews() -> None:
    """Its renewTime is ten minutes old by our wall clock, every time: it still renews,
    so the record keeps changing and we never take it."""
    api, clock = FakeLeases(), Clock()
    me = elector(api, clock)
    for _ in range(int(5 * DURATION / RETRY)):
        api.hold("other", datetime.now(UTC) - timedelta(minutes=10))
        assert not me.try_acquire()
        with pytest.raises(LeadershipLost):
            me.fence.check()
        clock.now += RETRY
    assert api.holder == "other"


def test_a_leader_whose_lease_was_taken_stops_at_once() -> None:
    api, clock = FakeLeases(), Clock()
    me = elector(api, clock)
    assert me.try_acquire()
    api.hold("other", datetime.now(UTC))
    clock.now += RETRY
    assert not me.try_acquire()
    assert me.lost.is_set()
    with pytest.raises(LeadershipLost):
        me.fence.check()


def test_release_closes_the_fence_first_and_frees_the_lease_for_the_next_candidate() -> None:
    api, clock = FakeLeases(), Clock()
    me = elector(api, clock)
    assert me.try_acquire()
    me.release()
    with pytest.raises(LeadershipLost):
        me.fence.check()
    assert api.holder is None
    assert not me.try_acquire()  # released for good
    assert elector(api, clock, "next").try_acquire()  # no duration to wait out


def test_a_failed_release_is_logged_not_raised() -> None:
    api, clock = FakeLeases(), Clock()
    me = elector(api, clock)
    me.try_acquire()
    api.failure = ConnectionResetError(104, "reset")
    me.release()
    with pytest.raises(LeadershipLost):
        me.fence.check()
