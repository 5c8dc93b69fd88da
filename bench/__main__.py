"""Run the benchmarks and write bench/RESULTS.md and bench/results.json:
``python -m bench [--quick] [--sizes 100,1000] [--profile DIR]``.

The controller's scenarios at N = 100, 1,000 and 10,000 routes (`bench.scenarios`),
the seed's algorithm on the same workloads, then the Kubernetes emulator's own
throughput (`bench.kube_bench`). `--quick` is a smoke run with small sizes, under a
minute, writing the same files.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from bench import kube_bench, markdown_table, report
from bench.scenarios import Plan, Run, run_controller, run_seed

# N -> nodes; 3 to 50 nodes, growing with the cluster.
FULL = {100: 3, 1000: 10, 10000: 50}
QUICK = {20: 3, 50: 3}


def plans(quick: bool, sizes: dict[int, int], profile: str | None) -> list[tuple[Plan, int]]:
    """Each size's plan and how many whole runs of it to take the median over."""
    found = []
    for routes, nodes in sizes.items():
        if quick:
            plan = Plan(
                routes, nodes, repeats=1, node_changes=1, edits=3, seed_events=routes, settle_s=1.0
            )
            found.append((plan, 1))
        elif routes >= 10000:  # convergence takes minutes here: fewer repetitions, one run
            plan = Plan(
                routes,
                nodes,
                repeats=2,
                node_changes=1,
                edits=50,
                seed_events=200,
                profile_dir=profile,
            )
            found.append((plan, 1))
        else:  # one run: the repetitions are inside it
            found.append((Plan(routes, nodes, repeats=3, edits=50, profile_dir=profile), 1))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--sizes", help="comma-separated N, e.g. 100,1000 (nodes as usual)")
    parser.add_argument("--profile", metavar="DIR", help="pyinstrument profiles of passes")
    parser.add_argument("--no-kube", action="store_true", help="skip the emulator's own bench")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.sizes:
        wanted = [int(x) for x in args.sizes.split(",")]
        sizes = {n: {**FULL, **QUICK}.get(n, 3 if n < 1000 else 10) for n in wanted}
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
    started = time.monotonic()
    load = [round(x, 2) for x in os.getloadavg()]
    results: dict[str, Any] = {}
    seed_events = 0
    for plan, runs in plans(args.quick, sizes, args.profile):
        seed_events = plan.seed_events
        print(f"N = {plan.routes}: controller x{runs} ...", file=sys.stderr, flush=True)
        ours = report.merge([run_controller(plan) for _ in range(runs)])
        print(f"N = {plan.routes}: seed's algorithm ...", file=sys.stderr, flush=True)
        seed: Run = run_seed(plan)
        keys = report.controller_keys(ours)
        keys["edit_count"] = len(ours.detail.get("edit_latencies_s") or [])
        keys["nodes"] = plan.nodes
        keys["runs"] = runs
        keys["baseline"] = report.seed_keys(seed, plan.routes)
        results[str(plan.routes)] = keys
        print(f"N = {plan.routes}: done at {time.monotonic() - started:.0f} s", file=sys.stderr)
    kube_table = "(skipped)" if args.no_kube else markdown_table(kube_bench.run(args.quick))
    meta = report.machine()
    meta["load_average_start"] = load
    meta["seconds"] = round(time.monotonic() - started, 1)
    meta["seed_events"] = seed_events
    meta["repeats"] = (
        "1 run per size, 1 no-op pass of each kind and 1 join/leave, 3 edits"
        if args.quick
        else "one run per size. At N <= 1,000: 3 "
        "no-op passes of each kind, 3 joins and 3 leaves, 50 edits; at 10,000: 2 no-op "
        "passes of each kind, 1 join and 1 leave, 50 edits (convergence takes minutes there)"
    )
    results = {"meta": meta, **results}
    report.write(results, kube_table, args.quick)
    print(f"wrote bench/RESULTS.md and bench/results.json in {meta['seconds']} s", file=sys.stderr)


if __name__ == "__main__":
    main()
