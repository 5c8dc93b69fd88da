"""The image's recipe without a container engine: build the wheel as the Dockerfile does,
install it into a fresh virtualenv with the runtime dependencies only, and run the command.

Slow (a virtualenv and a wheel build), so it is the one module here marked `slow`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO

pytestmark = pytest.mark.slow


def run(*argv: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(arg) for arg in argv], capture_output=True, text=True, timeout=600, cwd=cwd
    )
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    return result


def build_context(target: Path) -> Path:
    """What .dockerignore lets into the Docker build: the files that build the wheel."""
    for name in ("pyproject.toml", "README.md", "requirements/runtime.txt"):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(REPO / "reconciler", target / "reconciler", ignore=ignore)
    return target


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("image")
    context, wheels, venv = build_context(root / "context"), root / "wheels", root / "venv"
    pip = ("-m", "pip", "--disable-pip-version-check", "-q")
    # As the Dockerfile's build stage does it.
    run(sys.executable, *pip, "wheel", "--no-deps", "--wheel-dir", wheels, ".", cwd=context)
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(python, *pip, "install", "--only-binary=:all:", "-r", REPO / "requirements/runtime.txt")
    (wheel,) = wheels.glob("edgio_ingress-*.whl")
    run(python, *pip, "install", "--no-deps", wheel)
    yield venv


def test_the_wheel_holds_the_product_only(image_venv: Path) -> None:
    (site,) = (image_venv / "lib").glob("python3*/site-packages")
    assert (site / "reconciler" / "cli.py").is_file()
    assert not list(site.glob("edgio_sandbox*")), "the emulators must not be in the image"
    assert not list(site.glob("tests")) and not list(site.glob("bench"))
    packages = run(image_venv / "bin" / "python", "-m", "pip", "list", "--format=freeze").stdout
    for dev_only in ("pytest", "hypothesis", "mypy", "ruff", "vultr-python-client"):
        assert dev_only not in packages.lower()
    # Nothing imports it either, when the command starts.
    probe = "import sys, reconciler.cli; print(sorted(m for m in sys.modules if 'sandbox' in m))"
    assert run(image_venv / "bin" / "python", "-c", probe, cwd=image_venv).stdout.strip() == "[]"


def test_edgio_ingress_help_runs(image_venv: Path) -> None:
    result = run(image_venv / "bin" / "edgio-ingress", "--help", cwd=image_venv)
    assert "usage: edgio-ingress" in result.stdout


def test_edgio_ingress_run_help_runs(image_venv: Path) -> None:
    command = image_venv / "bin" / "edgio-ingress"
    result = subprocess.run(
        [command, "run", "--help"], capture_output=True, text=True, timeout=60, cwd=image_venv
    )
    assert result.returncode == 0, result.stderr
    for flag in ("--once", "--leader-elect", "--lease-name", "--metrics-addr", "--health-addr"):
        assert flag in result.stdout
