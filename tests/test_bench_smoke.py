"""The benchmark harness works end to end on a tiny workload (performance is measured by
`make bench`, never asserted here): the controller process converges, a wake-up pass
makes no call at all, a re-list pass only lists, and the report renders."""

from __future__ import annotations

from pathlib import Path

from bench import report
from bench.scenarios import Process, Run
from bench.world import Workload, World, counting, wait_for


def test_the_controller_converges_and_a_noop_pass_costs_nothing(tmp_path: Path) -> None:
    workload = Workload(routes=6, nodes=2)
    with World(tmp_path, workload) as world:
        world.seed()
        controller = Process("bench.driver", world, {"BENCH_PACE": "fast"}, "controller")
        try:
            assert controller.cmd("start", timeout=60)["synced"]
            with counting(world) as initial:
                controller.cmd("loop_start", timeout=60)
                assert wait_for(lambda: world.ready_routes() == 6, 30.0, 0.05)
                controller.cmd("loop_stop", timeout=60)
            assert initial.edgio["POST /config-api/v1/svcinst/delivery"] == workload.rule_count()
            with counting(world) as wakeup:
                answer = controller.cmd("pass", timeout=60)
            assert answer["changes"] == 0
            assert wakeup.provider_total() == 0 and wakeup.kube_writes() == 0
            with counting(world) as relist:
                controller.cmd("pass", full=True, timeout=60)
            listed = {**relist.vultr, **relist.edgio}
            assert listed and all(label.startswith("GET ") for label in listed)  # lists only
            everything = {i: workload.paths(i) for i in range(6)}
            assert world.wrong_routes(everything, set()) == 0
        finally:
            controller.close()


def test_the_report_renders_every_scenario() -> None:
    ours, seed = Run(), Run()
    for key in ("initial_provider_calls", "noop_relist_wall_s", "list_alone_wall_s", "rss_mb"):
        ours.add(key, 2.0)
        ours.add(key, 3.0)
    seed.add("resync_provider_calls", 40.0)
    seed.detail["events"] = 5
    keys = report.controller_keys(ours)
    keys.update(nodes=3, edit_count=0, baseline=report.seed_keys(seed, 10))
    meta = {
        "date": "today",
        "commit": "abc",
        "cores": 2,
        "cpu": "cpu",
        "memory_gib": 1.0,
        "python": "3.11",
        "load_average": [1.0],
        "load_average_start": [1.0],
        "repeats": "2",
        "seed_events": 5,
    }
    text = report.markdown({"meta": meta, "10": keys}, "(kube)", quick=True)
    assert "## 6. Against the seed's algorithm" in text
    assert "2.500 (2.000-3.000)" in text  # a median with its spread
    assert keys["baseline"]["quiet_hour_provider_calls"] == 40.0 * 10 / 4


def test_sections_recorded_by_others_are_kept() -> None:
    text = "# Benchmark results\n\n## 1. Ours\n\nold\n\n## Fault campaign\n\n| a |\n\n## Other\n"
    assert report.kept_sections(text) == "## Fault campaign\n\n| a |\n"
