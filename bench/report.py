"""Turn the runs into `bench/results.json` and `bench/RESULTS.md`.

Every number is the median over repetitions, with the spread (min-max) beside it. The
seed's algorithm runs on at most `Plan.seed_events` Ingresses; its counts are scaled to
N, which is exact for the calls an ADDED event makes (the same for every event), and
said so in the table.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.scenarios import Run

HERE = Path(__file__).resolve().parent
QUIET_HOUR_PASSES = 60  # `--interval` 60 s
QUIET_HOUR_RELISTS = 6  # `--provider-resync` 10 m
# Sections of RESULTS.md recorded by other tools or by hand: kept as they are.
KEPT_SECTIONS = (
    "## Where the time goes",
    "## Fault campaign",
    "## The real kube-apiserver tier (etcd + kube-apiserver 1.34.4)",
)
Obj = dict[str, Any]


def machine() -> Obj:
    """What the numbers were measured on, and how busy it was."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d"),
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(memory, 1),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "commit": _commit(),
    }


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=HERE,
            timeout=10,
        )
        return out.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def med(values: Sequence[float] | None) -> float | None:
    return statistics.median(values) if values else None


def spread(values: Sequence[float] | None) -> list[float] | None:
    return [min(values), max(values)] if values else None


def merge(runs: Sequence[Run]) -> Run:
    """Several runs of one size as one: values concatenated, details from the first."""
    merged = Run()
    for run in runs:
        for key, values in run.values.items():
            merged.values.setdefault(key, []).extend(values)
        merged.timeouts.extend(run.timeouts)
        for key, value in run.detail.items():
            merged.detail.setdefault(key, value)
    return merged


def controller_keys(run: Run) -> Obj:
    v = run.values
    relist = med(v.get("noop_relist_wall_s"))
    alone = med(v.get("list_alone_wall_s"))
    wakeup_calls = med(v.get("noop_wakeup_provider_calls")) or 0.0
    relist_calls = med(v.get("noop_relist_provider_calls")) or 0.0
    writes = [
        a + b
        for a, b in zip(
            v.get("noop_wakeup_provider_writes", []),
            v.get("noop_relist_provider_writes", []),
            strict=False,
        )
    ]
    kube = [
        a + b
        for a, b in zip(
            v.get("noop_wakeup_kube_writes", []), v.get("noop_relist_kube_writes", []), strict=False
        )
    ]
    listing = run.detail.get("noop_relist_calls_by_method") or {}
    pages_edgio = sum((listing.get("edgio") or {}).values())
    pages_vultr = sum((listing.get("vultr") or {}).values())
    paced = pages_edgio * 1.2 + pages_vultr / 30.0
    ours = (relist or 0.0) - (alone or 0.0)
    keys: Obj = {
        "noop_provider_writes": med(writes),
        "noop_kube_writes": med(kube),
        "noop_wakeup_provider_calls": med(v.get("noop_wakeup_provider_calls")),
        "noop_relist_provider_calls": med(v.get("noop_relist_provider_calls")),
        "noop_time_ratio_to_list": relist / alone if relist and alone else None,
        # the same pass with the listing at the documented pace (steady state, no burst)
        "noop_time_ratio_to_list_documented": (paced + ours) / paced if paced else None,
        "edit_p50_s": med(v.get("edit_p50_s")),
        "edit_p95_s": med(v.get("edit_p95_s")),
        "node_join_dns_writes": med(v.get("node_join_dns_writes")),
        "node_leave_dns_writes": med(v.get("node_leave_dns_writes")),
        "origin_empty_s": med(v.get("origin_empty_s")),
        "initial_provider_calls": med(v.get("initial_provider_calls")),
        "rss_mb": med(v.get("rss_mb")),
        "quiet_hour_provider_calls": QUIET_HOUR_RELISTS * relist_calls
        + (QUIET_HOUR_PASSES - QUIET_HOUR_RELISTS) * wakeup_calls,
    }
    for key in (
        "initial_wall_s",
        "initial_documented_s",
        "noop_wakeup_wall_s",
        "noop_wakeup_cpu_s",
        "noop_relist_wall_s",
        "noop_relist_cpu_s",
        "list_alone_wall_s",
        "noop_wakeup_kube_calls",
        "noop_relist_kube_calls",
        "node_join_provider_calls",
        "node_leave_provider_calls",
        "node_join_kube_writes",
        "node_leave_kube_writes",
        "wrong_routes_after_changes",
    ):
        keys[key] = med(v.get(key))
    keys["spread"] = {key: spread(values) for key, values in sorted(v.items())}
    keys["detail"] = run.detail
    keys["timeouts"] = run.timeouts
    return keys


def seed_keys(run: Run, routes: int) -> Obj:
    """The seed's numbers, scaled from the events it handled to N."""
    v = run.values
    events = int(run.detail.get("events") or routes)
    scale = routes / events
    resync_events = max(1, events - 1)  # one Ingress was deleted before the resync
    resync_scale = routes / resync_events

    def scaled(key: str, factor: float) -> float | None:
        value = med(v.get(key))
        return None if value is None else value * factor

    episodes = float(run.detail.get("origin_empty_episodes") or 0)
    resync_calls = scaled("resync_provider_calls", resync_scale)
    return {
        "noop_provider_writes": scaled("resync_provider_writes", resync_scale),
        "noop_kube_writes": med(v.get("resync_kube_writes")),
        "noop_wakeup_provider_calls": None,  # it has no wake-ups: quiet means no calls
        "noop_relist_provider_calls": resync_calls,
        "noop_time_ratio_to_list": None,
        "edit_p50_s": None,  # MODIFIED events are not acted on: never
        "edit_p95_s": None,
        "node_join_dns_writes": med(v.get("node_join_dns_writes")),
        "node_leave_dns_writes": med(v.get("node_leave_dns_writes")),
        "origin_empty_s": scaled("origin_empty_s", scale),
        "origin_empty_documented_s": episodes * scale / 30.0,
        "resync_origin_empty_documented_s": (routes - 1) / 30.0,
        "initial_provider_calls": scaled("initial_provider_calls", scale),
        "initial_wall_s": scaled("initial_wall_s", scale),
        "initial_documented_s": scaled("initial_documented_s", scale),
        "rss_mb": med(v.get("rss_mb")),
        "quiet_hour_provider_calls": resync_calls,
        "resync_documented_s": scaled("resync_documented_s", resync_scale),
        "wrong_routes_initial": scaled("wrong_routes_initial", scale),
        "wrong_routes_after_node_leave": scaled("wrong_routes_after_node_leave", scale),
        "wrong_routes_after_edit": med(v.get("wrong_routes_after_edit")),
        "wrong_routes_after_deletion": med(v.get("wrong_routes_after_deletion")),
        "events_run": events,
        "scale": scale,
        "spread": {key: spread(values) for key, values in sorted(v.items())},
        "detail": run.detail,
        "timeouts": run.timeouts,
    }


def write(results: Obj, kube_table: str, quick: bool) -> None:
    (HERE / "results.json").write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    target = HERE / "RESULTS.md"
    kept = kept_sections(target.read_text() if target.exists() else "")
    text = markdown(results, kube_table, quick)
    target.write_text(text.rstrip() + "\n" + ("\n" + kept if kept else ""))


def kept_sections(text: str) -> str:
    """The sections of an existing RESULTS.md this generator does not write (the fault
    campaign's table, the emulator's analysis), verbatim, in their order."""
    kept: list[str] = []
    keeping = False
    for line in text.splitlines():
        if line.startswith("## "):
            keeping = line.strip() in KEPT_SECTIONS
        if keeping:
            kept.append(line)
    return "\n".join(kept).rstrip() + "\n" if kept else ""


# --- Markdown -------------------------------------------------------------------------------


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and digits == 0 and value == int(value):
        return f"{int(value):,}"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}"
    return str(value)


def _cell(keys: Obj, key: str, digits: int = 0) -> str:
    value = keys.get(key)
    text = _num(value, digits)
    rng = (keys.get("spread") or {}).get(key)
    if rng and rng[0] != rng[1]:
        text += f" ({_num(rng[0], digits)}-{_num(rng[1], digits)})"
    return text


def _ratio(seed: float | None, ours: float | None) -> str:
    if seed is None or ours is None:
        return "-"
    if ours == 0:
        return "ours 0" if seed else "both 0"
    return f"{seed / ours:,.0f}x"


def markdown(results: Obj, kube_table: str, quick: bool) -> str:
    meta = results["meta"]
    sizes = [k for k in results if k != "meta"]
    head = "| | " + " | ".join(f"N = {int(n):,}" for n in sizes) + " |"
    rule = "|---|" + "---:|" * len(sizes)

    def row(label: str, key: str, digits: int = 0, who: str = "controller") -> str:
        cells = []
        for n in sizes:
            keys = results[n] if who == "controller" else results[n]["baseline"]
            cells.append(_cell(keys, key, digits))
        return f"| {label} | " + " | ".join(cells) + " |"

    def line(label: str, values: list[str]) -> str:
        return f"| {label} | " + " | ".join(values) + " |"

    nodes = ", ".join(f"{int(n):,}: {results[n]['nodes']}" for n in sizes)
    out = [
        "# Benchmark results",
        "",
        "Generated by `make bench` (`python -m bench"
        + (" --quick" if quick else "")
        + "`); do not edit by hand: notes live in `bench/NOTES.md` and are copied below.",
        "",
        f"- Date {meta['date']}, commit `{meta['commit']}`.",
        f"- Machine: {meta['cores']} cores, {meta['cpu']}, {meta['memory_gib']} GiB RAM, "
        f"Python {meta['python']}. Load average at the start {meta['load_average_start']}, "
        f"at the end {meta['load_average']} ({_load_note(meta)}).",
        f"- Workload: N Ingresses labelled `cdn: edgio` over 50 namespaces, every other one "
        f"with two paths (1.5 Edgio rules per Ingress), up to 20 NodePort Services per "
        f"namespace; nodes per N: {nodes}.",
        "- The controller runs as its own process (`bench/driver.py`: the same caches, "
        "provider cache, loop and `run_once` as `edgio-ingress run`); the emulators run in "
        "the benchmark process and count every call on their side.",
        "- Each value is the median, with min-max in brackets when repetitions differ. "
        f"Repetitions: {meta['repeats']}.",
        "",
        "## 1. Initial convergence",
        "",
        "Emulator speed (our clients' pacing switched off), until every EdgioRoute is Ready. "
        "'At documented pace' is the time the same provider calls take one after another at "
        "Edgio's 1 request / 1.2 s and Vultr's 30/s.",
        "",
        head,
        rule,
        row("wall time, s", "initial_wall_s", 1),
        row("provider calls", "initial_provider_calls"),
        row("at documented pace, s", "initial_documented_s"),
        row("seed: provider calls (scaled to N)", "initial_provider_calls", who="seed"),
        row("seed: at documented pace, s", "initial_documented_s", who="seed"),
        row(
            "seed: routes wrong when done (second path never created)",
            "wrong_routes_initial",
            who="seed",
        ),
        "",
        "Provider calls by method (controller):",
        "",
    ]
    for n in sizes:
        by = results[n]["detail"].get("initial_calls_by_method", {})
        kube = results[n]["detail"].get("initial_kube_calls_by_method", {})
        out.append(f"- N = {int(n):,}: {_methods(by)}; Kubernetes: {_plain(kube)}")
    out += [
        "",
        "## 2. No-op pass",
        "",
        "Nothing changed since the last pass. A wake-up pass plans against the provider "
        "cache; a re-list pass lists every zone and account again (`full=True`, what a "
        "`--provider-resync` expiry or `run --once` does). Wall and CPU time are the "
        "controller process's; 'list alone' is one listing of the zone and the account "
        "through the same clients and nothing else.",
        "",
        head,
        rule,
        row("wake-up: wall, s", "noop_wakeup_wall_s", 3),
        row("wake-up: CPU, s", "noop_wakeup_cpu_s", 3),
        row("wake-up: provider calls (target 0)", "noop_wakeup_provider_calls"),
        row("wake-up: Kubernetes API calls", "noop_wakeup_kube_calls"),
        row("re-list: wall, s", "noop_relist_wall_s", 3),
        row("re-list: CPU, s", "noop_relist_cpu_s", 3),
        row("re-list: provider calls (list calls only)", "noop_relist_provider_calls"),
        row("re-list: Kubernetes API calls", "noop_relist_kube_calls"),
        row("list alone: wall, s", "list_alone_wall_s", 3),
        row("re-list / list alone, emulator speed (target <= 1.5)", "noop_time_ratio_to_list", 2),
        row(
            "re-list / list alone, listing at documented pace",
            "noop_time_ratio_to_list_documented",
            2,
        ),
        row("provider writes, both passes (target 0)", "noop_provider_writes"),
        row("Kubernetes writes, both passes (target 0)", "noop_kube_writes"),
        "",
    ]
    for n in sizes:
        by = results[n]["detail"].get("noop_relist_calls_by_method", {})
        out.append(f"- Re-list calls by method, N = {int(n):,}: {_methods(by)}")
    out += [
        "",
        "## 3. One edit",
        "",
        "An Ingress path changed through the API; measured until the new rule exists in the "
        "Edgio emulator (its create finished, server side). The providers' real pace is on "
        "(Edgio 1 request / 1.2 s, bursts of 5; Vultr 20/s), `--interval` 60 s, debounce "
        "0.5 s; each edit 0-0.5 s after the loop went idle from the previous one.",
        "",
        head,
        rule,
        row("edits", "edit_count"),
        row("p50, s", "edit_p50_s", 2),
        row("p95, s (target < 2 at N >= 1,000)", "edit_p95_s", 2),
        line("seed", ["never (MODIFIED is ignored)"] * len(sizes)),
        "",
        "## 4. Node change",
        "",
        "A Node joins, then leaves, with the loop running. The origin name is checked "
        "after every write the Vultr emulator serves, over the whole phase.",
        "",
        head,
        rule,
        row("DNS writes per join (target 1)", "node_join_dns_writes"),
        row("DNS writes per leave (target 1)", "node_leave_dns_writes"),
        row("provider calls per join", "node_join_provider_calls"),
        row("Kubernetes writes per join", "node_join_kube_writes"),
        row("seconds the origin had no A record (target 0)", "origin_empty_s", 3),
        row("seed: DNS writes per join (it never follows)", "node_join_dns_writes", who="seed"),
        "",
        "## 5. Memory",
        "",
        head,
        rule,
        row("peak RSS of the controller, MB (target < 300 at 10,000)", "rss_mb"),
        row("seed's process, MB", "rss_mb", who="seed"),
        "",
        "## 6. Against the seed's algorithm",
        "",
        "`bench/seed_algorithm.py` re-implements the seed demo (for each ADDED Ingress: list "
        "the zone, delete every A record of the origin, create one per node, create the "
        "rule; nothing else). It runs on the same workloads, on at most "
        f"{meta['seed_events']:,} Ingresses; its per-event calls are the same for every "
        "event, so its counts are scaled to N. A quiet hour is, for ours, 60 passes of "
        "which 6 re-list (`--interval` 60 s, `--provider-resync` 10 m); for the seed, one "
        "resync of its watch.",
        "",
        head + " ratio at largest N |",
        rule + "---:|",
    ]
    last = sizes[-1]

    def compare(label: str, ours_key: str, seed_key: str, digits: int = 0) -> str:
        cells = []
        for n in sizes:
            ours = _num(results[n].get(ours_key), digits)
            seed = _num(results[n]["baseline"].get(seed_key), digits)
            cells.append(f"{ours} vs {seed}")
        ratio = _ratio(results[last]["baseline"].get(seed_key), results[last].get(ours_key))
        return f"| {label} | " + " | ".join(cells) + f" | {ratio} |"

    out += [
        compare(
            "initial convergence: provider calls (ours vs seed)",
            "initial_provider_calls",
            "initial_provider_calls",
        ),
        compare(
            "provider calls per quiet hour",
            "quiet_hour_provider_calls",
            "quiet_hour_provider_calls",
        ),
        compare("provider writes per quiet hour", "noop_provider_writes", "noop_provider_writes"),
        compare(
            "provider calls to take one node change into DNS (seed: its next resync)",
            "node_join_provider_calls",
            "noop_relist_provider_calls",
        ),
        compare(
            "seconds the origin resolved to nothing, at documented pace, per resync",
            "origin_empty_s",
            "resync_origin_empty_documented_s",
            1,
        ),
        compare(
            "routes left wrong after a node leaves",
            "wrong_routes_after_changes",
            "wrong_routes_after_node_leave",
        ),
        compare(
            "routes left wrong after an edit",
            "wrong_routes_after_changes",
            "wrong_routes_after_edit",
        ),
        compare(
            "routes left wrong after a deletion",
            "wrong_routes_after_changes",
            "wrong_routes_after_deletion",
        ),
        "",
        "The origin's empty seconds for ours are measured (all phases); the seed's are its "
        "resync's events times one Vultr request interval (1/30 s) from the last DELETE to "
        "the first POST; at emulator speed the seed's origin was empty "
        + ", ".join(
            f"{_num(results[n]['baseline'].get('origin_empty_s'), 3)} s at N = {int(n):,}"
            for n in sizes
        )
        + " during initial convergence. 'Routes left wrong' for ours counts every route "
        "after all the node changes, 50 edits and a deletion had settled.",
        "",
    ]
    timeouts = [
        (n, t) for n in sizes for t in results[n]["timeouts"] + results[n]["baseline"]["timeouts"]
    ]
    if timeouts:
        out += ["## Timeouts", ""] + [f"- N = {int(n):,}: {t}" for n, t in timeouts] + [""]
    notes = HERE / "NOTES.md"
    if notes.exists():
        out += [notes.read_text().rstrip(), ""]
    out += ["## Kubernetes API emulator", "", kube_table, ""]
    return "\n".join(out)


def _load_note(meta: Obj) -> str:
    """Whether other work shared the machine: a one-minute load above the core count."""
    busiest = max(meta["load_average_start"][0], meta["load_average"][0])
    if busiest > meta["cores"]:
        return "other work shared the machine: timings are noisy"
    return "no other work ran beside it"


def _methods(by: Obj) -> str:
    parts = []
    for provider, calls in by.items():
        for label, n in calls.items():
            parts.append(f"{provider} `{label}` {n:,}")
    return ", ".join(parts) or "none"


def _plain(calls: Obj) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in calls.items()) or "none"
