"""The fault campaign: seeded random runs of the real controller processes against the
sandbox emulators while they misbehave, while leadership is taken from them, while they
are signalled and restarted.

One run (`run(seed)`):
1. a cluster with three nodes, a few Edgio Ingresses, and someone else's DNS record and
   Edgio rule; two `edgio-ingress run` replicas (leader election on, each reaching the
   API server through its own cuttable proxy) converge it, so there is something to lose;
2. chaos: faults drawn from the seed are installed on the three emulators (5xx on 30 %
   of calls, 429 storms with and without Retry-After, latency, connection resets, writes
   whose answer is lost, dropped watches, Kubernetes 500s and 409s, compacted history);
   one or two leadership faults hit whichever replica leads (tests/chaos/leadership.py:
   its API-server connection cut and restored, SIGTERM or SIGKILL mid-pass, SIGSTOP past
   the lease duration, a clock minutes off, the API server restarted); the cluster
   changes under them (a path added, a node cordoned, an Ingress and a node added); a
   `run --once` starts beside them; a replica may be SIGKILLed and restarted;
3. the faults stop; the run converges within three passes of the live replicas.
All along a sampler reads the providers every few milliseconds. The outcome counts
duplicate A records and rules, foreign objects changed, owned objects lost (a rule of a
route that never changed is deleted or replaced) and moments the origin had no record;
and tests/chaos/checker.py judges every provider write of the run against the Lease
terms the API server recorded: each inside a term of its own writer, never two writers
in one term, never a Lease taken from a live holder.

`python -m tests.chaos.campaign --runs 200` prints the outcome table; the CI-sized
campaign in tests/chaos/test_campaign.py runs a few seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.httpbase import Write
from edgio_sandbox.kube import KubeEmulator
from edgio_sandbox.kube.leases import LeaseWrite
from edgio_sandbox.vultr import VultrEmulator
from tests.chaos import leadership
from tests.chaos.checker import Verdict, check
from tests.chaos.leadership import LEASE, Event, Leadership
from tests.chaos.processes import LIBFAKETIME, Controller, skewed

Obj = dict[str, Any]
REPO = Path(__file__).resolve().parents[2]
ZONE, SHORTNAME = "example.com", "exampleco"
HOST = f"{SHORTNAME}.s.llnwi.net"
FOREIGN_RECORD = ("www", "A", "192.0.2.80")
FOREIGN_PATH = "/theirs"
CONVERGE_PASSES = 3
TRICKLE_AFTER = 8.0  # seconds of changes after the last fault ended
ONCE_SECONDS = 60.0  # a `run --once` still running this long after the faults is stuck


@dataclass
class Outcome:
    seed: int
    faults: list[str] = field(default_factory=list)
    kills: int = 0  # SIGKILLs
    sigterms: int = 0
    sigstops: int = 0
    converged: bool = False
    passes: int = 0  # passes of the live replicas from the end of the faults to convergence
    duplicates: int = 0
    foreign_changed: int = 0
    owned_lost: int = 0
    origin_empty: int = 0  # samples at which the origin name had no A record
    samples: int = 0
    terms: int = 0  # lease terms, one per holder in turn
    outside: int = 0  # provider writes outside a lease term of their writer
    shared: int = 0  # terms (or stretches with no holder) in which two processes wrote
    stolen: int = 0  # Leases taken before the last holder's could have expired
    findings: list[str] = field(default_factory=list)  # the first violations, in words
    seconds: float = 0.0
    error: str = ""

    @property
    def one_writer(self) -> bool:
        return not (self.outside or self.shared or self.stolen)

    @property
    def ok(self) -> bool:
        return (
            self.converged
            and self.passes <= CONVERGE_PASSES
            and not (self.duplicates or self.foreign_changed or self.owned_lost)
            and not self.origin_empty
            and self.one_writer
            and not self.error
        )


# --- the cluster ----------------------------------------------------------------------------


def node(name: str, address: str, schedulable: bool = True) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name},
        "spec": {"unschedulable": not schedulable},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "ExternalIP", "address": address}],
        },
    }


def service(name: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80, "targetPort": 80}]},
    }


def ingress(name: str, *paths: str) -> Obj:
    backend = {"service": {"name": "web", "port": {"name": "http"}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": "default", "labels": {"cdn": "edgio"}},
        "spec": {
            "rules": [
                {
                    "host": HOST,
                    "http": {
                        "paths": [
                            {"path": p, "pathType": "Exact", "backend": backend} for p in paths
                        ]
                    },
                }
            ]
        },
    }


# --- faults -------------------------------------------------------------------------------


def _provider_faults(rnd: random.Random, target: VultrEmulator | EdgioEmulator) -> list[str]:
    name = target.name
    modes = rnd.sample(["5xx", "429", "429-retry-after", "latency", "reset", "lost"], k=2)
    for mode in modes:
        if mode == "5xx":
            target.faults.add(status=rnd.choice([500, 502, 503]), rate=0.3)
        elif mode == "429":
            target.faults.add(status=429, rate=0.4)
        elif mode == "429-retry-after":
            target.faults.add(status=429, rate=0.4, retry_after="1")
        elif mode == "latency":
            target.faults.add(status=None, delay=rnd.uniform(0.05, 0.2), rate=0.3)
        elif mode == "reset":
            target.faults.add(status=None, reset=True, rate=0.15)
        else:  # the write is applied, its answer is lost
            method = rnd.choice(["POST", "PATCH" if name == "vultr" else "PUT", "DELETE"])
            lost = {"reset": True} if rnd.random() < 0.5 else {"status": 503}
            target.faults.add(method=method, after=True, rate=0.4, **lost)
    return [f"{name}:{m}" for m in modes]


def _kube_faults(rnd: random.Random, kube: KubeEmulator) -> list[str]:
    modes = rnd.sample(["500", "409", "watch-drop", "compact"], k=2)
    for mode in modes:
        if mode == "500":
            kube.faults.add(status=500, rate=0.2)
        elif mode == "409":
            kube.faults.add(status=409, method=rnd.choice(["PUT", "PATCH"]), rate=0.3)
    return [f"kube:{m}" for m in modes]


def _kube_storms(modes: list[str], kube: KubeEmulator, rnd: random.Random) -> None:
    """The periodic Kubernetes faults: watches cut, history compacted."""
    if "kube:watch-drop" in modes and rnd.random() < 0.5:
        kube.drop_streams()
    if "kube:compact" in modes and rnd.random() < 0.5:
        kube.compact()
        kube.drop_streams()


# --- watching the providers -----------------------------------------------------------------


class Sampler:
    """Reads the providers every few milliseconds and remembers what must never happen."""

    def __init__(self, vultr: VultrEmulator, edgio: EdgioEmulator, stable: set[str]):
        self.vultr, self.edgio, self.stable = vultr, edgio, stable
        self.samples = 0
        self.origin_empty = 0
        self.duplicates = 0
        self.lost: set[str] = set()
        self._uuids: dict[str, str] = {}  # path of a stable route -> the uuid it first had
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.sample()

    def sample(self) -> None:
        records = self.vultr.records(ZONE)
        rules = self.edgio.instances(SHORTNAME)
        self.samples += 1
        if not [r for r in records if r["name"] == "origin" and r["type"] == "A"]:
            self.origin_empty += 1
        self.duplicates += _duplicates(records, rules)
        by_path = {i["body"]["publishedUrlPath"]: i["uuid"] for i in rules}
        for path in self.stable:
            first = self._uuids.setdefault(path, by_path.get(path, ""))
            if first and by_path.get(path) != first:
                self.lost.add(path)


def _duplicates(records: list[Obj], rules: list[Obj]) -> int:
    a = Counter((r["name"], r["data"]) for r in records if r["type"] == "A")
    paths = Counter((i["body"]["publishedHostname"], i["body"]["publishedUrlPath"]) for i in rules)
    return sum(n - 1 for n in a.values() if n > 1) + sum(n - 1 for n in paths.values() if n > 1)


def _wait(probe: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(step)
    return probe()


# --- one run ---------------------------------------------------------------------------------


@contextmanager
def _world(seed: int) -> Iterator[tuple[KubeEmulator, VultrEmulator, EdgioEmulator]]:
    with (
        KubeEmulator(seed=seed) as kube,
        VultrEmulator(zones=(ZONE,), seed=seed) as vultr,
        EdgioEmulator(shortnames=(SHORTNAME,), seed=seed) as edgio,
    ):
        yield kube, vultr, edgio


class Run:
    def __init__(self, seed: int, home: Path, chaos_seconds: float):
        self.seed, self.home, self.chaos_seconds = seed, home, chaos_seconds
        self.rnd = random.Random(seed)
        self.outcome = Outcome(seed)
        self.began = time.time()  # findings give times from here

    def execute(self) -> Outcome:
        started = time.monotonic()
        try:
            with _world(self.seed) as (kube, vultr, edgio):
                self._go(kube, vultr, edgio)
        except Exception as error:  # a run that breaks is an outcome, not a crash
            self.outcome.error = f"{type(error).__name__}: {error}"[:300]
        self.outcome.seconds = round(time.monotonic() - started, 1)
        return self.outcome

    def _go(self, kube: KubeEmulator, vultr: VultrEmulator, edgio: EdgioEmulator) -> None:
        self._seed_cluster(kube, vultr, edgio)
        env = {
            **{k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
            **vultr.env(),
            **edgio.env(),
        }
        modes, skew = leadership.draw(self.rnd)
        replicas = [
            Controller("a", env, self.home, kube.port),
            Controller("b", skewed(env, skew) if skew else env, self.home, kube.port),
        ]
        once = Controller("once", env, self.home, kube.port, once=True)
        lead = Leadership(self.rnd, kube, replicas, lambda: _provider_writes(vultr, edgio))
        foreign = self._foreign(vultr, edgio)
        try:
            for replica in replicas:
                replica.start()
            if not _wait(lambda: self._converged(kube, vultr, edgio), 60):
                raise RuntimeError("the first convergence did not happen")
            with Sampler(vultr, edgio, stable={"/stable"}) as sampler:
                self._chaos(kube, vultr, edgio, lead, modes, once)
                self._settle(kube, vultr, edgio, lead, once)
                sampler.sample()
            self._judge(sampler, foreign, kube, vultr, edgio, [*replicas, once])
        finally:
            for controller in [*replicas, once]:
                controller.stop()

    def _seed_cluster(self, kube: KubeEmulator, vultr: VultrEmulator, edgio: EdgioEmulator) -> None:
        kube.seed(yaml.safe_load((REPO / "crds" / "edgioroute.yaml").read_text()))
        for index in range(1, 4):
            kube.seed(node(f"n{index}", f"203.0.113.{index}"))
        kube.seed(service("web"))
        kube.seed(ingress("stable", "/stable"))
        kube.seed(ingress("moving", "/a"))
        kube.seed(ingress("flip", "/flip"))
        vultr.seed_record(ZONE, *FOREIGN_RECORD)
        edgio.seed_instance(
            SHORTNAME,
            {
                "publishedHostname": HOST,
                "publishedUrlPath": FOREIGN_PATH,
                "sourceHostname": "legacy.example.net",
                "protocolSets": [{"publishedProtocol": "http", "sourceProtocol": "http"}],
            },
        )

    @staticmethod
    def _foreign(vultr: VultrEmulator, edgio: EdgioEmulator) -> tuple[Obj, Obj]:
        record = next(r for r in vultr.records(ZONE) if r["name"] == FOREIGN_RECORD[0])
        rule = next(
            i for i in edgio.instances(SHORTNAME) if i["body"]["publishedUrlPath"] == FOREIGN_PATH
        )
        return record, rule

    def _chaos(
        self,
        kube: KubeEmulator,
        vultr: VultrEmulator,
        edgio: EdgioEmulator,
        lead: Leadership,
        lead_modes: list[str],
        once: Controller,
    ) -> None:
        """Every fault and change at its drawn moment; the leadership faults' ends (a
        connection restored, a process continued) are events too, so all have happened
        when this returns."""
        rnd, span = self.rnd, self.chaos_seconds
        modes = _provider_faults(rnd, vultr) + _provider_faults(rnd, edgio)
        modes += _kube_faults(rnd, kube)
        self.outcome.faults = modes + [f"lead:{m}" for m in lead_modes]
        changes = [
            lambda: kube.seed(ingress("moving", "/a", "/b")),
            lambda: kube.seed(node("n2", "203.0.113.2", schedulable=False)),
            lambda: kube.seed(ingress("late", "/late")),
            lambda: kube.seed(node("n4", "203.0.113.4")),
        ]
        events = [Event(rnd.uniform(0, span), change) for change in changes]
        events += [
            Event(rnd.uniform(0, span), lambda: _kube_storms(modes, kube, rnd)) for _ in range(3)
        ]
        events += [
            Event(rnd.uniform(0, span), lambda: self._kill_a_replica(lead))
            for _ in range(rnd.randint(0, 2))
        ]
        events.append(Event(rnd.uniform(0, span), once.start))
        events += lead.events(lead_modes, span)
        events += _trickle(kube, rnd, until=max(e.at for e in events) + TRICKLE_AFTER)
        began = time.monotonic()
        for event in sorted(events, key=lambda e: e.at):
            time.sleep(max(0.0, began + event.at - time.monotonic()))
            event.action()

    def _kill_a_replica(self, lead: Leadership) -> None:
        """The old crash fault: SIGKILL either replica (half of them right after one of
        its provider writes), and start it again."""
        victim = self.rnd.choice(lead.replicas)
        lead.signal_mid_pass(signal.SIGKILL, victim, mid_pass=self.rnd.random() < 0.5)

    def _settle(
        self,
        kube: KubeEmulator,
        vultr: VultrEmulator,
        edgio: EdgioEmulator,
        lead: Leadership,
        once: Controller,
    ) -> None:
        for emulator in (kube, vultr, edgio):
            emulator.faults.clear()
        lead.settle()
        if not once.wait(ONCE_SECONDS):
            self.outcome.findings.append(f"run --once still running {ONCE_SECONDS:.0f} s later")
            once.kill()
        start = [(len(r.logs), r.passes()) for r in lead.replicas]
        self.outcome.converged = _wait(lambda: self._converged(kube, vultr, edgio), 120)
        self.outcome.passes = sum(
            r.passes() - (passes if len(r.logs) == logs else 0)
            for r, (logs, passes) in zip(lead.replicas, start, strict=True)
        )

    def _converged(self, kube: KubeEmulator, vultr: VultrEmulator, edgio: EdgioEmulator) -> bool:
        nodes = kube.list("v1", "Node")
        wanted_a = sorted(
            n["status"]["addresses"][0]["address"]
            for n in nodes
            if not (n.get("spec") or {}).get("unschedulable")
        )
        records = vultr.records(ZONE)
        a = sorted(r["data"] for r in records if r["name"] == "origin" and r["type"] == "A")
        txt = [r for r in records if r["name"] == "a-origin"]
        svc = kube.get("v1", "Service", "web", "default") or {}
        port = svc["spec"]["ports"][0].get("nodePort")
        ingresses = kube.list("networking.k8s.io/v1", "Ingress")
        wanted_paths = {
            p["path"] for i in ingresses for p in i["spec"]["rules"][0]["http"]["paths"]
        }
        ours = {
            i["body"]["publishedUrlPath"]: i["body"]["protocolSets"][0].get("sourcePort")
            for i in edgio.instances(SHORTNAME)
            if i["body"]["publishedUrlPath"] != FOREIGN_PATH
        }
        routes = kube.list("cdn.edgio.io/v1alpha1", "EdgioRoute")
        ready = all(
            any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in (r.get("status") or {}).get("conditions") or []
            )
            for r in routes
        )
        return (
            a == wanted_a
            and len(txt) == 1
            and ours == dict.fromkeys(wanted_paths, port)
            and {r["metadata"]["name"] for r in routes}
            == {i["metadata"]["name"] for i in ingresses}
            and ready
        )

    def _judge(
        self,
        sampler: Sampler,
        foreign: tuple[Obj, Obj],
        kube: KubeEmulator,
        vultr: VultrEmulator,
        edgio: EdgioEmulator,
        controllers: list[Controller],
    ) -> None:
        out = self.outcome
        out.samples, out.origin_empty = sampler.samples, sampler.origin_empty
        out.duplicates = sampler.duplicates
        out.owned_lost = len(sampler.lost)
        record, rule = self._foreign_now(vultr, edgio)
        out.foreign_changed = (record != foreign[0]) + (rule != foreign[1])
        signals = Counter(s for c in controllers for s in c.signals)
        out.kills, out.sigterms, out.sigstops = (
            signals["SIGKILL"],
            signals["SIGTERM"],
            signals["SIGSTOP"],
        )
        history, writes = kube.leases.history(*LEASE), _provider_writes(vultr, edgio)
        verdict = check(history, writes)
        out.terms = len(verdict.terms)
        out.outside, out.shared, out.stolen = (
            len(verdict.outside),
            len(verdict.shared),
            len(verdict.stolen),
        )
        names = {i: f"{c.name}#{n}" for c in controllers for n, i in enumerate(c.identities)}
        out.findings += findings(verdict, names, self.began)
        self._record(history, writes, names)

    def _record(
        self, history: list[LeaseWrite], writes: list[Write], names: dict[str, str]
    ) -> None:
        """`timeline.txt` beside the processes' logs: every Lease write and provider
        write of the run in order, to read a finding against."""
        lines = [
            (w.at, f"lease  {names.get(w.holder, w.holder or '-'):8} rv={w.resource_version}")
            for w in history
        ]
        lines += [
            (
                w.started,
                f"write  {names.get(w.writer, w.writer):8} {w.method} {w.label} "
                f"{w.status} ({w.finished - w.started:.3f}s)",
            )
            for w in writes
        ]
        text = "".join(f"{at - self.began:8.3f} {line}\n" for at, line in sorted(lines))
        (self.home / "timeline.txt").write_text(text)

    @staticmethod
    def _foreign_now(vultr: VultrEmulator, edgio: EdgioEmulator) -> tuple[Obj | None, Obj | None]:
        record = next((r for r in vultr.records(ZONE) if r["name"] == FOREIGN_RECORD[0]), None)
        rule = next(
            (
                i
                for i in edgio.instances(SHORTNAME)
                if i["body"]["publishedUrlPath"] == FOREIGN_PATH
            ),
            None,
        )
        return record, rule


def _trickle(kube: KubeEmulator, rnd: random.Random, until: float) -> list[Event]:
    """A change every one to three seconds for as long as the faults last and a while
    after, alternately three paths of Ingress `flip` and node n3's cordon, so whoever
    leads has writes to make, several per pass (a process that lost the Lease shows only
    when it writes, and one stopped mid-pass only if the pass had writes left)."""
    changes = [
        lambda: kube.seed(ingress("flip", "/flip", "/flop", "/flap", "/flup")),
        lambda: kube.seed(node("n3", "203.0.113.3", schedulable=False)),
        lambda: kube.seed(ingress("flip", "/flip")),
        lambda: kube.seed(node("n3", "203.0.113.3")),
    ]
    events, at = [], rnd.uniform(1, 3)
    while at < until:
        events.append(Event(at, changes[len(events) % len(changes)]))
        at += rnd.uniform(1, 3)
    return events


def _provider_writes(vultr: VultrEmulator, edgio: EdgioEmulator) -> list[Write]:
    return vultr.writes() + edgio.writes()


def findings(verdict: Verdict, names: dict[str, str], began: float, most: int = 3) -> list[str]:
    """The first violations of each kind, in words: processes by name (`a#1` is the
    second process of replica a), times in seconds from the start of the run."""

    def who(identity: str) -> str:
        return names.get(identity, identity or "nobody")

    def when(moment: float) -> str:
        return f"{moment - began:.1f}s"

    def holder_at(moment: float) -> str:
        held = [t for t in verdict.terms if t.start <= moment < t.end]
        if not held:
            return "while nobody held the Lease"
        if moment > held[0].live_until(moment):
            return f"after the Lease of {who(held[0].holder)} expired"
        return f"while {who(held[0].holder)} held the Lease"

    found = [
        f"{w.method} {w.label} ({w.status}) by {who(w.writer)} at {when(w.started)}-"
        f"{when(w.finished)} {holder_at(w.started)}"
        for w in verdict.outside[:most]
    ]
    found += [
        f"{' and '.join(who(x) for x in s.writers)} wrote in the term of {who(s.holder)} "
        f"({when(s.start)} to {when(s.end)})"
        for s in verdict.shared[:most]
    ]
    found += [
        f"{who(s.holder)} took the Lease at {when(s.taken_at)} from {who(s.previous)}, "
        f"which had renewed it at {when(s.previous_renewal)} for {s.duration:.0f}s"
        for s in verdict.stolen[:most]
    ]
    return found


def run(seed: int, home: Path, chaos_seconds: float = 8.0) -> Outcome:
    home.mkdir(parents=True, exist_ok=True)
    return Run(seed, home, chaos_seconds).execute()


# --- the campaign ---------------------------------------------------------------------------


def _one(args: tuple[int, str, float]) -> Outcome:
    seed, root, chaos_seconds = args
    return run(seed, Path(root) / f"seed-{seed}", chaos_seconds)


def campaign(
    seeds: list[int], root: Path, jobs: int, chaos_seconds: float, journal: Path | None = None
) -> list[Outcome]:
    """Every seed, `jobs` at a time; each outcome is appended to `journal` as it comes,
    so a campaign cut short still leaves its runs behind (see --table-from)."""
    work = [(seed, str(root), chaos_seconds) for seed in seeds]
    outcomes: list[Outcome] = []
    with ProcessPoolExecutor(max_workers=max(jobs, 1)) as pool:
        for outcome in pool.map(_one, work):
            outcomes.append(outcome)
            if journal is not None:
                with journal.open("a") as out:
                    out.write(json.dumps(asdict(outcome)) + "\n")
    return outcomes


def read_journal(path: Path) -> list[Outcome]:
    return [Outcome(**json.loads(line)) for line in path.read_text().splitlines() if line]


def table(outcomes: list[Outcome]) -> str:
    """The outcome table: totals, then the runs by fault mode."""
    ok = [o for o in outcomes if o.ok]
    passes = Counter(o.passes for o in outcomes if o.converged)
    lines = [
        "| measure | value |",
        "|---|---|",
        f"| seeded runs | {len(outcomes)} |",
        f"| converged, nothing lost, every invariant held | {len(ok)} |",
        f"| converged within {CONVERGE_PASSES} passes after the faults stopped | "
        f"{sum(o.converged and o.passes <= CONVERGE_PASSES for o in outcomes)} |",
        "| passes to converge after the faults (count of runs) | "
        + ", ".join(f"{k}: {v}" for k, v in sorted(passes.items()))
        + " |",
        f"| SIGKILLs / SIGTERMs / SIGSTOPs | {sum(o.kills for o in outcomes)} / "
        f"{sum(o.sigterms for o in outcomes)} / {sum(o.sigstops for o in outcomes)} |",
        f"| lease terms (holders in turn) | {sum(o.terms for o in outcomes)} |",
        f"| runs with one writer at a time | {sum(o.one_writer for o in outcomes)} |",
        f"| provider writes outside a lease term of their writer | "
        f"{sum(o.outside for o in outcomes)} |",
        f"| lease terms in which two processes wrote | {sum(o.shared for o in outcomes)} |",
        f"| Leases taken from a live holder | {sum(o.stolen for o in outcomes)} |",
        f"| duplicate A records or rules (sampled) | {sum(o.duplicates for o in outcomes)} |",
        f"| foreign objects changed | {sum(o.foreign_changed for o in outcomes)} |",
        f"| owned objects lost or replaced | {sum(o.owned_lost for o in outcomes)} |",
        f"| samples with an empty origin / samples | "
        f"{sum(o.origin_empty for o in outcomes)} / {sum(o.samples for o in outcomes)} |",
        f"| runs that broke (harness error) | {sum(bool(o.error) for o in outcomes)} |",
        f"| seconds per run (median) | {_median([o.seconds for o in outcomes])} |",
        "",
        "| fault mode | runs | one writer at a time | all invariants held |",
        "|---|---|---|---|",
    ]
    modes = Counter(m for o in outcomes for m in o.faults)
    for mode in sorted(modes):
        runs = [o for o in outcomes if mode in o.faults]
        writer = sum(o.one_writer for o in runs)
        lines.append(f"| {mode} | {modes[mode]} | {writer} | {sum(o.ok for o in runs)} |")
    return "\n".join(lines)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--chaos-seconds", type=float, default=8.0, help="the window in which faults start"
    )
    parser.add_argument("--dir", type=Path, default=Path("/tmp/edgio-ingress-chaos"))
    parser.add_argument("--journal", type=Path, help="append every outcome here as JSON lines")
    parser.add_argument("--table-from", type=Path, help="print the table of a journal and exit")
    args = parser.parse_args(argv)
    if args.table_from:
        outcomes = read_journal(args.table_from)
        print(table(outcomes))
        return 0 if all(o.ok for o in outcomes) else 1
    if not LIBFAKETIME.exists():
        print(f"{LIBFAKETIME} missing: no clock-skew fault in this campaign", file=sys.stderr)
    seeds = list(range(args.first_seed, args.first_seed + args.runs))
    outcomes = campaign(seeds, args.dir, args.jobs, args.chaos_seconds, args.journal)
    print(table(outcomes))
    for outcome in outcomes:
        if not outcome.ok:
            print(f"seed {outcome.seed}: {asdict(outcome)}", file=sys.stderr)
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
