"""A TCP proxy between one controller process and the Kubernetes API, that the campaign
can cut: a replica loses the API server (its Lease renewals among the rest) while the
others keep it, as when one node's network fails.

Two ways to cut, the two a renewal meets in life:
- ``refuse``: the listener closes and open connections are reset, so every call fails
  at once with "connection refused" or a reset;
- ``hang``: connections stay open but nothing passes either way, so calls hang until
  the client's own timeout (or forever, if it has none).
`restore()` ends either: the listener is back on the same port, and the connections
that hung are closed (their calls fail then, as a healed network's stale ones do).
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from typing import Literal

Cut = Literal["refuse", "hang"]
CHUNK = 65536
POLL = 0.05


class Proxy:
    def __init__(self, upstream_port: int, host: str = "127.0.0.1"):
        self.host, self.upstream = host, (host, upstream_port)
        self.port = 0
        self.cut_mode: Cut | None = None
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopped = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Proxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self, mode: Cut) -> None:
        with self._changed:
            self.cut_mode = mode
            self._changed.notify_all()
        if mode == "refuse":
            self._close_listener()
            self._close_all()

    def restore(self) -> None:
        with self._changed:
            mode, self.cut_mode = self.cut_mode, None
            self._changed.notify_all()
        if mode == "hang":
            self._close_all()
        elif mode == "refuse" and not self._stopped:
            self.start()

    def stop(self) -> None:
        self._stopped = True
        self._close_listener()
        self._close_all()

    # --- internals ----------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: a cut or a stop
            self._track(client)
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        if not self._wait_while_cut(client):
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _reset(client)
            return
        self._track(upstream)
        for source, target in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                readable, _, _ = select.select([source], [], [], POLL)
                if not self._wait_while_cut(source):
                    return
                if not readable:
                    continue
                data = source.recv(CHUNK)
                if not data:
                    target.shutdown(socket.SHUT_WR)
                    return
                target.sendall(data)
        except (OSError, ValueError):  # ValueError: select on a socket closed meanwhile
            _reset(source)
            _reset(target)

    def _wait_while_cut(self, connection: socket.socket) -> bool:
        """False once the connection is closed; while a hang lasts, nothing moves."""
        with self._changed:
            self._changed.wait_for(lambda: connection not in self._open or self.cut_mode != "hang")
            return connection in self._open

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.add(connection)

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):  # shutdown wakes the thread in accept()
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def _close_all(self) -> None:
        with self._changed:
            connections, self._open = list(self._open), set()
            self._changed.notify_all()
        for connection in connections:
            _reset(connection)


def _reset(connection: socket.socket) -> None:
    """Close with a reset (SO_LINGER 0), as a dead path or a killed peer looks."""
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()
