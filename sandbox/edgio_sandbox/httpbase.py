"""The HTTP server every sandbox emulator is built on.

Emulators subclass :class:`EmulatorServer` and implement :meth:`EmulatorServer.handle`,
a plain function from :class:`Request` to :class:`Response`. This base owns what all of
them need the same way: a threaded HTTP/1.1 server on loopback that starts in
milliseconds, call counters and arrival times for assertions, fault injection for
resilience tests (error statuses, 429 storms with Retry-After in any form or none,
latency, slow writes that land after the client gave up, connection resets, answers
that are not JSON, redirects to another host, side effects between two requests,
dropped streams) and chunked streaming for watch-style endpoints.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import select
import socket
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    target: str  # the raw request target, as sent: path plus "?" plus query
    path: str  # raw path, percent-encoding kept
    query: str  # raw query string, without "?"
    headers: Message
    body: bytes
    client: str

    @property
    def params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[-1] if values else default

    @property
    def host(self) -> str:
        return self.headers.get("Host", "")

    def json(self) -> Any:
        """The body as JSON; a 400 for anything that is not."""
        try:
            return json.loads(self.body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise HttpError(Response.json(400, {"error": f"invalid JSON body: {error}"})) from None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterator[bytes] | None = None  # chunked body; an empty item is a heartbeat

    @classmethod
    def json(cls, status: int, payload: Any, content_type: str = "application/json") -> Response:
        return cls(status, json.dumps(payload).encode(), {"Content-Type": content_type})


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Write:
    """One write request as the emulator served it: wall-clock times, for overlap checks,
    and the process that sent it (see :func:`writer_of`)."""

    started: float
    finished: float
    method: str
    label: str
    status: int
    writer: str = ""


def writer_of(user_agent: str) -> str:
    """Who wrote: the comment of a `product/version (comment)` User-Agent, where
    edgio-ingress puts its Lease holder identity; any other agent, whole."""
    match = re.fullmatch(r"[^\s()]+/[^\s()]+ \((.+)\)", user_agent.strip())
    return match.group(1) if match else user_agent.strip()


class HttpError(Exception):
    """Raised anywhere inside `handle` to answer with `response`."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


@dataclass
class Fault:
    """One injected misbehaviour, matched by method and a regex searched in the path.

    Some combinations worth knowing:
    - ``status=None, delay=2`` on a POST: the write is held for two seconds and then
      applied, long after a client with a shorter timeout gave up on it;
    - ``after=True, status=500``: the write is applied and its answer lost;
    - ``status=200, body=b"<html>"``: a 2xx answer that is not JSON;
    - ``status=307, location="http://localhost:PORT"``: a redirect to another host
      (the request target is appended to `location`);
    - ``status=None, run=callback``: `callback` runs between handling the request and
      sending its answer, e.g. to change a collection between two page fetches.
    """

    status: int | None = 500  # None: no error answer (latency, reset or side effect only)
    method: str | None = None
    path: str | None = None
    rate: float = 1.0
    times: int | None = None  # None: for as long as the fault is installed
    retry_after: str | None = None  # sent with the error when set, verbatim
    delay: float = 0.0
    reset: bool = False  # close the connection without an answer
    body: bytes | None = None
    content_type: str = "application/json"
    location: str | None = None  # Location: this base URL + the request target
    after: bool = False  # handle the request first, then misbehave: a write whose answer is lost
    run: Callable[[], None] | None = None  # a side effect, run before misbehaving

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return not self.path or re.search(self.path, path) is not None


class Faults:
    """The faults installed on one emulator; thread-safe, deterministic with a seed."""

    def __init__(self, seed: int = 0):
        self._faults: list[Fault] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, **kwargs: Any) -> Fault:
        fault = Fault(**kwargs)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pick(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times == 0 or not fault.matches(method, path):
                    continue
                if self._random.random() >= fault.rate:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and the demo read the emulators' effects, not their access logs."""

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            target=self.path,
            path=split.path,
            query=split.query,
            headers=self.headers,
            body=body,
            client=self.client_address[0],
        )
        emulator.count(request)
        started = time.time()
        fault = emulator.faults.pick(request.method, request.path)
        if fault is not None and not fault.after and self._misbehave(fault, request):
            return
        try:
            response = emulator.handle(request)
        except HttpError as error:
            response = error.response
        except Exception:
            traceback.print_exc(file=sys.stderr)
            response = Response.json(500, {"error": "internal emulator error"})
        if request.method in WRITE_METHODS:
            emulator.log_write(
                Write(
                    started,
                    time.time(),
                    request.method,
                    emulator.route_label(request),
                    response.status,
                    writer_of(request.headers.get("User-Agent", "")),
                )
            )
        if fault is not None and fault.after and self._misbehave(fault, request):
            return
        self._send(response)

    def _misbehave(self, fault: Fault, request: Request) -> bool:
        """Apply a fault; True when it answered (or cut) the request itself."""
        if fault.run is not None:
            fault.run()
        if fault.delay:
            time.sleep(fault.delay)
        if fault.reset:
            self.close_connection = True
            self.connection.close()
            return True
        if fault.status is not None:
            self._send(_fault_response(fault, request))
            return True
        return False

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.stream is None:
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if response.body and self.command != "HEAD":
                self.wfile.write(response.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._stream(response.stream)

    def _stream(self, chunks: Iterator[bytes]) -> None:
        generation = self.server.emulator.stream_generation
        try:
            for chunk in chunks:
                if self.server.emulator.stream_generation != generation or (
                    not chunk and self._client_gone()
                ):
                    self.close_connection = True
                    return
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def _client_gone(self) -> bool:
        """On a heartbeat, notice a client that hung up: its socket reads as empty.

        Without this a watch on a quiet resource would keep its thread until the next
        real event, however long ago its client went away.
        """
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch


def _fault_response(fault: Fault, request: Request) -> Response:
    assert fault.status is not None
    body = (
        fault.body
        if fault.body is not None
        else json.dumps({"error": "injected fault", "status": fault.status}).encode()
    )
    headers = {"Content-Type": fault.content_type}
    if fault.retry_after is not None:
        headers["Retry-After"] = fault.retry_after
    if fault.location is not None:
        headers["Location"] = fault.location.rstrip("/") + request.target
    return Response(fault.status, body, headers)


class _Server(ThreadingHTTPServer):
    """Remembers its open connections, so stopping closes them as a real server's exit
    does: a client's kept-alive connection must not outlive the server it talked to."""

    daemon_threads = True
    allow_reuse_address = True
    emulator: EmulatorServer

    def __init__(self, address: tuple[str, int], handler: type[_Handler]):
        super().__init__(address, handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about connections cut under a handler (by a stop or by the client)."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class EmulatorServer:
    """A loopback HTTP emulator; a context manager that starts and stops it."""

    name = "emulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 0):
        self.host = host
        self.port = port
        self.faults = Faults(seed)
        self.stream_generation = 0
        self._calls: Counter[tuple[str, str]] = Counter()
        self._arrivals: list[tuple[float, str, str]] = []
        self._calls_lock = threading.Lock()
        self._writes: list[Write] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def route_label(self, request: Request) -> str:
        """How a request is counted; emulators replace ids with placeholders."""
        return request.path

    def count(self, request: Request) -> None:
        label = (request.method, self.route_label(request))
        with self._calls_lock:
            self._calls[label] += 1
            self._arrivals.append((time.monotonic(), *label))

    def calls(self) -> dict[tuple[str, str], int]:
        with self._calls_lock:
            return dict(self._calls)

    def arrivals(self, method: str | None = None, route: str | None = None) -> list[float]:
        """When requests arrived (time.monotonic), oldest first: for pacing and backoff
        assertions made from the server's side."""
        with self._calls_lock:
            return [
                when
                for when, m, r in self._arrivals
                if (method is None or m == method) and (route is None or r == route)
            ]

    def log_write(self, write: Write) -> None:
        with self._calls_lock:
            self._writes.append(write)

    def writes(self) -> list[Write]:
        """Every write the emulator handled (faults answered before it are not writes)."""
        with self._calls_lock:
            return list(self._writes)

    def reset_calls(self) -> None:
        with self._calls_lock:
            self._calls.clear()
            self._arrivals.clear()

    def drop_streams(self) -> None:
        """Cut every open streaming response at its next chunk or heartbeat."""
        self.stream_generation += 1

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        server = _Server((self.host, self.port), _Handler)
        server.emulator = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits one poll: keep teardown fast
            name=f"{self.name}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close every open connection. `start()` afterwards serves
        the same state on the same port: a server restart, as its clients see one."""
        if self._server is None:
            return
        self.drop_streams()
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
