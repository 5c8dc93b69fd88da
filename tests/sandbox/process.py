"""Run a sandbox command as users do: a subprocess whose first stdout line is JSON."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any


@contextmanager
def started(argv: Sequence[str]) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """The process and its first line, parsed; killed on the way out if still running."""
    process = subprocess.Popen(list(argv), stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process, json.loads(process.stdout.readline())
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
