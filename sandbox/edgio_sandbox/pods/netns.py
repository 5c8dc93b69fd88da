"""A network namespace per pod, so each pod's ports are its own: two replicas listen on
the same containerPort side by side, and each probe reaches its own pod.

The namespace has only a loopback interface, with the pod's address (`status.podIP`)
added to it. Nothing is routed in or out. Instead:

- the runner reaches the pod (probes) through sockets *made inside* the namespace: a
  thread enters it with setns(2), which changes that thread alone, creates the socket and
  ends; the socket keeps its namespace for life;
- the pod reaches the API server and the emulators on the host through forwarders: for
  each host loopback port, a listener on 127.0.0.1 inside the namespace, relayed to the
  same port on the host's 127.0.0.1. So the pod uses the very URLs the host uses, and the
  servers stay bound to loopback. This is where it differs from a cluster: a pod there
  reaches the API server through the `kubernetes` Service, not 127.0.0.1.

Needs root (`ip netns`), as kubelet does.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


class NetnsError(RuntimeError):
    """`ip netns` failed (not root, or no iproute2): the message says which command."""


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {result.stderr.strip()}")


def _in_thread(make: Callable[[], T]) -> T:
    """Run `make` in a short-lived thread and return what it returns or raise what it
    raises: the thread may change its own namespace, the caller's stays."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def body() -> None:
        try:
            outcome.append(make())
        except BaseException as error:  # handed to the caller
            failure.append(error)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


class Netns:
    """One pod's namespace, named `name`, with `address` on its loopback."""

    def __init__(self, name: str, address: str):
        self.name = name
        self.address = address
        self._forwarders: list[_Forwarder] = []

    def create(self, forward: Iterable[int] = ()) -> None:
        self.delete()  # a namespace left by a runner that was killed
        _ip("netns", "add", self.name)
        _ip("-n", self.name, "link", "set", "lo", "up")
        _ip("-n", self.name, "addr", "add", f"{self.address}/32", "dev", "lo")
        for port in forward:
            forwarder = _Forwarder(self.socket(), port)
            self._forwarders.append(forwarder)
            forwarder.start()

    def delete(self) -> None:
        for forwarder in self._forwarders:
            forwarder.stop()
        self._forwarders.clear()
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True)

    def exec_prefix(self) -> list[str]:
        """What runs a command inside: `ip netns exec` execs it, so the pid is the command's."""
        return ["ip", "netns", "exec", self.name]

    def socket(self) -> socket.socket:
        """A TCP socket of this namespace: its binds and connects are the pod's."""

        def make() -> socket.socket:
            descriptor = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
            try:
                if _libc.setns(descriptor, CLONE_NEWNET) != 0:
                    error = ctypes.get_errno()
                    raise OSError(error, f"setns into {self.name}: {os.strerror(error)}")
            finally:
                os.close(descriptor)
            return socket.socket(socket.AF_INET, socket.SOCK_STREAM)

        return _in_thread(make)


class _Forwarder:
    """127.0.0.1:port inside the namespace, relayed to 127.0.0.1:port on the host."""

    def __init__(self, listener: socket.socket, port: int):
        self.port = port
        self.listener = listener
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(64)
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = False

    def start(self) -> None:
        threading.Thread(target=self._accept, name=f"forward-{self.port}", daemon=True).start()

    def stop(self) -> None:
        self._stopped = True
        with self._lock:
            sockets = [self.listener, *self._open]
        for sock in sockets:
            _close(sock)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                inside, _ = self.listener.accept()
            except OSError:
                return
            try:
                outside = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            except OSError:
                _close(inside)
                continue
            outside.settimeout(None)
            with self._lock:
                self._open.update((inside, outside))
            for source, sink in ((inside, outside), (outside, inside)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    """Shut down first: that wakes a thread blocked in accept() or recv() on it."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
