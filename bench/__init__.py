"""Benchmarks of the sandbox emulators (``make bench`` / ``python -m bench``).

Performance is measured here, never asserted in tests. Each bench module has a
``run(quick: bool) -> list[Measurement]``; ``bench.__main__`` runs them all and prints
one Markdown table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Measurement:
    subject: str  # what was measured, e.g. "create ConfigMap"
    client: str  # how it was driven, e.g. "requests keep-alive"
    count: int  # operations (or delivered events) in the timed run
    seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else float("inf")


def timed(subject: str, client: str, count: int, work: Callable[[], object]) -> Measurement:
    """Run ``work`` once and measure it as ``count`` operations."""
    started = time.perf_counter()
    work()
    return Measurement(subject, client, count, time.perf_counter() - started)


def markdown_table(measurements: list[Measurement]) -> str:
    lines = [
        "| what | client | count | seconds | per second |",
        "|---|---|---:|---:|---:|",
    ]
    for m in measurements:
        lines.append(f"| {m.subject} | {m.client} | {m.count} | {m.seconds:.3f} | {m.rate:,.0f} |")
    return "\n".join(lines)
