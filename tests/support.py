"""Helpers every test directory shares: where the repository is, polling with a deadline,
a retry policy fast enough for emulators on loopback, an Ingress manifest, and a TCP
proxy a test can cut (a network partition between one process and one server)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from reconciler.providers.transport import RetryPolicy

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[1]
CRD_FILE = REPO / "crds" / "edgioroute.yaml"
EXAMPLES = REPO / "examples"

# Real backoff shape, millisecond waits: the emulators answer in microseconds. A
# Retry-After longer than max_retry_after fails the call at once as Throttled, so a test
# that wants one honoured sets its own policy (see tests/providers/test_transport.py).
FAST = RetryPolicy(attempts=8, initial_wait=0.001, max_wait=0.01, max_retry_after=0.05)


def eventually(probe: Callable[[], T | None], timeout: float = 10.0) -> T:
    """Poll until `probe` returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {probe}")
        time.sleep(0.02)


def ingress_manifest(
    name: str,
    paths: Sequence[str],
    service: str,
    port: dict[str, Any],
    *,
    host: str = "exampleco.s.llnwi.net",
    namespace: str = "default",
    path_type: str = "Exact",
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An Edgio Ingress (label `cdn: edgio`) of one host, each path to the same backend;
    `metadata` adds to (or replaces) its metadata fields."""
    rule_paths = [
        {
            "path": p,
            "pathType": path_type,
            "backend": {"service": {"name": service, "port": dict(port)}},
        }
        for p in paths
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"cdn": "edgio"},
            **(metadata or {}),
        },
        "spec": {"rules": [{"host": host, "http": {"paths": rule_paths}}]},
    }


class TcpProxy:
    """A loopback TCP proxy in front of one HTTP server, that a test cuts and restores:
    a network partition between one process and that server, as the process sees it.

    `cut("refuse")` closes the listener and every open connection (the process meets
    refused and reset connections); `cut("hang")` keeps accepting but forwards nothing
    either way (every call hangs until its timeout). `restore()` heals either. Each HTTP
    request forwarded is logged with its wall-clock time (`requests()`), so a test tells
    which process sent what, when, by giving each process its own proxy. Requests are
    framed by Content-Length, which is what our clients send.
    """

    def __init__(self, target: str):
        address = urlsplit(target)
        self.target = (address.hostname or "127.0.0.1", int(address.port or 80))
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._flowing = threading.Event()
        self._flowing.set()
        self._log: list[tuple[float, str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> TcpProxy:
        self._listen()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cut("refuse")
        self._flowing.set()

    def cut(self, mode: str = "refuse") -> None:
        if mode == "hang":
            self._flowing.clear()
            return
        with self._lock:
            listener, self._listener = self._listener, None
            for sock in [*self._sockets, *([listener] if listener else [])]:
                _close(sock)
            self._sockets.clear()

    def restore(self) -> None:
        self._flowing.set()
        if self._listener is None:
            self._listen()

    def requests(self, methods: Sequence[str] = ()) -> list[tuple[float, str, str]]:
        """(time.time(), method, path) of every request forwarded, oldest first."""
        with self._lock:
            return [r for r in self._log if not methods or r[1] in methods]

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: cut
            try:
                server = socket.create_connection(self.target)
            except OSError:
                _close(client)  # the server is down: so is the connection
                continue
            with self._lock:
                if self._listener is not listener:
                    _close(client)
                    _close(server)
                    return
                self._sockets.update((client, server))
            framing = _Framing(self._logged)
            threading.Thread(target=self._pump, args=(client, server, framing), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, None), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, framing: _Framing | None) -> None:
        try:
            while data := source.recv(65536):
                self._flowing.wait()
                sink.sendall(data)
                if framing is not None:  # logged once it is on its way: never a phantom
                    framing.feed(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)

    def _logged(self, method: str, path: str) -> None:
        with self._lock:
            self._log.append((time.time(), method, path))


class _Framing:
    """Finds where each HTTP/1.1 request starts in a client's byte stream."""

    def __init__(self, found: Callable[[str, str], None]):
        self._found = found
        self._buffer = b""
        self._body_left = 0

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while True:
            if self._body_left:
                taken = min(self._body_left, len(self._buffer))
                self._buffer, self._body_left = self._buffer[taken:], self._body_left - taken
                if self._body_left:
                    return
            head, found, rest = self._buffer.partition(b"\r\n\r\n")
            if not found:
                return
            lines = head.decode("latin-1").split("\r\n")
            method, path, *_ = [*lines[0].split(" "), "", ""]
            self._found(method, path)
            length = [
                line.split(":", 1)[1]
                for line in lines[1:]
                if line.lower().startswith("content-length:")
            ]
            self._buffer, self._body_left = rest, int(length[0]) if length else 0


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
