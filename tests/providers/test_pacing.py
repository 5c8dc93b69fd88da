"""Client-side pacing, Retry-After parsing and redaction (the HTTP paths are tested against
the emulators in test_transport.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reconciler.providers.transport import RateLimiter, Redactor, parse_retry_after


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
        ("86400", 86400.0),
        ("0", None),  # no instruction: the normal backoff applies
        ("-4", None),
        ("Wed, 25 Nov 2026 12:00:10 GMT", 10.0),
        ("Wed, 25 Nov 2026 12:00:10 -0000", 10.0),  # -0000: UTC, not naive
        ("Wed, 25 Nov 2026 12:00:10", 10.0),  # no zone: UTC
        ("Wed Nov 25 12:00:10 2026", 10.0),  # asctime, which RFC 9110 says to accept
        ("Wednesday, 25-Nov-26 12:00:10 GMT", 10.0),  # RFC 850
        ("Wed, 25 Nov 2026 11:00:00 GMT", None),  # already past
        ("soon", None),
        ("inf", None),
        ("nan", None),
        ("Wed, 99 Nov 2026 12:00:10 GMT", None),
    ],
)
def test_retry_after(header: str | None, seconds: float | None) -> None:
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(header, now=lambda: now) == seconds


@pytest.mark.parametrize(
    "echo",
    [
        "key SECRET-KEY-0123456789ABCDEF here",
        "key secret-key-0123456789abcdef here",  # lower-cased
        "key ET-KEY-01234 here",  # cut short at both ends
        "key 0123456789abcdef here",
    ],
)
def test_redaction_catches_echoes_that_are_not_exact(echo: str) -> None:
    assert Redactor("SECRET-KEY-0123456789ABCDEF")(echo) == "key <redacted> here"


def test_redaction_leaves_other_text_alone() -> None:
    redact = Redactor("SECRET-KEY-0123456789ABCDEF")
    assert (
        redact("HTTP 400: Invalid API token. (SECRET)") == "HTTP 400: Invalid API token. (SECRET)"
    )
    assert "SECRET" not in repr(redact)
