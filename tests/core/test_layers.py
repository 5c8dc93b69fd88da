"""Imports flow one way: core <- providers <- cluster <- sync, loop and the command.

The pure core imports no client library, so it stays testable without any server; the
providers know the core and nothing of the cluster; only the cluster layer speaks to
Kubernetes; and the product never imports the sandbox, which is not in its wheel.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import REPO

PACKAGE = REPO / "reconciler"
CORE = ("api", "model", "ownership", "errors", "memo", "derive", "diff", "status", "guard")
LEAVES = ("metrics",)  # observability: a leaf anyone outside the core may use
CLIENTS = ["kubernetes", "requests", "urllib3", "tenacity", "prometheus_client", "structlog"]


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, relative imports made absolute."""
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else None
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = (package or module_name(path)).split(".")
                base = ".".join([*anchor[: len(anchor) - node.level + 1], base]).rstrip(".")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def layer_of(module: str) -> str:
    """The layer a module of ours belongs to: its first name below `reconciler`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


MODULES = {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def ours(imports: set[str]) -> set[str]:
    return {
        m
        for m in imports
        if m.startswith("reconciler.") and layer_of(m) and m.split(".")[1] != "__version__"
    }


@pytest.mark.parametrize("module", [m for m in MODULES if layer_of(m) in CORE])
def test_core_imports_only_the_core(module: str) -> None:
    outside = {m for m in ours(MODULES[module]) if layer_of(m) not in CORE}
    assert outside == set(), f"{module} reaches out of the core"
    clients = {m for m in MODULES[module] if m.split(".")[0] in CLIENTS}
    assert clients == set(), f"{module} imports a client library"


@pytest.mark.parametrize("module", [m for m in MODULES if layer_of(m) == "providers"])
def test_providers_import_the_core_only(module: str) -> None:
    allowed = (*CORE, *LEAVES, "providers")
    assert {m for m in ours(MODULES[module]) if layer_of(m) not in allowed} == set()


@pytest.mark.parametrize("module", list(MODULES))
def test_only_the_cluster_layer_imports_kubernetes(module: str) -> None:
    if layer_of(module) == "cluster":
        return
    assert not any(m.split(".")[0] == "kubernetes" for m in MODULES[module])


@pytest.mark.parametrize("module", list(MODULES))
def test_nothing_imports_the_sandbox(module: str) -> None:
    assert not any(m.split(".")[0] == "edgio_sandbox" for m in MODULES[module])


def test_core_loads_no_client_library_at_run_time() -> None:
    """The static check above, confirmed by what importing really loads."""
    core = [m for m in MODULES if layer_of(m) in CORE]
    code = (
        f"import sys\nfor m in {core!r}: __import__(m)\n"
        f"print(sorted(m for m in {CLIENTS!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_command_loads_no_sandbox_module() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import reconciler.cli"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "edgio_sandbox" not in result.stderr
    assert "reconciler.cli" in result.stderr


@pytest.mark.slow
def test_the_product_wheel_holds_no_emulator(tmp_path: Path) -> None:
    wheel_command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path)]
    subprocess.run([*wheel_command, str(REPO)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("edgio_ingress-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "reconciler/cli.py" in names
    assert [n for n in names if "sandbox" in n] == []
