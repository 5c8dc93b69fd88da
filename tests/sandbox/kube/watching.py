"""A watch running in a thread, recording what the official client yields."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from kubernetes import watch

from tests.support import eventually


class Recorder:
    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any):
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self.watch = watch.Watch()
        self._thread = threading.Thread(
            target=self._run, args=(func, args, kwargs), name="watch-recorder", daemon=True
        )
        self._thread.start()

    def _run(self, func: Callable[..., Any], args: Any, kwargs: Any) -> None:
        try:
            for event in self.watch.stream(func, *args, **kwargs):
                self.events.append((event["type"], event["raw_object"]))
        except BaseException as error:  # recorded for the test to assert on
            self.error = error
        finally:
            self.finished.set()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[str, dict[str, Any]]]:
        eventually(lambda: len(self.events) >= count, timeout)
        return self.events[:count]

    def summary(self) -> list[tuple[str, str]]:
        return [(kind, obj["metadata"]["name"]) for kind, obj in self.events]

    def stop(self) -> None:
        self.watch.stop()
        self._thread.join(timeout=10)
