"""The leadership faults of a campaign run, drawn from its seed and aimed at whichever
replica holds the Lease when each one fires:

- ``cut-refuse`` / ``cut-hang``: the leader's API-server connection is cut (refused and
  reset, or hung) for a few seconds or for longer than the lease duration, then restored;
- ``sigterm`` / ``sigkill``: the leader is signalled right after one of its provider
  writes (mid-pass), then started again;
- ``sigstop``: the leader is frozen for longer than the lease duration, then continued;
  frozen within a second after one of its writes, so mid-pass, but not aimed at the
  instant after a write's answer, when the next write may be between its fence check and
  its sending (a pause there is the one no check in the writer can cover);
- ``skew``: the second replica's wall clock is two to four and a half minutes off, ahead
  or behind, for the whole run (libfaketime; under five minutes, so Edgio's
  signed-request window still takes its requests);
- ``apiserver-restart``: the Kubernetes API server stops and starts again on the same port
  with the same state.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from edgio_sandbox.httpbase import Write
from edgio_sandbox.kube import KubeEmulator
from reconciler.cluster.lease import DURATION
from tests.chaos.processes import LIBFAKETIME, Controller

MODES = ("cut-refuse", "cut-hang", "sigterm", "sigkill", "sigstop", "skew", "apiserver-restart")
LEASE = ("edgio-ingress", "default")  # the name and namespace the replicas use


@dataclass(frozen=True)
class Event:
    at: float  # seconds after the faults began
    action: Callable[[], None]


def draw(rnd: random.Random) -> tuple[list[str], float]:
    """One or two leadership faults, and the second replica's clock skew in seconds.
    A seed draws the same faults on every machine; where libfaketime is missing a drawn
    skew is not applied and shows as `skew-skipped`."""
    chosen = sorted(rnd.sample(MODES, k=rnd.randint(1, 2)))
    skew = rnd.choice([-1, 1]) * rnd.uniform(120, 270) if "skew" in chosen else 0.0
    if skew and not LIBFAKETIME.exists():
        return [m if m != "skew" else "skew-skipped" for m in chosen], 0.0
    return chosen, skew


class Leadership:
    """Carries out the drawn faults on the replicas; `settle()` undoes what lasts."""

    def __init__(
        self,
        rnd: random.Random,
        kube: KubeEmulator,
        replicas: list[Controller],
        writes: Callable[[], list[Write]],
    ):
        self.rnd, self.kube, self.replicas, self.writes = rnd, kube, replicas, writes
        self._kube_down = False

    def leader(self) -> Controller:
        """The replica holding the Lease now; a random one when none does."""
        lease = self.kube.get("coordination.k8s.io/v1", "Lease", *LEASE) or {}
        holder = (lease.get("spec") or {}).get("holderIdentity")
        for replica in self.replicas:
            if replica.alive() and replica.identity == holder:
                return replica
        return self.rnd.choice(self.replicas)

    def events(self, modes: list[str], span: float) -> list[Event]:
        found: list[Event] = []
        for mode in modes:
            at = self.rnd.uniform(0, span)
            if mode.startswith("cut-"):
                found += self._cut(at, "refuse" if mode == "cut-refuse" else "hang")
            elif mode in ("sigterm", "sigkill"):
                signum = signal.SIGTERM if mode == "sigterm" else signal.SIGKILL
                found.append(Event(at, lambda s=signum: self.signal_mid_pass(s)))  # type: ignore[misc]
            elif mode == "sigstop":
                found += self._freeze(at)
            elif mode == "apiserver-restart":
                down = self.rnd.uniform(1, 8)
                found += [Event(at, self._stop_kube), Event(at + down, self._start_kube)]
        return found

    def _cut(self, at: float, mode: str) -> list[Event]:
        length = self.rnd.choice([self.rnd.uniform(3, 8), self.rnd.uniform(3, 8) + DURATION])
        cut: list[Controller] = []

        def start() -> None:
            cut.append(self.mid_pass_leader())
            cut[0].proxy.cut(mode)

        return [Event(at, start), Event(at + length, lambda: cut[0].proxy.restore())]

    def _freeze(self, at: float) -> list[Event]:
        length = self.rnd.uniform(2, 6) + DURATION
        frozen: list[Controller] = []

        def stop() -> None:
            frozen.append(self.mid_pass_leader())
            time.sleep(self.rnd.uniform(0, 1))
            frozen[0].send(signal.SIGSTOP)

        return [Event(at, stop), Event(at + length, lambda: frozen[0].send(signal.SIGCONT))]

    def signal_mid_pass(
        self, signum: signal.Signals, victim: Controller | None = None, mid_pass: bool = True
    ) -> None:
        """`signum` to `victim` (the leader by default), right after its next provider
        write when `mid_pass` (or after two seconds without one), then, once it has
        exited, a new process in its place."""
        if victim is None:
            victim = self.mid_pass_leader()
        elif mid_pass:
            self.after_a_write(victim.identity, timeout=2.0)
        victim.send(signum)
        if not victim.wait(30):  # a SIGTERM that does not end the process is noted
            victim.signals.append("SIGTERM-ignored")
            victim.kill()
        time.sleep(self.rnd.uniform(0.2, 2))
        victim.start()

    def mid_pass_leader(self) -> Controller:
        """The leader, once it has just made a provider write (or two seconds on)."""
        leader = self.leader()
        self.after_a_write(leader.identity, timeout=2.0)
        return leader

    def after_a_write(self, writer: str, timeout: float) -> None:
        before = sum(w.writer == writer for w in self.writes())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(w.writer == writer for w in self.writes()) > before:
                return
            time.sleep(0.002)

    def _stop_kube(self) -> None:
        self._kube_down = True
        self.kube.stop()

    def _start_kube(self) -> None:
        if self._kube_down:
            self.kube.start()
            self._kube_down = False

    def settle(self) -> None:
        """Everything back: the API server up, every connection restored, every
        replica running (continued if frozen, restarted if it exited)."""
        self._start_kube()
        for replica in self.replicas:
            replica.proxy.restore()
            replica.send(signal.SIGCONT)
            if not replica.alive():
                replica.start()
