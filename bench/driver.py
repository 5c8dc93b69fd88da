"""The controller under measurement, as its own process: ``python -m bench.driver``.

It builds exactly what ``edgio-ingress run`` builds (the informers of `KubeCluster`, a
`ProviderCache` over `VultrDns` and `EdgioCdn`, the `Loop` that runs `run_once`), with
two differences a benchmark needs: the providers' pace is a setting (so the initial
convergence of 10,000 routes does not take hours at Edgio's one request per 1.2 s, and
the edit scenario can switch the real pace on), and passes can be run on demand and
timed. It runs in a process of its own so that its CPU time and peak RSS are its own,
not the emulators', and it does not share a GIL with them.

Commands arrive as JSON lines on stdin and each gets one JSON line on stdout:
``start``, ``loop_start``, ``loop_stop``, ``pass``, ``list_alone``, ``pace``, ``idle``,
``stats``, ``memory``, ``quit``. The environment carries the emulators' addresses and
credentials under the names ``edgio-sandbox up --env-file`` writes.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from reconciler.cluster.config import api_client
from reconciler.cluster.kube import KubeCluster
from reconciler.controller.cache import ProviderCache
from reconciler.controller.loop import Loop, LoopOptions
from reconciler.controller.observability import configure_logging
from reconciler.controller.sync import PassSettings
from reconciler.derive.desired import Settings
from reconciler.providers.edgio import EdgioCdn
from reconciler.providers.vultr import VultrDns

# The providers' documented pace: Edgio's SDKs one request per 1.2 s (bursts of 5, as
# the controller's default), Vultr 30 requests/s (the controller keeps 20/s, bursts of 5).
REAL_PACE = {"edgio": (1 / 1.2, 5), "vultr": (20.0, 5)}
# Emulator speed: pacing that never waits, so a run measures our own cost.
FAST_PACE = {"edgio": (1e6, 1_000_000), "vultr": (1e6, 1_000_000)}
OWNER = "bench"


def peak_rss_mb() -> float:
    """Peak resident set size of this process (VmHWM), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Driver:
    """The controller's parts, and the commands that measure them."""

    def __init__(self, env: dict[str, str], pace: dict[str, tuple[float, int]]):
        self.env = env
        zone = env["EDGIO_INGRESS_DNS_ZONE"]
        self.zone = zone
        self.shortname = env["EDGIO_INGRESS_SHORTNAME"]
        self.cluster = KubeCluster(api_client(env["KUBECONFIG"]))
        self.cache = ProviderCache(*self._clients(pace), resync=600.0)
        core = Settings(
            owner_id=OWNER,
            zones=(zone,),
            default_shortname=self.shortname,
            default_origin_hostname=f"origin.{zone}",
            ttl=60,
            node_address_type="ExternalIP",
        )
        self.settings = PassSettings(core, (self.shortname,))
        self.loop: Loop | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._profile = os.environ.get("BENCH_PROFILE_DIR")
        self._lock = threading.Lock()
        self._running = 0
        self._passes = 0
        self._ended = time.monotonic()

    def _clients(self, pace: dict[str, tuple[float, int]]) -> tuple[VultrDns, EdgioCdn]:
        vultr_rate, vultr_burst = pace["vultr"]
        edgio_rate, edgio_burst = pace["edgio"]
        dns = VultrDns(
            self.env["VULTR_API_KEY"],
            base_url=self.env["VULTR_API_URL"],
            rate=vultr_rate,
            burst=int(vultr_burst),
        )
        cdn = EdgioCdn(
            self.env["EDGIO_API_USER"],
            self.env["EDGIO_API_SHARED_KEY"],
            base_url=self.env["EDGIO_API_URL"],
            rate=edgio_rate,
            burst=int(edgio_burst),
        )
        return dns, cdn

    # --- commands ---------------------------------------------------------------------

    def start(self, args: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        self.cluster.start()
        synced = self.cluster.wait_synced(float(args.get("timeout", 300)))
        return {"synced": synced, "seconds": time.monotonic() - started}

    def loop_start(self, args: dict[str, Any]) -> dict[str, Any]:
        """The loop as `run` runs it: wake-ups debounced, a full pass every interval."""
        options = LoopOptions(
            interval=float(args.get("interval", 60.0)), debounce=float(args.get("debounce", 0.5))
        )
        self.loop = Loop(self.cluster, self.cache, self.settings, options)
        setattr(self.loop, "run_pass", self._tracked(self.loop.run_pass))  # noqa: B010
        self.cluster.wake = self.loop.wake
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.loop.run, args=(self._stop,), daemon=True)
        self._thread.start()
        self.loop.wake()
        return {}

    def _tracked(self, run_pass: Callable[..., Any]) -> Callable[..., Any]:
        """The loop's passes, counted, so the benchmark can tell when the loop is idle."""

        def tracked(*, full: bool = False) -> Any:
            with self._lock:
                self._running += 1
            try:
                return run_pass(full=full)
            finally:
                with self._lock:
                    self._running -= 1
                    self._passes += 1
                    self._ended = time.monotonic()

        return tracked

    def idle(self, args: dict[str, Any]) -> dict[str, Any]:
        """Whether a pass runs now, how many ran, and how long ago the last one ended."""
        with self._lock:
            return {
                "running": self._running > 0,
                "passes": self._passes,
                "since_last": time.monotonic() - self._ended,
            }

    def loop_stop(self, args: dict[str, Any]) -> dict[str, Any]:
        """Stop the loop after its current pass, so passes can be run and timed alone."""
        self._stop.set()
        if self.loop is not None:
            self.loop.wake()
        if self._thread is not None:
            self._thread.join(timeout=float(args.get("timeout", 600)))
        self.cluster.wake = lambda: None
        self.cluster.flush_events(float(args.get("timeout", 600)))  # sent in the background
        return {"stopped": self._thread is None or not self._thread.is_alive()}

    def run_pass(self, args: dict[str, Any]) -> dict[str, Any]:
        """One pass, as the loop runs it, timed by wall clock and by this process's CPU."""
        loop = self.loop or Loop(self.cluster, self.cache, self.settings, LoopOptions())
        full = bool(args.get("full", False))
        profiler = self._profiler()
        wall, cpu = time.perf_counter(), time.process_time()
        result = loop.run_pass(full=full)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        self.cluster.flush_events(600.0)  # its Events belong to it, not to what comes next
        if profiler is not None:
            self._save_profile(profiler, str(args.get("label", "pass")))
        ready = sum(
            1
            for status in result.statuses.values()
            for c in status.get("conditions") or []
            if c["type"] == "Ready" and c["status"] == "True"
        )
        return {
            "wall": wall,
            "cpu": cpu,
            "pass_ok": result.ok,
            "changes": len(result.plan.changes),
            "routes": len(result.statuses),
            "ready": ready,
        }

    def list_alone(self, args: dict[str, Any]) -> dict[str, Any]:
        """The actual state read alone: one listing of the zone and one of the account,
        through the same clients, nothing else. The yardstick of a re-list pass."""
        wall, cpu = time.perf_counter(), time.process_time()
        records = self.cache.dns.inner.list_records(self.zone)
        rules = self.cache.cdn.inner.list_rules(self.shortname)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return {"wall": wall, "cpu": cpu, "records": len(records), "rules": len(rules)}

    def pace(self, args: dict[str, Any]) -> dict[str, Any]:
        """New clients at another pace; the cache (and what it holds) is kept.

        Clients of one endpoint share one token bucket, and the slowest pace asked for
        wins, so this only ever slows down: the scenarios switch to the real pace last.
        """
        chosen = REAL_PACE if args.get("real") else FAST_PACE
        dns, cdn = self._clients(chosen)
        self.cache.dns.inner = dns
        self.cache.cdn.inner = cdn
        return {}

    def stats(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"peak_rss_mb": peak_rss_mb(), "cpu": time.process_time()}

    def memory(self, args: dict[str, Any]) -> dict[str, Any]:
        """Where the live memory was allocated (BENCH_TRACEMALLOC=1), biggest first."""
        import tracemalloc

        if not tracemalloc.is_tracing():
            return {"top": []}
        stats = tracemalloc.take_snapshot().statistics("lineno")
        top = [f"{s.size / 2**20:.1f} MiB {s.traceback}" for s in stats[: int(args.get("n", 20))]]
        current, peak = tracemalloc.get_traced_memory()
        return {"top": top, "traced_mb": current / 2**20, "traced_peak_mb": peak / 2**20}

    # --- profiling (optional: pyinstrument from bench/requirements.txt) -----------------

    def _profiler(self) -> Any:
        if not self._profile:
            return None
        try:
            from pyinstrument import Profiler
        except ImportError:
            return None
        profiler = Profiler(interval=0.001)
        profiler.start()
        return profiler

    def _save_profile(self, profiler: Any, label: str) -> None:
        profiler.stop()
        assert self._profile is not None
        path = os.path.join(self._profile, f"{label}.txt")
        with open(path, "w") as out:
            out.write(profiler.output_text(unicode=False, color=False, show_all=False))


def main() -> None:
    if os.environ.get("BENCH_TRACEMALLOC"):
        import tracemalloc

        tracemalloc.start()
    configure_logging("json", os.environ.get("BENCH_LOG_LEVEL", "warning"))
    env = dict(os.environ)
    pace = REAL_PACE if env.get("BENCH_PACE") == "real" else FAST_PACE
    driver = Driver(env, pace)
    commands = {
        "start": driver.start,
        "loop_start": driver.loop_start,
        "loop_stop": driver.loop_stop,
        "pass": driver.run_pass,
        "list_alone": driver.list_alone,
        "pace": driver.pace,
        "stats": driver.stats,
        "memory": driver.memory,
        "idle": driver.idle,
    }
    for line in sys.stdin:
        message = json.loads(line)
        name = message.get("cmd")
        if name == "quit":
            break
        try:
            answer = {"ok": True, **commands[name](message)}
        except Exception as error:  # report, keep serving: the bench decides what to do
            answer = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    driver.loop_stop({"timeout": 30})
    driver.cluster.stop.set()


if __name__ == "__main__":
    main()
