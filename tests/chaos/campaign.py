"""The fault campaign: seeded random runs of the real controller process against the
sandbox emulators while they misbehave, the process killed with SIGKILL and restarted.

One run (`run(seed)`):
1. a cluster with three nodes, a few Edgio Ingresses, and someone else's DNS record and
   Edgio rule; the controller converges it once, so there is something to lose;
2. chaos: faults drawn from the seed are installed on the three emulators (5xx on 30 %
   of calls, 429 storms with and without Retry-After, latency, connection resets, writes
   whose answer is lost, dropped watches, Kubernetes 500s and 409s, compacted history),
   the cluster changes under it (a path added, a node cordoned, an Ingress added), and the
   process is SIGKILLed at random moments, some of them right after a provider write,
   then restarted;
3. the faults stop; the run converges within three passes of the live process.
All along a sampler reads the providers every few milliseconds. The outcome counts
duplicate A records and rules, foreign objects changed, owned objects lost (a rule of a
route that never changed is deleted or replaced) and moments the origin had no record.

`python -m tests.chaos.campaign --runs 200` prints the outcome table; the CI-sized
campaign in tests/chaos/test_campaign.py runs a few seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
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
from edgio_sandbox.kube import KubeEmulator
from edgio_sandbox.vultr import VultrEmulator

Obj = dict[str, Any]
BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
ZONE, SHORTNAME = "example.com", "exampleco"
HOST = f"{SHORTNAME}.s.llnwi.net"
FOREIGN_RECORD = ("www", "A", "192.0.2.80")
FOREIGN_PATH = "/theirs"
WRITES = ("POST", "PUT", "PATCH", "DELETE")
CONVERGE_PASSES = 3


@dataclass
class Outcome:
    seed: int
    faults: list[str] = field(default_factory=list)
    kills: int = 0
    converged: bool = False
    passes: int = 0  # passes of the live process from the end of the faults to convergence
    duplicates: int = 0
    foreign_changed: int = 0
    owned_lost: int = 0
    origin_empty: int = 0  # samples at which the origin name had no A record
    samples: int = 0
    seconds: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        return (
            self.converged
            and self.passes <= CONVERGE_PASSES
            and not (self.duplicates or self.foreign_changed or self.owned_lost)
            and not self.origin_empty
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


# --- the controller process ------------------------------------------------------------------


class Controller:
    """`edgio-ingress run` as a child process whose log is read to count passes."""

    def __init__(self, env: dict[str, str], home: Path):
        self.env, self.home = env, home
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []
        self.kills = 0

    def start(self) -> None:
        log = self.home / f"controller-{len(self.logs)}.log"
        self.logs.append(log)
        argv = [
            str(BIN / "edgio-ingress"), "run", "--interval", "1s", "--no-leader-elect",
            "--owner-id", "chaos", "--metrics-addr", "0", "--health-addr", "0",
        ]  # fmt: skip
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                argv, env=self.env, stdout=subprocess.DEVNULL, stderr=out
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def passes(self) -> int:
        """Passes the live process has finished."""
        if not self.logs:
            return 0
        count = 0
        for line in self.logs[-1].read_text(errors="replace").splitlines():
            try:
                count += json.loads(line).get("event") == "pass"
            except (json.JSONDecodeError, AttributeError):
                continue
        return count


def _wait(probe: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(step)
    return probe()


def _kill_after_a_write(controller: Controller, emulators: list[Any], timeout: float) -> None:
    """SIGKILL right after the next provider write: between it and the status write."""
    before = _writes(emulators)
    _wait(lambda: _writes(emulators) > before, timeout, step=0.002)
    controller.kill()


def _writes(emulators: list[Any]) -> int:
    return sum(n for e in emulators for (m, _), n in e.calls().items() if m in WRITES)


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
            "KUBECONFIG": str(kube.kubeconfig(self.home / "kubeconfig")),
            **vultr.env(),
            **edgio.env(),
        }
        controller = Controller(env, self.home)
        foreign = self._foreign(vultr, edgio)
        try:
            controller.start()
            if not _wait(lambda: self._converged(kube, vultr, edgio), 60):
                raise RuntimeError("the first convergence did not happen")
            with Sampler(vultr, edgio, stable={"/stable"}) as sampler:
                self._chaos(kube, vultr, edgio, controller)
                self._settle(kube, vultr, edgio, controller)
                sampler.sample()
            self._judge(sampler, controller, foreign, vultr, edgio)
        finally:
            controller.stop()

    def _seed_cluster(self, kube: KubeEmulator, vultr: VultrEmulator, edgio: EdgioEmulator) -> None:
        kube.seed(yaml.safe_load((REPO / "crds" / "edgioroute.yaml").read_text()))
        for index in range(1, 4):
            kube.seed(node(f"n{index}", f"203.0.113.{index}"))
        kube.seed(service("web"))
        kube.seed(ingress("stable", "/stable"))
        kube.seed(ingress("moving", "/a"))
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
        self, kube: KubeEmulator, vultr: VultrEmulator, edgio: EdgioEmulator, ctl: Controller
    ) -> None:
        rnd = self.rnd
        modes = _provider_faults(rnd, vultr) + _provider_faults(rnd, edgio)
        modes += _kube_faults(rnd, kube)
        self.outcome.faults = modes
        changes = [
            lambda: kube.seed(ingress("moving", "/a", "/b")),
            lambda: kube.seed(node("n2", "203.0.113.2", schedulable=False)),
            lambda: kube.seed(ingress("late", "/late")),
            lambda: kube.seed(node("n4", "203.0.113.4")),
        ]
        rnd.shuffle(changes)
        deadline = time.monotonic() + self.chaos_seconds
        kills = rnd.randint(1, 3)
        while time.monotonic() < deadline or changes or kills:
            time.sleep(rnd.uniform(0.1, self.chaos_seconds / 4))
            _kube_storms(modes, kube, rnd)
            if changes and rnd.random() < 0.6:
                changes.pop()()
            if kills and rnd.random() < 0.5:
                kills -= 1
                if rnd.random() < 0.5:
                    _kill_after_a_write(ctl, [vultr, edgio], timeout=2.0)
                else:
                    ctl.kill()
                ctl.start()
        self.outcome.kills = ctl.kills

    def _settle(
        self, kube: KubeEmulator, vultr: VultrEmulator, edgio: EdgioEmulator, ctl: Controller
    ) -> None:
        for emulator in (kube, vultr, edgio):
            emulator.faults.clear()
        start = ctl.passes()
        self.outcome.converged = _wait(lambda: self._converged(kube, vultr, edgio), 90)
        self.outcome.passes = max(ctl.passes() - start, 0)

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
        wanted_paths = {
            p["path"]
            for i in kube.list("networking.k8s.io/v1", "Ingress")
            for p in i["spec"]["rules"][0]["http"]["paths"]
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
            and len(routes) == 3 - ("late" not in {r["metadata"]["name"] for r in routes})
            and ready
        )

    def _judge(
        self,
        sampler: Sampler,
        ctl: Controller,
        foreign: tuple[Obj, Obj],
        vultr: VultrEmulator,
        edgio: EdgioEmulator,
    ) -> None:
        out = self.outcome
        out.samples, out.origin_empty = sampler.samples, sampler.origin_empty
        out.duplicates = sampler.duplicates
        out.owned_lost = len(sampler.lost)
        record, rule = self._foreign_now(vultr, edgio)
        out.foreign_changed = (record != foreign[0]) + (rule != foreign[1])

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


def run(seed: int, home: Path, chaos_seconds: float = 3.0) -> Outcome:
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
        f"| SIGKILLs | {sum(o.kills for o in outcomes)} |",
        f"| duplicate A records or rules (sampled) | {sum(o.duplicates for o in outcomes)} |",
        f"| foreign objects changed | {sum(o.foreign_changed for o in outcomes)} |",
        f"| owned objects lost or replaced | {sum(o.owned_lost for o in outcomes)} |",
        f"| samples with an empty origin / samples | "
        f"{sum(o.origin_empty for o in outcomes)} / {sum(o.samples for o in outcomes)} |",
        f"| runs that broke (harness error) | {sum(bool(o.error) for o in outcomes)} |",
        f"| seconds per run (median) | {_median([o.seconds for o in outcomes])} |",
        "",
        "| fault mode | runs | all invariants held |",
        "|---|---|---|",
    ]
    modes = Counter(m for o in outcomes for m in o.faults)
    for mode in sorted(modes):
        held = sum(o.ok for o in outcomes if mode in o.faults)
        lines.append(f"| {mode} | {modes[mode]} | {held} |")
    return "\n".join(lines)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--chaos-seconds", type=float, default=3.0)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/edgio-ingress-chaos"))
    parser.add_argument("--journal", type=Path, help="append every outcome here as JSON lines")
    parser.add_argument("--table-from", type=Path, help="print the table of a journal and exit")
    args = parser.parse_args(argv)
    if args.table_from:
        outcomes = read_journal(args.table_from)
        print(table(outcomes))
        return 0 if all(o.ok for o in outcomes) else 1
    seeds = list(range(args.first_seed, args.first_seed + args.runs))
    outcomes = campaign(seeds, args.dir, args.jobs, args.chaos_seconds, args.journal)
    print(table(outcomes))
    for outcome in outcomes:
        if not outcome.ok:
            print(f"seed {outcome.seed}: {asdict(outcome)}", file=sys.stderr)
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
