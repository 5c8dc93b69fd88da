"""Metrics and probes of a running controller, under the names dashboards rely on; and the
whole thing against `edgio-sandbox up`, configured from its env file alone."""

from __future__ import annotations

import signal
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.controller.conftest import BIN, World, converged, ingress, node
from tests.sandbox.process import started
from tests.support import CRD_FILE, EXAMPLES, eventually

pytestmark = pytest.mark.slow
METRICS = (
    "edgio_ingress_pass_duration_seconds_bucket",
    "edgio_ingress_last_successful_pass_timestamp_seconds",
    "edgio_ingress_consecutive_failed_passes",
    "edgio_ingress_changes_total",
    "edgio_ingress_routes",
    "edgio_ingress_leader",
    "edgio_ingress_cache_resyncs_total",
    "edgio_ingress_provider_calls_total",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError:
        return 0, ""


def test_metrics_and_probes(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress())
    metrics, health = free_port(), free_port()
    world.start(
        "--interval",
        "60s",
        "--metrics-addr",
        f"127.0.0.1:{metrics}",
        "--health-addr",
        f"127.0.0.1:{health}",
    )
    eventually(lambda: converged(world), timeout=20)
    assert get(f"http://127.0.0.1:{health}/healthz")[0] == 200
    assert get(f"http://127.0.0.1:{health}/readyz")[0] == 200
    published = 'edgio_ingress_routes{condition="Ready",reason="Published"} 1.0'

    def scraped() -> str | None:
        # The route's status is written during the pass, the gauges at its end: a scrape
        # right after the condition turns Ready can still see the previous pass.
        text = get(f"http://127.0.0.1:{metrics}/metrics")[1]
        return text if published in text else None

    text = eventually(scraped)
    for name in METRICS:
        assert name in text, name
    assert "edgio_ingress_leader 1.0" in text
    summary = [line for line in world.log_lines() if line.get("event") == "pass"]
    assert {"routes", "changes", "skipped", "duration"} <= set(summary[0])
    assert any(line.get("route") == "default/web" for line in world.log_lines())


def test_against_edgio_sandbox_up_with_its_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "sandbox.env"
    with started([str(BIN / "edgio-sandbox"), "up", "--env-file", str(env_file)]) as (up, info):
        env = dict(line.split("=", 1) for line in env_file.read_text().splitlines())

        def kubectl(*args: str) -> str:
            command = [str(BIN / "kubectl"), "--kubeconfig", info["kubeconfig"], *args]
            return subprocess.run(command, capture_output=True, text=True, check=True).stdout

        kubectl(
            "apply",
            "-f",
            str(CRD_FILE),
            "-f",
            str(EXAMPLES / "pywai-inline-service.yaml"),
            "-f",
            str(EXAMPLES / "pywai-edgio-ingress-matching.yaml"),
        )
        nodes = tmp_path / "nodes.json"
        nodes.write_text(str(node("n1", "203.0.113.1")).replace("'", '"'))
        kubectl("apply", "-f", str(nodes))
        result = subprocess.run(
            [str(BIN / "edgio-ingress"), "run", "--once"],
            env={"PATH": "/usr/bin:/bin", **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        kubectl("wait", "--for=condition=Ready", "edgioroute/pywai-inline-ingress", "--timeout=10s")
        assert "True" in kubectl("get", "er,ingress", "-A")
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=10) == 0
