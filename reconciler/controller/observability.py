"""Logs, the /metrics endpoint and the /healthz and /readyz probes."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import structlog
from prometheus_client import start_http_server

LEVELS = ("debug", "info", "warning", "error")


def configure_logging(log_format: str = "json", level: str = "info") -> None:
    """structlog to stderr: JSON lines by default, `console` for people."""
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer(colors=False)
        if log_format == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            getattr(logging, level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


class Heartbeat:
    """When the controller last made progress: a provider answer that went through (a
    page read, a write done), a Kubernetes write, a pass or loop iteration ended. Called
    from many threads; a float store is atomic. Liveness is judged on it, so a pass that
    takes hours but keeps going (10,000 rules at Edgio's 1.2 s a request) is alive, and
    one waiting on a hung call is not."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._last = clock()

    def __call__(self) -> None:
        self._last = self._clock()

    def age(self) -> float:
        """Seconds since the last progress."""
        return self._clock() - self._last


def serve_metrics(address: tuple[str, int]) -> None:
    start_http_server(address[1], addr=address[0])


def serve_probes(
    address: tuple[str, int], alive: Callable[[], bool], ready: Callable[[], bool]
) -> ThreadingHTTPServer:
    """/healthz answers 200 while `alive()`, /readyz while `ready()`; 503 otherwise."""

    class Probes(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            checks = {"/healthz": alive, "/readyz": ready}
            check = checks.get(self.path.split("?")[0])
            if check is None:
                self.send_error(404)
                return
            good = check()
            body = b"ok\n" if good else b"not ok\n"
            self.send_response(200 if good else 503)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # probes every few seconds are not news

    server = ThreadingHTTPServer(address, Probes)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="probes", daemon=True).start()
    return server
