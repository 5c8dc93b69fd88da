"""What an operator sees of a running `edgio-ingress run`: every metric the README
documents on `/metrics`, the probes' answers, and logs that tell a pass. Two replicas
share the Lease: the standby is ready too, and only the leader says it leads."""

from __future__ import annotations

import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.kube import KubeEmulator
from edgio_sandbox.vultr import VultrEmulator
from tests.controller.conftest import SHORTNAME, ZONE, World, converged, ingress
from tests.support import REPO, eventually

pytestmark = pytest.mark.slow
ROUTE = "default/web"


def documented_metrics() -> list[str]:
    """The names in the README's Metrics table, in order."""
    text = (REPO / "README.md").read_text()
    section = text.split("### Metrics\n", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"^\| `(edgio_ingress_[a-z_]+)` \|", section, flags=re.M)


def get(url: str) -> tuple[int, str]:
    """What `curl -s -w '%{http_code}'` shows: the status and the body."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError:
        return 0, ""


def sample(text: str, name: str) -> float | None:
    match = re.search(rf"^{name} (\S+)$", text, flags=re.M)
    return float(match.group(1)) if match else None


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with (
        KubeEmulator() as kube,
        VultrEmulator(zones=(ZONE,)) as vultr,
        EdgioEmulator(shortnames=(SHORTNAME,)) as edgio,
    ):
        world = World(tmp_path, kube, vultr, edgio)
        try:
            yield world
        finally:
            world.stop_all()


def replica(world: World, port: int) -> None:
    """`edgio-ingress run` with metrics on `port` and probes on `port + 1`; the World's
    own `--metrics-addr 0 --health-addr 0` are overridden (the last flag wins)."""
    world.start(
        "--interval",
        "60s",
        "--metrics-addr",
        f"127.0.0.1:{port}",
        "--health-addr",
        f"127.0.0.1:{port + 1}",
    )


def free_pair() -> int:
    """A port whose successor is free too."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port
    raise RuntimeError("no two adjacent free ports")


def test_metrics_probes_and_logs_of_two_replicas(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress())
    ports = [free_pair(), free_pair()]
    for port in ports:
        replica(world, port)
    eventually(lambda: converged(world), timeout=30)

    def metrics(port: int) -> str:
        return get(f"http://127.0.0.1:{port}/metrics")[1]

    def leaders() -> list[float | None]:
        return [sample(metrics(port), "edgio_ingress_leader") for port in ports]

    eventually(lambda: sorted(leaders(), key=str) == [0.0, 1.0], timeout=20)
    for port in ports:  # the standby is alive, and ready once its caches are synced
        assert get(f"http://127.0.0.1:{port + 1}/healthz") == (200, "ok\n")
        eventually(lambda p=port: get(f"http://127.0.0.1:{p + 1}/readyz") == (200, "ok\n"))
        assert get(f"http://127.0.0.1:{port + 1}/nothing")[0] == 404

    leader = ports[leaders().index(1.0)]
    text = eventually(lambda: (t := metrics(leader)) and "edgio_ingress_routes{" in t and t)
    for name in documented_metrics():
        assert f"# TYPE {name} " in text, f"{name} not exported"
    exported = set(re.findall(r"^# TYPE (edgio_ingress_\w+) ", text, flags=re.M))
    created = {name for name in exported if name.endswith("_created")}  # prometheus_client's
    undocumented = exported - created - set(documented_metrics())
    assert not undocumented, f"exported but not in the README: {sorted(undocumented)}"
    assert (sample(text, "edgio_ingress_last_successful_pass_timestamp_seconds") or 0) > 0
    assert sample(text, "edgio_ingress_consecutive_failed_passes") == 0.0
    assert (sample(text, "edgio_ingress_pass_duration_seconds_count") or 0) >= 1
    assert 'edgio_ingress_routes{condition="Ready",reason="Published"} 1.0' in text
    assert re.search(
        r'edgio_ingress_changes_total\{action="create",kind="rule",'
        r'provider="edgio",result="ok"\} 1.0',
        text,
    )
    assert re.search(
        r'edgio_ingress_provider_calls_total\{operation="create_rule",'
        r'outcome="ok",provider="edgio"\} 1.0',
        text,
    )

    story(world.log_lines(ports.index(leader)))  # processes were started in port order


def story(lines: list[dict[str, Any]]) -> None:
    """The leader's log tells the pass: the route written, each provider call, a summary."""
    events = [line.get("event") for line in lines]
    assert "route write" in events
    writes = [
        line
        for line in lines
        if line.get("event") == "provider call" and line["operation"].startswith("create_")
    ]
    assert {w["operation"] for w in writes} == {"create_record", "create_rule"}
    for write in writes:
        assert {"provider", "operation", "outcome", "duration"} <= set(write)
    (rule,) = [w for w in writes if w["operation"] == "create_rule"]
    assert rule["route"] == ROUTE
    assert any(line.get("route") == ROUTE and line.get("event") == "route write" for line in lines)
    summary = next(line for line in lines if line.get("event") == "pass" and line.get("changes"))
    assert {"routes", "changes", "skipped", "duration"} <= set(summary)
    assert all({"timestamp", "level"} <= set(line) for line in lines)
