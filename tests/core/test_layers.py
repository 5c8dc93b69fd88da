"""The pure core imports no client library, so it stays testable without any server."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "reconciler.model",
    "reconciler.ownership",
    "reconciler.errors",
    "reconciler.diff",
    "reconciler.derive.ingress",
    "reconciler.derive.routes",
    "reconciler.derive.desired",
]
CLIENTS = ["kubernetes", "requests", "urllib3", "tenacity", "prometheus_client", "structlog"]


def test_core_imports_no_client_library() -> None:
    code = (
        f"import sys\nfor m in {CORE!r}: __import__(m)\n"
        f"print(sorted(m for m in {CLIENTS!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
