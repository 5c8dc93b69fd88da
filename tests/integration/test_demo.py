"""`make demo` keeps working: it is the first thing a new user runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_the_seed_story_to_convergence() -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [sys.executable, "-m", "edgio_sandbox.demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "BackendNotFound Service default/external-pywai-inline-service not found" in out
    assert "create rule http://exampleco.s.llnwi.net/fred -> origin.example.com:" in out
    assert "delete record origin.example.com A 203.0.113.1" in out
    assert out.rstrip().endswith("plan: nothing to do")
    assert "Traceback" not in result.stderr
