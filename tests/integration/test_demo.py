"""`make demo` keeps working: it is the first thing a new user runs, and it runs the real
controller, so it is also the whole product end to end. And, at debug level, nothing it
prints or writes anywhere shows a credential."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgio_sandbox.demo import run
from edgio_sandbox.demo.story import Story
from edgio_sandbox.demo.world import Controller, Sandbox, StepMissed, wait_for
from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.kube import KubeEmulator
from edgio_sandbox.vultr import VultrEmulator
from tests.support import REPO

BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_the_demo_tells_the_whole_story_in_under_a_minute(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "edgio_sandbox.demo", "--workdir", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    took = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for seen in (
        "Ready=False BackendNotFound: exampleco.s.llnwi.net/fred: "
        "Service default/external-pywai-inline-service not found",
        "edgioroute.cdn.edgio.io/pywai-inline-ingress condition met",
        "(one A record added:",
        "(n1's A record removed:",
        "(the rule restored:",
        'edgio_ingress_drift_corrected_total{kind="rule",provider="edgio"} 1.0',
        "(its route, rule, A records and TXT removed:",
        "=== Done: every step converged",
    ):
        assert seen in out, seen
    assert "Traceback" not in out + result.stderr
    # Under a minute on an idle machine takes about 15 s; the margin is for loaded CI.
    assert took < 90, took


@pytest.mark.slow
def test_no_credential_appears_in_anything_printed_or_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (
        KubeEmulator() as kube,
        VultrEmulator(zones=("example.com",)) as vultr,
        EdgioEmulator(shortnames=("exampleco",)) as edgio,
    ):
        assert run(Sandbox(kube, vultr, edgio), tmp_path, log_level="debug") == 0
        # Every version of every object written during the demo, not only what is left.
        written = [event.object for event in kube.store.changes(0, timeout=0)[1]]
        outside = [*vultr.records("example.com"), *edgio.instances()]
    printed = capsys.readouterr()
    log = (tmp_path / "controller.log").read_text()
    secrets = {"VULTR_API_KEY": vultr.api_key, "EDGIO_API_SHARED_KEY": edgio.shared_key_hex}
    # The scan looks for the right strings: the env file, and only it, holds them.
    env_file = (tmp_path / "sandbox.env").read_text()
    assert all(f"{name}={value}" in env_file for name, value in secrets.items())
    assert any(json.loads(line).get("level") == "debug" for line in log.splitlines())
    kinds = {obj.get("kind") for obj in written}
    assert {"EdgioRoute", "Event", "Ingress", "Lease"} <= kinds
    for where, text in {
        "stdout": printed.out,
        "stderr": printed.err,
        "the controller's log": log,
        "the cluster's objects": json.dumps(written),
        "Vultr and Edgio": json.dumps(outside),
    }.items():
        for name, value in secrets.items():
            assert value not in text, f"{name} in {where}"


def test_a_missed_deadline_names_the_step() -> None:
    with pytest.raises(StepMissed, match=r"step 4 \(a node joins\): one A record added"):
        wait_for("step 4 (a node joins)", "one A record added", lambda: False, deadline=0.1)


def test_a_controller_that_exits_fails_the_step_at_once(tmp_path: Path) -> None:
    controller = Controller(tmp_path, dict(os.environ), [])
    controller.argv = [sys.executable, "-c", "raise SystemExit(2)"]
    controller.start()
    assert controller.process is not None
    controller.process.wait(timeout=30)
    story = Story.__new__(Story)
    story.controller, story.step, story.step_started = controller, "step 1 (start)", 0.0
    started = time.monotonic()
    with pytest.raises(StepMissed, match=r"step 1 \(start\): the controller exited \(2\)"):
        story.wait("ready", lambda: False, deadline=60)
    assert time.monotonic() - started < 5
