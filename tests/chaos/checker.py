"""One writer at a time, judged from the servers' own records, never from the controllers'
logs: the Kubernetes emulator's history of accepted Lease writes says who held the Lease
when, and the providers' request logs say who wrote what when (each write carries its
process's Lease identity in its User-Agent).

A term is one holder's unbroken tenure: it begins at the first accepted Lease write
naming that holder and ends at the first accepted write naming anyone else (a takeover,
or a release that empties the holder). A renewal written late by the same holder, with
no one else in between, continues its term. The checks:

- fenced: every provider write lies inside a live term of its own writer: it reached
  the server after the writer's term began, and was answered before the next holder's
  first Lease write and before the writer's Lease expired (one lease duration after its
  last accepted renewal). A write that only overlaps a boundary counts as outside: the
  server cannot say on which side it took effect, and a fenced writer (renewed within
  the renew deadline, shorter than the duration) leaves seconds of margin.
- one writer per term: no term (nor any stretch with no holder) sees writes of two
  processes; a process that writes without holding the Lease shows here too, beside the
  holder it interleaved with.
- no Lease taken from a live holder: a takeover comes at least one lease duration (as
  the last holder wrote it) after the last holder's last accepted renewal, unless that
  holder released it. This holds whatever the candidates' clocks say.

Times are the wall clock of the process hosting the emulators (one clock for both
records), which is what `Write.started/finished` and `LeaseWrite.at` are.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace

from edgio_sandbox.httpbase import Write
from edgio_sandbox.kube.leases import LeaseWrite


@dataclass(frozen=True)
class Term:
    holder: str  # "" for a stretch in which no one held the Lease
    start: float
    end: float  # math.inf for the term still running
    renewals: tuple[tuple[float, float], ...]  # (when, leaseDurationSeconds) of each write

    @property
    def last_renewal(self) -> float:
        return self.renewals[-1][0]

    @property
    def duration(self) -> float:
        return self.renewals[-1][1]

    def live_until(self, moment: float) -> float:
        """When the Lease as renewed last before `moment` expires."""
        renewed = [when + duration for when, duration in self.renewals if when <= moment]
        return renewed[-1] if renewed else -math.inf


@dataclass(frozen=True)
class Shared:
    """A term, or a stretch without a holder, in which several processes wrote."""

    holder: str
    start: float
    end: float
    writers: tuple[str, ...]


@dataclass(frozen=True)
class Stolen:
    """A takeover that came before the last holder's Lease could have expired."""

    holder: str
    taken_at: float
    previous: str
    previous_renewal: float
    duration: float


@dataclass
class Verdict:
    terms: list[Term]
    outside: list[Write] = field(default_factory=list)
    shared: list[Shared] = field(default_factory=list)
    stolen: list[Stolen] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.outside or self.shared or self.stolen)


def terms(history: list[LeaseWrite]) -> list[Term]:
    """The timeline cut at every change of holder; stretches without one included."""
    found: list[Term] = []
    for write in sorted(history, key=lambda w: w.at):
        renewal = (write.at, float(write.duration or 0))
        current = found[-1] if found else None
        if current is not None and current.holder == write.holder:
            found[-1] = replace(current, renewals=(*current.renewals, renewal))
            continue
        if current is not None:
            found[-1] = replace(current, end=write.at)
        found.append(Term(write.holder, write.at, math.inf, (renewal,)))
    return found


def check(history: list[LeaseWrite], writes: list[Write]) -> Verdict:
    timeline = terms(history)
    verdict = Verdict([t for t in timeline if t.holder])
    verdict.outside = [w for w in writes if not _fenced(w, verdict.terms)]
    verdict.shared = _shared(timeline, writes)
    verdict.stolen = _stolen(timeline)
    return verdict


def _fenced(write: Write, held: list[Term]) -> bool:
    return any(
        t.holder == write.writer
        and t.start <= write.started
        and write.finished <= min(t.end, t.live_until(write.started))
        for t in held
    )


def _shared(timeline: list[Term], writes: list[Write]) -> list[Shared]:
    """Every stretch (before the first Lease write too) whose writes come from two or
    more processes; a write overlapping a boundary belongs to both sides."""
    first = timeline[0].start if timeline else math.inf
    stretches = [Term("", -math.inf, first, ((-math.inf, 0.0),)), *timeline]
    found = []
    for stretch in stretches:
        writers = {
            w.writer for w in writes if w.started < stretch.end and w.finished >= stretch.start
        }
        if len(writers) > 1:
            found.append(Shared(stretch.holder, stretch.start, stretch.end, tuple(sorted(writers))))
    return found


def _stolen(timeline: list[Term]) -> list[Stolen]:
    found = []
    for previous, term in itertools.pairwise(timeline):
        if not (previous.holder and term.holder):
            continue  # a release, or a Lease taken after one: free at once
        if term.start < previous.last_renewal + previous.duration:
            found.append(
                Stolen(
                    term.holder,
                    term.start,
                    previous.holder,
                    previous.last_renewal,
                    previous.duration,
                )
            )
    return found
