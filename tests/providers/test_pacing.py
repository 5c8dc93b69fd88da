"""Client-side pacing and Retry-After parsing (the HTTP paths are tested against emulators)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reconciler.providers.transport import RateLimiter, parse_retry_after


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_rate_limiter_never_exceeds_its_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=10, burst=5, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(100):
        limiter.acquire()
        stamps.append(clock.now)
    # any window of one second holds at most rate + burst calls
    for start in stamps:
        assert sum(start <= s < start + 1 for s in stamps) <= 15
    assert stamps[-1] == pytest.approx((100 - 5) / 10)


def test_rate_limiter_lets_a_burst_through_without_waiting() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1, burst=3, clock=clock, sleep=clock.sleep)
    assert [limiter.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("3", 3.0),
        ("0.5", 0.5),
        ("-4", 0.0),
        ("Wed, 25 Nov 2026 12:00:10 GMT", 10.0),
        ("soon", None),
    ],
)
def test_retry_after(header: str | None, seconds: float | None) -> None:
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(header, now=lambda: now) == seconds
