"""The one-writer checker on hand-made histories: the ones a correct controller leaves
pass, and each way of breaking the promise is named."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from edgio_sandbox.httpbase import Write
from edgio_sandbox.kube.leases import LeaseWrite
from tests.chaos.checker import Shared, Stolen, check, terms


def lease(at: float, holder: str, duration: int = 15) -> LeaseWrite:
    return LeaseWrite(at, "default", "edgio-ingress", holder, str(int(at * 10)), "", duration)


def renewals(holder: str, start: float, end: float, every: float = 2.0) -> list[LeaseWrite]:
    return [lease(start + i * every, holder) for i in range(int((end - start) / every) + 1)]


def write(writer: str, at: float, took: float = 0.05) -> Write:
    return Write(at, at + took, "POST", "/v2/domains/{zone}/records", 201, writer)


def test_a_handover_by_release_then_the_next_holder_writing_passes() -> None:
    history = [*renewals("a", 0, 10), lease(11, ""), *renewals("b", 11.5, 20)]
    verdict = check(history, [write("a", 1), write("a", 10.9), write("b", 12), write("b", 19)])
    assert verdict.ok, verdict
    assert [(t.holder, t.start, t.end) for t in verdict.terms] == [
        ("a", 0, 11),
        ("b", 11.5, math.inf),
    ]


def test_a_takeover_after_the_lease_expired_passes() -> None:
    history = [*renewals("a", 0, 10), *renewals("b", 26, 30)]  # a died after renewing at 10
    assert check(history, [write("a", 9), write("b", 26.5)]).ok


def test_a_late_renewal_with_no_one_between_continues_the_term() -> None:
    history = [lease(0, "a"), lease(30, "a")]
    verdict = check(history, [write("a", 10), write("a", 31)])
    assert verdict.ok and len(verdict.terms) == 1


def test_a_leader_writing_after_another_took_the_lease_is_caught_twice() -> None:
    history = [*renewals("a", 0, 10), *renewals("b", 26, 40)]
    zombie = write("a", 27)
    verdict = check(history, [write("a", 5), write("b", 26.5), zombie, write("b", 28)])
    assert verdict.outside == [zombie]
    assert verdict.shared == [Shared("b", 26, math.inf, ("a", "b"))]
    assert not verdict.stolen


def test_a_write_answered_after_the_next_holder_took_over_is_outside() -> None:
    history = [*renewals("a", 0, 10), *renewals("b", 26, 30)]
    straddling = write("a", 25.9, took=0.2)
    assert check(history, [straddling]).outside == [straddling]


def test_a_write_before_the_lease_was_held_or_untagged_is_outside() -> None:
    history = renewals("a", 10, 20)
    early, untagged = write("a", 9.9), write("", 12)
    verdict = check(history, [early, untagged, write("a", 11)])
    assert verdict.outside == [early, untagged]
    assert verdict.shared == [Shared("a", 10, math.inf, ("", "a"))]


def test_a_write_after_the_writers_lease_expired_is_outside_though_no_one_took_it() -> None:
    history = [*renewals("a", 0, 10), lease(40, "a")]  # silent from 10 to 40
    stale = write("a", 25.5)
    verdict = check(history, [write("a", 24.9), stale, write("a", 41)])
    assert verdict.outside == [stale]
    assert len(verdict.terms) == 1 and not verdict.shared and not verdict.stolen


def test_a_write_after_the_release_is_outside() -> None:
    history = [*renewals("a", 0, 10), lease(11, "")]
    late = write("a", 11.2)
    verdict = check(history, [late])
    assert verdict.outside == [late] and not verdict.shared


def test_a_lease_taken_from_a_live_holder_is_stolen_whatever_the_writes() -> None:
    history = [*renewals("a", 0, 10), lease(12, "b")]  # a renewed at 10 for 15 s
    verdict = check(history, [])
    assert verdict.stolen == [Stolen("b", 12, "a", 10, 15)]
    assert not verdict.ok


def test_a_lease_taken_right_after_a_release_is_not_stolen() -> None:
    history = [*renewals("a", 0, 10), lease(10.1, ""), lease(10.2, "b")]
    assert check(history, []).ok


@st.composite
def tenures(draw: st.DrawFn) -> tuple[list[LeaseWrite], list[Write], list[str]]:
    """Holders one after another, each taking over a lease duration after the last
    renewal or right after a release, and writing strictly inside its own term."""
    history: list[LeaseWrite] = []
    writes: list[Write] = []
    holders = draw(st.lists(st.sampled_from("abc"), min_size=1, max_size=5))
    holders = [h for i, h in enumerate(holders) if i == 0 or h != holders[i - 1]]
    now = 0.0
    for holder in holders:
        start = now
        length = draw(st.floats(1, 30))
        history += renewals(holder, start, start + length)
        last = history[-1].at
        for offset in draw(st.lists(st.floats(0.01, 0.9), max_size=4)):
            writes.append(write(holder, start + offset * (last - start + 1), took=0.001))
        if draw(st.booleans()):
            history.append(lease(last + 2, ""))
            now = last + 2.5
        else:
            now = last + 15 + draw(st.floats(0, 5))
    return history, writes, holders


@given(tenures())
def test_writes_inside_their_writers_terms_always_pass(case: tuple) -> None:  # type: ignore[type-arg]
    history, writes, holders = case
    verdict = check(history, writes)
    assert verdict.ok, verdict
    assert [t.holder for t in terms(history) if t.holder] == holders


@given(tenures(), st.data())
def test_any_write_moved_to_another_writer_fails(case: tuple, data: st.DataObject) -> None:  # type: ignore[type-arg]
    history, writes, _ = case
    if not writes:
        return
    index = data.draw(st.integers(0, len(writes) - 1))
    moved = writes[index]
    other = "c" if moved.writer != "c" else "a"
    writes[index] = Write(moved.started, moved.finished, moved.method, moved.label, 201, other)
    verdict = check(history, writes)
    assert writes[index] in verdict.outside
