"""The controller's scenarios, and the seed's algorithm on the same workloads.

One `run_controller` builds a sandbox of N routes, starts the controller process
(`bench.driver`) and walks it through initial convergence, no-op passes (wake-up and
re-list), node joins and leaves, edits at the providers' real pace and a deletion,
reading every number from the emulators' side. `run_seed` does the same to the seed's
algorithm (`bench.seed_algorithm`), where the scenario applies to it.

Every wait is bounded: a scenario that does not finish in its time records what it saw
and says so (`timeouts`), it never hangs the run.
"""

from __future__ import annotations

import json
import random
import select
import signal
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.world import Calls, Workload, World, counting, spawn, wait_for

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Plan:
    """How much of each scenario to run at one size."""

    routes: int
    nodes: int
    repeats: int = 3  # no-op passes of each kind per run
    node_changes: int = 3  # joins, and as many leaves, per run
    edits: int = 50
    seed_events: int = 300  # the seed's algorithm: events handled (extrapolated beyond)
    converge_timeout: float = 600.0
    settle_s: float = 1.0  # the loop is idle once no pass started for this long (debounce 0.5)
    profile_dir: str | None = None


@dataclass
class Run:
    """What one run of one size measured; lists hold one value per repetition."""

    values: dict[str, list[float]] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    timeouts: list[str] = field(default_factory=list)

    def add(self, key: str, value: float) -> None:
        self.values.setdefault(key, []).append(value)


class Process:
    """A JSON-lines child process with a deadline on every answer."""

    def __init__(self, module: str, world: World, extra_env: dict[str, str], name: str):
        self.log = world.workdir / f"{name}.log"
        self.proc = spawn(module, {**world.env(), **extra_env}, self.log)

    def cmd(self, name: str, timeout: float = 600.0, **args: Any) -> Obj:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"cmd": name, **args}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError(f"{name}: no answer within {timeout} s")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{name}: the process ended; see {self.log}")
        answer: Obj = json.loads(line)
        if not answer.get("ok"):
            raise RuntimeError(f"{name}: {answer.get('error')}")
        return answer

    def peak_rss_mb(self) -> float:
        try:
            with open(f"/proc/{self.proc.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                if self.proc.stdin is not None:
                    self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                    self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()


def quiet(world: World, seconds: float = 1.0, timeout: float = 120.0) -> bool:
    """Wait until the emulators have served nothing for `seconds` (the loop is idle)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = sum(world.vultr.calls().values()), sum(world.edgio.calls().values())
        kube_before = sum(n for (m, _), n in world.kube.calls().items() if m != "GET")
        time.sleep(seconds)
        after = sum(world.vultr.calls().values()), sum(world.edgio.calls().values())
        kube_after = sum(n for (m, _), n in world.kube.calls().items() if m != "GET")
        if before == after and kube_before == kube_after:
            return True
    return False


def settle(controller: Process, quiet_for: float = 1.5, timeout: float = 300.0) -> bool:
    """Wait until the controller's loop is idle: no pass running and none started for
    `quiet_for` seconds (longer than the debounce, so a pass woken by the last pass's own
    writes would have started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = controller.cmd("idle", timeout=30)
        if not state["running"] and state["since_last"] >= quiet_for:
            return True
        time.sleep(0.1)
    return False


# --- the controller ------------------------------------------------------------------------


def run_controller(plan: Plan) -> Run:
    run = Run()
    workload = Workload(plan.routes, plan.nodes)
    with (
        tempfile.TemporaryDirectory(prefix="edgio-bench-") as tmp,
        World(Path(tmp), workload) as world,
    ):
        world.seed()
        extra = {"BENCH_PACE": "fast", "BENCH_LOG_LEVEL": "info"}
        if plan.profile_dir:
            extra["BENCH_PROFILE_DIR"] = plan.profile_dir
        controller = Process("bench.driver", world, extra, "controller")
        try:
            _controller_scenarios(plan, world, controller, run)
        finally:
            run.add("rss_mb", controller.peak_rss_mb())
            controller.close()
    return run


def _controller_scenarios(plan: Plan, world: World, controller: Process, run: Run) -> None:
    n, rules = plan.routes, world.workload.rule_count()
    synced = controller.cmd("start")
    run.detail["informer_sync_s"] = synced["seconds"]

    # 1. initial convergence: the loop as `run` runs it, until every route is Ready
    with counting(world) as calls:
        started = time.monotonic()
        controller.cmd("loop_start", interval=60.0)
        if not wait_for(lambda: world.ready_routes() >= n, plan.converge_timeout, 0.25):
            run.timeouts.append(f"initial convergence: {world.ready_routes()}/{n} Ready")
        run.add("initial_wall_s", time.monotonic() - started)
        settle(controller, plan.settle_s)
    _calls(run, "initial", calls)
    run.add("initial_provider_calls", calls.provider_total())
    run.add("initial_documented_s", calls.documented_seconds())
    run.detail["rules"] = rules
    run.add("rss_after_convergence_mb", controller.peak_rss_mb())
    controller.cmd("loop_stop")

    # 2. no-op passes: on the provider cache, and with every zone and account listed again
    for repeat in range(plan.repeats):
        for kind, full in (("wakeup", False), ("relist", True)):
            with counting(world) as calls:
                answer = controller.cmd("pass", full=full, label=f"{kind}-{n}-{repeat}")
            run.add(f"noop_{kind}_wall_s", answer["wall"])
            run.add(f"noop_{kind}_cpu_s", answer["cpu"])
            run.add(f"noop_{kind}_provider_calls", calls.provider_total())
            run.add(f"noop_{kind}_provider_writes", calls.provider_writes())
            run.add(f"noop_{kind}_kube_calls", calls.kube_total())
            run.add(f"noop_{kind}_kube_writes", calls.kube_writes())
            _calls(run, f"noop_{kind}", calls)
        alone = controller.cmd("list_alone")
        run.add("list_alone_wall_s", alone["wall"])
        run.add("list_alone_cpu_s", alone["cpu"])

    # 4. node changes, with the loop running: writes per change, origin never empty
    controller.cmd("loop_start", interval=60.0)
    settle(controller, plan.settle_s)
    world.vultr.reset_origin_watch()
    for _ in range(plan.node_changes):
        for change in ("join", "leave"):
            with counting(world) as calls:
                address = world.join_node() if change == "join" else world.leave_node()
                present = change == "join"

                def followed(address: str = address, present: bool = present) -> bool:
                    return (address in world.vultr.origin_addresses()) == present

                if not wait_for(followed, 300.0):
                    run.timeouts.append(f"node {change}: origin did not follow")
                settle(controller, plan.settle_s)
            run.add(f"node_{change}_dns_writes", calls.vultr_writes())
            run.add(f"node_{change}_provider_calls", calls.provider_total())
            run.add(f"node_{change}_kube_writes", calls.kube_writes())
    empty, episodes = world.vultr.origin_empty()
    run.add("origin_empty_s", empty)
    run.detail["origin_empty_episodes"] = episodes

    # 3. edits at the providers' real pace, `--interval` 60 s: path change -> new rule
    controller.cmd("pace", real=True)
    settle(controller, plan.settle_s)
    chooser = random.Random(12)
    edited: dict[int, tuple[str, ...]] = {}
    latencies = []
    for edit in range(plan.edits):
        index = chooser.randrange(n)
        path = f"/r{index}/edit-{edit}"
        started = time.monotonic()
        world.edit_path(index, path)

        def landed(path: str = path) -> bool:
            return world.edgio.created(path) is not None

        if not wait_for(landed, 120.0, 0.005):
            run.timeouts.append(f"edit {edit}: no new rule within 120 s")
            continue
        latencies.append((world.edgio.created(path) or started) - started)
        edited[index] = (path,)
        settle(controller, plan.settle_s)  # the old rule goes, statuses are written
        time.sleep(chooser.random() / 2)  # and the next edit comes at no fixed phase
    run.detail["edit_latencies_s"] = [round(x, 3) for x in latencies]
    if latencies:
        run.add("edit_p50_s", _percentile(latencies, 50))
        run.add("edit_p95_s", _percentile(latencies, 95))

    # deletion, at the real pace too
    deleted = chooser.randrange(n)
    while deleted in edited:
        deleted = (deleted + 1) % n
    world.delete_ingress(deleted)
    old_paths = set(world.workload.paths(deleted))

    def gone() -> bool:
        return not any(
            (i.get("body") or {}).get("publishedUrlPath") in old_paths
            for i in world.edgio.instances()
        )

    if not wait_for(gone, 120.0, 0.1):
        run.timeouts.append("deletion: rules still there after 120 s")
    settle(controller, plan.settle_s)
    expected = {i: edited.get(i, world.workload.paths(i)) for i in range(n) if i != deleted}
    run.add("wrong_routes_after_changes", world.wrong_routes(expected, {deleted}))


def _calls(run: Run, prefix: str, calls: Calls) -> None:
    """Calls by method, kept from the first repetition (they do not vary)."""
    run.detail.setdefault(f"{prefix}_calls_by_method", calls.by_method())
    run.detail.setdefault(f"{prefix}_kube_calls_by_method", dict(sorted(calls.kube.items())))


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[rank]


# --- the seed's algorithm -------------------------------------------------------------------


def run_seed(plan: Plan) -> Run:
    """The seed's algorithm on the first `seed_events` Ingresses of the workload (all of
    them when N is smaller); counts are scaled to N in the report, since each ADDED
    event costs the same calls whatever N is."""
    run = Run()
    events = min(plan.routes, plan.seed_events)
    workload = Workload(events, plan.nodes)
    run.detail["events"] = events
    with (
        tempfile.TemporaryDirectory(prefix="edgio-bench-") as tmp,
        World(Path(tmp), workload) as world,
    ):
        world.seed()
        seed = Process("bench.seed_algorithm", world, {}, "seed")
        try:
            _seed_scenarios(plan, world, seed, run, events)
        finally:
            run.add("rss_mb", seed.peak_rss_mb())
            seed.proc.send_signal(signal.SIGTERM)
            try:
                seed.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                seed.proc.kill()
                seed.proc.wait()
    return run


def _posts(world: World) -> int:
    return sum(n for (m, _), n in world.edgio.calls().items() if m == "POST")


def _seed_scenarios(plan: Plan, world: World, seed: Process, run: Run, events: int) -> None:
    # 1. initial convergence: one rule per Ingress, the last call of each event
    with counting(world) as calls:
        started = time.monotonic()
        if not wait_for(lambda: _posts(world) >= events, plan.converge_timeout, 0.05):
            run.timeouts.append(f"seed convergence: {_posts(world)}/{events} events")
        run.add("initial_wall_s", time.monotonic() - started)
    _calls(run, "initial", calls)
    run.add("initial_provider_calls", calls.provider_total())
    run.add("initial_documented_s", calls.documented_seconds())
    empty, episodes = world.vultr.origin_empty()
    run.add("origin_empty_s", empty)
    run.detail["origin_empty_episodes"] = episodes
    everything = {i: world.workload.paths(i) for i in range(events)}
    run.add("wrong_routes_initial", world.wrong_routes(everything, set()))

    # 4. node changes: the seed watches no Nodes; count what it writes anyway
    for change in ("join", "leave"):
        with counting(world) as calls:
            world.join_node() if change == "join" else world.leave_node()
            quiet(world, plan.settle_s / 2)
        run.add(f"node_{change}_dns_writes", calls.vultr_writes())
    world.leave_node()  # a node of the original set leaves: the origin now holds a dead one
    quiet(world, plan.settle_s / 2)
    run.add("wrong_routes_after_node_leave", world.wrong_routes(everything, set()))

    # 3. an edit and a deletion: MODIFIED and DELETED are not acted on
    index = 1 % events
    world.edit_path(index, f"/r{index}/edited")
    deleted = 2 % events
    world.delete_ingress(deleted)
    quiet(world, plan.settle_s / 2)
    edited = {**everything, index: (f"/r{index}/edited",)}
    del edited[deleted]
    nodes_fixed = world.vultr.origin_addresses() == world.ready_addresses()
    run.detail["origin_follows_nodes"] = nodes_fixed
    wrong_edit = _wrong_one(world, everything, index, f"/r{index}/edited")
    wrong_delete = any(
        (i.get("body") or {}).get("publishedUrlPath") in world.workload.paths(deleted)
        for i in world.edgio.instances()
    )
    run.add("wrong_routes_after_edit", float(wrong_edit))
    run.add("wrong_routes_after_deletion", float(wrong_delete))

    # 2. the quiet hour's resync: the watch starts over and every Ingress is ADDED again
    world.vultr.reset_origin_watch()
    before = _posts(world)
    remaining = events - 1  # one Ingress was deleted
    with counting(world) as calls:
        started = time.monotonic()
        world.kube.drop_streams()
        if not wait_for(lambda: _posts(world) - before >= remaining, plan.converge_timeout, 0.05):
            run.timeouts.append(f"seed resync: {_posts(world) - before}/{remaining} events")
        run.add("resync_wall_s", time.monotonic() - started)
        quiet(world, plan.settle_s / 3)
    _calls(run, "resync", calls)
    run.add("resync_provider_calls", calls.provider_total())
    run.add("resync_provider_writes", calls.provider_writes())
    run.add("resync_kube_calls", calls.kube_total())
    run.add("resync_kube_writes", calls.kube_writes())
    run.add("resync_documented_s", calls.documented_seconds())
    empty, _ = world.vultr.origin_empty()
    run.add("resync_origin_empty_s", empty)


def _wrong_one(world: World, everything: dict[int, tuple[str, ...]], index: int, path: str) -> bool:
    """The edited route is wrong unless a rule for its new path exists."""
    del everything
    return not any(
        (i.get("body") or {}).get("publishedUrlPath") == path for i in world.edgio.instances()
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
