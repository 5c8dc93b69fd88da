"""Imports flow one way, down the design's layers, and no module imports itself back.

core <- registry <- derive <- plan <- providers <- report <- cluster <- controller <- cmd
<- the entry point (`cli`). The pure layers (core, registry, derive, plan, report) import
no client library, so they stay testable without any server: report reads what carrying
out a plan did (the providers' errors and apply report, which import no client either,
as the run-time check below confirms); only the cluster layer speaks to Kubernetes; and
the product never imports the sandbox, which is not in its wheel.
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
CORE = ("api", "model", "errors", "fence")  # the modules at the root that are the core
RANK = {
    "core": 0,
    "registry": 1,
    "derive": 2,
    "plan": 3,
    "providers": 4,
    "report": 5,
    "cluster": 6,
    "controller": 7,
    "cmd": 8,
    "cli": 9,
}
PURE = ("core", "registry", "derive", "plan", "report")
LEAVES = ("metrics",)  # observability: a leaf anyone outside the pure layers may use
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
    """The layer a module of ours belongs to: its folder below `reconciler`, or "core"
    for the core's modules at the root."""
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else ""
    return "core" if name in CORE else name


MODULES = {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def ours(imports: set[str]) -> set[str]:
    return {
        m
        for m in imports
        if m.startswith("reconciler.") and layer_of(m) and m.split(".")[1] != "__version__"
    }


def test_every_module_has_a_layer() -> None:
    unplaced = {m for m in MODULES if layer_of(m) not in (*RANK, *LEAVES, "")}
    assert unplaced == set(), "a module outside the design's layers"


@pytest.mark.parametrize("module", [m for m in MODULES if layer_of(m) in RANK])
def test_imports_flow_down(module: str) -> None:
    """A layer imports its own modules and those of the layers below it, never a layer
    above it; the metrics leaf is for the layers that are not pure."""
    layer = layer_of(module)
    allowed = set(LEAVES) if layer not in PURE else set()
    upward = {
        m
        for m in ours(MODULES[module])
        if (other := layer_of(m)) != layer
        and other not in allowed
        and not RANK.get(other, 99) < RANK[layer]
    }
    assert upward == set(), f"{module} imports a layer above its own"


@pytest.mark.parametrize("module", [m for m in MODULES if layer_of(m) in PURE])
def test_pure_layers_import_no_client_library(module: str) -> None:
    clients = {m for m in MODULES[module] if m.split(".")[0] in CLIENTS}
    assert clients == set(), f"{module} imports a client library"


def test_no_module_imports_itself_back() -> None:
    """No circle between modules: following imports from any module never leads back."""
    graph = {
        module: {m for m in ours(imports) if m in MODULES}
        | {m.rsplit(".", 1)[0] for m in ours(imports) if m.rsplit(".", 1)[0] in MODULES}
        for module, imports in MODULES.items()
    }
    circles = sorted(m for m in graph if _reaches(graph, m, m))
    assert circles == [], f"modules on a circle: {circles}"


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen: set[str] = set()
    todo = [m for m in graph[start] if m != start]
    while todo:
        module = todo.pop()
        if module == goal:
            return True
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return False


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
    core = [m for m in MODULES if layer_of(m) in PURE]
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
