"""The write fence: may this process still write?

Only the holder of the Lease writes, and "holds" is judged by the holder's own record
of its last successful renewal on its monotonic clock: a renewal older than the renew
deadline (shorter than the lease duration) means another candidate may be about to take
the Lease, so we stop before it can. Every provider write and every Kubernetes write of
a pass asks `check()` first; a pass that is told no stops at that write and writes
nothing more. A request already on the wire when leadership ends can still land (no
Lease can fence a request in flight); every request has a timeout, so that window is one
request long.

Pure on purpose: the elector feeds it renewals and endings, SIGTERM feeds it a stop, and
whoever writes only asks.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class LeadershipLost(Exception):
    """This process may no longer write: the Lease was lost or released, its last
    renewal is older than the renew deadline, or the process is stopping."""


def unfenced() -> None:
    """The check of a writer without leader election or signals (tests, benchmarks)."""


class Fence:
    """Leadership as the writers see it; `renew_deadline=None` is a process without
    leader election, which may always write until it is asked to stop."""

    def __init__(self, renew_deadline: float | None, clock: Callable[[], float] = time.monotonic):
        self.renew_deadline = renew_deadline
        self._clock = clock
        self._renewed: float | None = None
        self._ended: str | None = None  # the Lease is gone for good: lost or released
        self._stopping: str | None = None

    def renewed(self, at: float) -> None:
        """A renewal succeeded at `at` (on the fence's clock)."""
        if self._ended is None:
            self._renewed = at

    def end(self, why: str) -> None:
        """The Lease was lost or is being released: no write from now on, whatever follows."""
        self._ended = self._ended or why

    def stop(self, why: str) -> None:
        """The process is stopping: the pass ends at its next write."""
        self._stopping = self._stopping or why

    def holds(self) -> bool:
        """The Lease is still ours (a stopping process still holds it until it releases):
        what the Events queued before a stop may be flushed under."""
        return self._refusal() is None

    def check(self) -> None:
        """Before every write of a pass: raises LeadershipLost unless it may go ahead."""
        why = self._stopping or self._refusal()
        if why is not None:
            raise LeadershipLost(why)

    def _refusal(self) -> str | None:
        if self._ended is not None:
            return self._ended
        if self.renew_deadline is None:
            return None
        if self._renewed is None:
            return "the Lease is not held"
        age = self._clock() - self._renewed
        if age >= self.renew_deadline:
            deadline = self.renew_deadline
            return f"the Lease was last renewed {age:.1f} s ago (renew deadline {deadline:g} s)"
        return None
