"""Loaded (through PYTHONPATH) only into a controller process that the fault campaign
runs under libfaketime to skew its wall clock.

libfaketime 0.9.10 with FAKETIME_DONT_FAKE_MONOTONIC fails every clock_nanosleep on the
monotonic clock with EINVAL, which is how `time.sleep` sleeps, so every paced provider
call of that process would fail with OSError. A timed wait on an Event (a condition wait,
which libfaketime leaves working) sleeps the same length instead. Nothing else changes.
"""

import threading
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    threading.Event().wait(seconds)


time.sleep = _sleep
