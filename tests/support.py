"""Helpers every test directory shares: where the repository is, polling with a deadline,
and a retry policy fast enough for emulators on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from reconciler.providers.transport import RetryPolicy

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[1]
CRD_FILE = REPO / "crds" / "edgioroute.yaml"
EXAMPLES = REPO / "examples"

# Real backoff shape, millisecond waits: the emulators answer in microseconds. A
# Retry-After longer than max_retry_after fails the call at once as Throttled, so a test
# that wants one honoured sets its own policy (see tests/providers/test_transport.py).
FAST = RetryPolicy(attempts=8, initial_wait=0.001, max_wait=0.01, max_retry_after=0.05)


def eventually(probe: Callable[[], T | None], timeout: float = 10.0) -> T:
    """Poll until `probe` returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {probe}")
        time.sleep(0.02)
