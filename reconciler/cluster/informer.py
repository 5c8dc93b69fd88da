"""List+watch caches of cluster objects, as plain dicts.

Each informer lists its resource once, then watches from the list's resourceVersion
with bookmarks, resuming from the last resourceVersion it saw whenever a watch ends, as
client-go's reflector does: a watch that failed (a reset connection, an ERROR event, a
5xx, a read that timed out) resumes from there after a backoff, and only 410 Gone (the
history was compacted) lists again. The cache is only ever a copy of the server's state,
never patched from guesses. A first listing that fails is retried with backoff for as
long as it takes; `synced` is set only once one went through, and no pass runs before
every informer is synced. Every watch asks the server to end it after about a minute
(`timeoutSeconds`, spread), and the client gives up on a read a little after that: a
watch that went silent (a dead connection, a hung proxy) is replaced within about a
minute instead of being trusted for ever. Objects are trimmed to
what a pass reads before they are cached (:mod:`.trim`). A change only wakes the loop,
and only when what a pass acts on changed; what changed is read again from the whole
cache by the next pass.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from reconciler.cluster import trim
from reconciler.metrics import WATCH_RESTARTS

log = structlog.get_logger(__name__)
Obj = dict[str, Any]
ListCall = Callable[..., Any]
PAGE = 500


@dataclass(frozen=True, slots=True)
class Timing:
    """How long a watch or a listing may take, and how retries back off. Tests pass
    small values; the defaults notice a silent watch within about a minute."""

    watch_seconds: tuple[int, int] = (50, 70)  # timeoutSeconds, spread as client-go does
    read_timeout: float = 80.0  # a little above the longest watch: silence means dead
    list_timeout: float = 60.0  # one page of a listing
    connect_timeout: float = 10.0
    first_backoff: float = 1.0
    max_backoff: float = 30.0

    def backoff(self, failures: int) -> float:
        """Exponential with jitter, capped: a refused listing is retried, not hammered."""
        wait = min(self.first_backoff * 2.0 ** max(failures - 1, 0), self.max_backoff)
        return float(wait * (0.5 + random.random() / 2))


DEFAULT_TIMING = Timing()


class Gone(Exception):
    """The watch's resourceVersion is too old: the cache must be listed again."""


class Informer:
    """One resource (optionally in one namespace), kept current in `objects`."""

    def __init__(
        self,
        resource: str,
        call: ListCall,
        on_change: Callable[[], None],
        stop: threading.Event,
        kind: tuple[str, str],
        transform: trim.Transform = trim.whole,
        ignored: tuple[str, ...] = (),
        timing: Timing = DEFAULT_TIMING,
        **selectors: str,
    ):
        """`transform` trims each object before it is cached; a change of nothing but
        the `ignored` top-level fields (and the resourceVersion) wakes nothing."""
        self.resource = resource
        self.timing = timing
        self._transform = transform
        self._ignored = ignored
        self._kind = {"apiVersion": kind[0], "kind": kind[1]}
        self._call = call
        self._on_change = on_change
        self._stop = stop
        self._selectors = selectors
        self._lock = threading.Lock()
        self._objects: dict[tuple[str, str], Obj] = {}
        self._expected: dict[tuple[str, str], Obj] = {}  # see `expect`
        self.synced = threading.Event()
        self.version: str | None = None

    def objects(self) -> list[Obj]:
        with self._lock:
            return list(self._objects.values())

    def covers(self, obj: Obj) -> bool:
        """Whether this informer watches `obj`'s namespace."""
        namespace = self._selectors.get("namespace")
        return namespace is None or namespace == (obj.get("metadata") or {}).get("namespace")

    def where(self) -> str:
        """` in namespace N` for a namespaced informer, else nothing: for messages."""
        namespace = self._selectors.get("namespace")
        return f" in namespace {namespace}" if namespace else ""

    def expect(self, obj: Obj) -> None:
        """`obj` is what this process just wrote, as the server should now hold it: the
        next event of that object shares its equal parts with it. A pass holds what it
        wrote (the routes it created, the statuses it computed) until it ends, and the
        cache would otherwise hold a second copy of each. Only sharing comes of it: the
        cache still holds what the server sent. One per object, dropped at its next event
        or the next listing."""
        with self._lock:
            self._expected[_key(obj)] = obj

    def list_now(self) -> None:
        """Fill the cache from a full (paged) listing; `synced` is set after the first."""
        items: dict[tuple[str, str], Obj] = {}
        token: str | None = None
        while True:
            page = self._read(limit=PAGE, _continue=token) if token else self._read(limit=PAGE)
            for item in page.get("items") or []:
                key = _key(item)
                items[key] = self._cached(item, self._objects.get(key))
            metadata = page.get("metadata") or {}
            token = metadata.get("continue")
            if not token:
                break
        with self._lock:
            self._objects = items
            self._expected = {}
        self.version = metadata.get("resourceVersion")
        self.synced.set()
        self._on_change()

    def run(self) -> None:
        """List, then watch until stopped: resume from the last resourceVersion after a
        failure, list again only on 410 Gone."""
        failures = 0
        while not self._stop.is_set():
            try:
                if self.version is None:
                    self.list_now()
                self._watch()
                failures = 0
            except Gone:
                self.version = None
                WATCH_RESTARTS.labels(self.resource).inc()
                log.info("watch expired, listing again", resource=self.resource)
            except Exception as error:  # a watch must never die: retry after a pause
                failures += 1
                self._failed(error, failures)

    def _failed(self, error: Exception, failures: int) -> None:
        """Logged with why; the next attempt resumes from `version` (or lists, before
        the first listing went through) after a backoff."""
        WATCH_RESTARTS.labels(self.resource).inc()
        wait = self.timing.backoff(failures)
        if self.version is None:
            event = "listing failed, retrying" if self.synced.is_set() else "cache not synced yet"
        else:
            event = "watch failed, resuming"
        log.warning(
            event,
            resource=self.resource,
            error=describe(error),
            version=self.version,
            retry_in=round(wait, 1),
        )
        self._stop.wait(wait)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name=f"watch-{self.resource}", daemon=True)
        thread.start()
        return thread

    def _read(self, **params: Any) -> Obj:
        timeout = (self.timing.connect_timeout, self.timing.list_timeout)
        response = _checked(
            self._call(
                **self._selectors, **params, _preload_content=False, _request_timeout=timeout
            )
        )
        data: Obj = json.loads(body(response))
        return data

    def _watch(self) -> None:
        response = self._call(
            **self._selectors,
            watch=True,
            allow_watch_bookmarks=True,
            resource_version=self.version,
            timeout_seconds=random.randint(*self.timing.watch_seconds),
            _preload_content=False,
            _request_timeout=(self.timing.connect_timeout, self.timing.read_timeout),
        )
        _checked(response)
        try:
            for line in iter_resp_lines(response):  # type: ignore[no-untyped-call]
                if self._stop.is_set():
                    return
                if line:
                    self._event(json.loads(line))
        finally:
            response.release_conn()
        WATCH_RESTARTS.labels(self.resource).inc()  # ended by the server: resume

    def _event(self, event: Obj) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise Gone()
            raise RuntimeError(f"watch error {obj.get('code')}: {obj.get('message')}")
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if kind == "BOOKMARK":
            self.version = version or self.version
            return
        with self._lock:
            expected = self._expected.pop(_key(obj), None)
            if kind == "DELETED":
                old, new = self._objects.pop(_key(obj), None), None
            else:
                old = self._objects.get(_key(obj))
                new = self._cached(obj, old if expected is None else expected)
                self._objects[_key(obj)] = new
        self.version = version or self.version
        if self._changed(old, new):
            self._on_change()
        else:
            log.debug(
                "unchanged for a pass",
                resource=self.resource,
                object="/".join(_key(obj)),
                version=version,
            )

    def _cached(self, obj: Obj, old: Obj | None) -> Obj:
        """What the cache keeps of a listed or watched object: trimmed, its strings and
        the parts it has in common with its `old` version shared."""
        kept: Obj = trim.shared(self._transform({**self._kind, **obj}), old)
        return kept

    def _changed(self, old: Obj | None, new: Obj | None) -> bool:
        """Whether a pass could act differently: anything but the ignored fields moved."""
        if old is None or new is None:
            return True
        return trim.view(old, self._ignored) != trim.view(new, self._ignored)


def _checked(response: Any) -> Any:
    """An unread response, or the ApiException its status calls for (410 included)."""
    status = getattr(response, "status", 200)
    if isinstance(status, int) and not 200 <= status <= 299:
        if status == 410:
            raise Gone()
        reason = str(getattr(response, "reason", ""))
        release = getattr(response, "release_conn", None)
        if release is not None:
            release()
        raise ApiException(status=status, reason=reason)
    return response


def body(response: Any) -> bytes:
    """The body of an unread response (`_preload_content=False`), its connection given
    back: read as bytes, no client models built."""
    try:
        data: bytes = response.data
    finally:
        response.release_conn()
    return data


def _key(obj: Obj) -> tuple[str, str]:
    metadata = obj.get("metadata") or {}
    return (metadata.get("namespace") or "", metadata.get("name") or "")


def describe(error: Exception) -> str:
    """One line saying why a request failed, for logs and CLI messages."""
    if isinstance(error, ApiException):
        if error.status == 410:
            return "410 Gone"
        return f"HTTP {error.status}: {error.reason}"
    return f"{type(error).__name__}: {error}"[:200]
