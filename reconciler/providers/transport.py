"""HTTP plumbing shared by the provider clients: pacing, retries, error mapping, metrics.

Every provider call goes through :meth:`HttpTransport.send` (one attempt) inside a
retry loop that spends one :class:`Budget` per public call, however many requests the
call makes (pages of a listing, a lookup after a 409): a flaky server costs at most
`RetryPolicy.attempts - 1` retries per call, never retries of retries.

- :meth:`HttpTransport.request` and :meth:`HttpTransport.request_json` are for
  idempotent calls (GET, PUT, PATCH, DELETE): retried on 5xx, 408, 429, resets and
  timeouts, and, for `request_json`, on a 2xx answer that is not JSON.
- :meth:`HttpTransport.create` is for a POST that makes an object. It is retried only
  when the failure proves nothing was written (429, 408, no connection made); after an
  answer that may hide a write (timeout, reset, 5xx, an unreadable 2xx) it raises
  :class:`OutcomeUnknown` instead of posting again, and the next listing decides.

Redirects are followed only to the same scheme, host and port, and only when they keep
the method (307, 308); anything else is a :class:`Redirected` error, so neither a Bearer
token nor a signed request ever travels to another host.
"""

from __future__ import annotations

import email.utils
import hashlib
import math
import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from tenacity import RetryCallState, Retrying, retry_if_exception

from reconciler import __version__
from reconciler.metrics import PROVIDER_CALL_SECONDS, PROVIDER_CALLS, PROVIDER_THROTTLES
from reconciler.providers.base import (
    AuthFailed,
    Conflict,
    Listing,
    NotFound,
    OutcomeUnknown,
    ProviderError,
    Redirected,
    ServerError,
    Throttled,
    Unavailable,
    Unreadable,
    ValidationFailed,
)

T = TypeVar("T")
R = TypeVar("R")


def _as_is(payload: Any) -> Any:
    return payload


class RateLimiter:
    """A token bucket shared by all threads (and all clients) of one provider endpoint.

    Pacing on our side is what keeps a large pass from drawing 429s at all; the
    retry policy is only the second line of defence.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until there is one; returns the time waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            self._sleep(wait)
        return wait

    def tighten(self, rate: float, burst: int) -> None:
        """Adopt a lower rate or burst; a shared bucket keeps the most careful settings."""
        with self._lock:
            self.rate = min(self.rate, rate)
            self.burst = min(self.burst, max(1, burst))
            self._tokens = min(self._tokens, float(self.burst))


_LIMITERS: weakref.WeakValueDictionary[tuple[str, str], RateLimiter] = weakref.WeakValueDictionary()
_LIMITERS_LOCK = threading.Lock()


def shared_limiter(base_url: str, credential_id: str, rate: float, burst: int) -> RateLimiter:
    """The one bucket of an API endpoint and credential in this process.

    The server's limit is per account or per address, not per client object, so every
    client built for the same endpoint and credential draws from the same bucket (and a
    new client does not bring a fresh burst). The bucket lives while a client uses it;
    when clients ask for different paces the slowest wins.
    """
    key = (base_url.rstrip("/"), credential_id)
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None:
            limiter = RateLimiter(rate, burst)
            _LIMITERS[key] = limiter
        else:
            limiter.tighten(rate, burst)
        return limiter


def fingerprint(*parts: str) -> str:
    """A stable name for a credential that does not reveal it (for keying buckets)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


class Redactor:
    """Cuts credentials out of text, however they were echoed.

    Servers echo keys lower-cased, upper-cased or cut short, so matching the exact
    string is not enough: any run of `MIN_RUN` or more characters of a secret, in any
    case, is replaced. Secrets shorter than that are matched whole.
    """

    MIN_RUN = 8
    MASK = "<redacted>"

    def __init__(self, *secrets: str):
        self._grams: set[str] = set()
        self._short: set[str] = set()
        for secret in (s.lower() for s in secrets if s):
            if len(secret) < self.MIN_RUN:
                self._short.add(secret)
            for i in range(len(secret) - self.MIN_RUN + 1):
                self._grams.add(secret[i : i + self.MIN_RUN])

    def __repr__(self) -> str:
        return "Redactor(<secrets>)"

    def __call__(self, text: str) -> str:
        lower = text.lower()
        hidden = [False] * len(text)
        size = self.MIN_RUN
        for i in range(len(lower) - size + 1):
            if lower[i : i + size] in self._grams:
                hidden[i : i + size] = [True] * size
        for secret in self._short:
            for match in re.finditer(re.escape(secret), lower):
                hidden[match.start() : match.end()] = [True] * len(secret)
        if not any(hidden):
            return text
        out: list[str] = []
        for i, char in enumerate(text):
            if not hidden[i]:
                out.append(char)
            elif i == 0 or not hidden[i - 1]:
                out.append(self.MASK)
        return "".join(out)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one call tries.

    `attempts`: requests a call may make for one request, counting the first; the
    retries (`attempts - 1`) are shared by every request of the call. Waits grow
    exponentially from `initial_wait` up to `max_wait`, with jitter. A server's
    `Retry-After` (on a 429 or a 503) is honoured exactly when it is at most
    `max_retry_after`; a longer one fails the call at once (:class:`Throttled` or
    :class:`ServerError`, with `retry_after`), so the loop backs off instead of
    retrying early against the server's instruction.
    """

    attempts: int = 6
    initial_wait: float = 0.5
    max_wait: float = 20.0
    max_retry_after: float = 60.0


def parse_retry_after(
    value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or any HTTP-date form.

    A date without a zone (asctime, or ``-0000``) is UTC, as HTTP dates always are.
    Anything unparseable gives None (the header is ignored), and so does a wait that is
    zero or already past: it says nothing, and the normal backoff applies.
    """
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now()).total_seconds()
    if not math.isfinite(seconds) or seconds <= 0:
        return None
    return seconds


class Budget:
    """The retries one public call may spend, over every request it makes.

    It is also the call's wait strategy: the server's Retry-After when it gave one,
    otherwise exponential backoff with "equal jitter" (half the step fixed, half
    random), so clients that failed together do not retry together.
    """

    def __init__(self, policy: RetryPolicy, rng: random.Random | None = None):
        self.policy = policy
        self.retries_left = max(0, policy.attempts - 1)
        self.spent = 0
        self._random = rng or random.Random()

    def stop(self, state: RetryCallState) -> bool:
        """Called by tenacity after each failure worth retrying: spend one, or stop."""
        if self.retries_left <= 0:
            return True
        self.retries_left -= 1
        self.spent += 1
        return False

    def wait(self, state: RetryCallState) -> float:
        """Tenacity asks for the wait before it asks `stop`: this is for the retry
        that `stop` is about to allow, number ``spent + 1``."""
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, ProviderError) and error.retry_after is not None:
            return float(error.retry_after)
        return self.backoff(self.spent + 1)

    def backoff(self, retry: int) -> float:
        """The wait before retry number `retry` (1-based)."""
        step = min(self.policy.max_wait, self.policy.initial_wait * 2.0 ** max(0, retry - 1))
        return step / 2 + self._random.uniform(0, step / 2)


class Walk(Generic[T]):
    """One walk through a paged collection: the objects by id, those that could not be
    read, and whether the collection moved under us while it was paged.

    A repeated id means the pages shifted (an object was added before the page
    boundary, or the server's order moved); the first copy is kept, and the walk is
    marked `changed` so the caller can list again.
    """

    def __init__(self, id_of: Callable[[T], str | None]):
        self._id_of = id_of
        self.objects: dict[str, T] = {}
        self.unreadable: list[Unreadable] = []
        self._unreadable_keys: set[str] = set()
        self.changed = False

    def add_page(self, items: Iterable[T | Unreadable]) -> int:
        """Add one page; returns how many of its objects were new."""
        new = 0
        for item in items:
            if isinstance(item, Unreadable):
                key = item.id or item.problem
                fresh = key not in self._unreadable_keys
                if fresh:
                    self._unreadable_keys.add(key)
                    self.unreadable.append(item)
            else:
                key = self._id_of(item) or ""
                fresh = key not in self.objects
                if fresh:
                    self.objects[key] = item
            new += fresh
            self.changed |= not fresh
        return new

    def check_total(self, total: int | None) -> None:
        """A server's total that disagrees with what we hold means the walk missed or
        doubled something."""
        if total is not None and self.count != total:
            self.changed = True

    @property
    def count(self) -> int:
        return len(self.objects) + len(self.unreadable)

    def listing(self) -> Listing[T]:
        return Listing(self.objects.values(), complete=not self.changed, unreadable=self.unreadable)


MessageReader = Callable[[requests.Response], str]


def json_or_none(response: requests.Response) -> Any:
    """The body as JSON, or None: error bodies and broken answers are not always JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def raw_message(response: requests.Response) -> str:
    """What to show when a server gives no structured explanation."""
    return response.text[:300] or response.reason or f"HTTP {response.status_code}"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return (parts.scheme, (parts.hostname or "").lower(), parts.port or default)


def _never_sent(error: requests.RequestException) -> bool:
    """True when the connection was never made, so the server cannot have acted."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.ConnectionError) and isinstance(
        reason, urllib3.exceptions.NewConnectionError
    )


FOLLOWED_REDIRECTS = (307, 308)
MAX_REDIRECTS = 3
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # reads: no fence needed


def user_agent(writer: str) -> str:
    """`edgio-ingress/<version> (<writer>)`: the provider's own request log then names
    the process that wrote (its Lease holder identity), so a write can be traced to a
    replica and checked against who held the Lease at the time."""
    return f"edgio-ingress/{__version__} ({writer})" if writer else f"edgio-ingress/{__version__}"


class HttpTransport:
    """One provider's JSON-over-HTTP session: pacing (`rate` requests/s, bursts of
    `burst`, one bucket per endpoint and credential), retries and error mapping."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        rate: float,
        burst: int,
        policy: RetryPolicy,
        timeout: float,
        auth: requests.auth.AuthBase,
        credential_id: str,
        secrets: tuple[str, ...] = (),
        message: MessageReader = raw_message,
        progress: Callable[[], None] = lambda: None,
        fence: Callable[[], None] = lambda: None,
        writer: str = "",
    ):
        self.provider = provider
        self._progress = progress  # told of every answer that went through (liveness)
        self._fence = fence  # asked right before every write request leaves (leadership)
        self.base_url = base_url.rstrip("/")
        self.limiter = shared_limiter(self.base_url, credential_id, rate, burst)
        self.policy = policy
        self.timeout = timeout
        self.redact = Redactor(*secrets)
        self._message = message
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Accept": "application/json",
                "Content-Type": "application/json",
                "User-Agent": user_agent(writer),
            }
        )
        self._session.auth = auth

    def budget(self) -> Budget:
        return Budget(self.policy)

    def retrying(self, budget: Budget, *, write: bool = False) -> Retrying:
        """A tenacity loop drawing on `budget`. For a write, only failures that prove
        nothing was written are retried."""

        def worth_retrying(error: BaseException) -> bool:
            if not isinstance(error, ProviderError) or not error.retryable:
                return False
            if write and error.maybe_applied:
                return False
            if error.retry_after is not None:
                return error.retry_after <= self.policy.max_retry_after
            return True

        return Retrying(
            retry=retry_if_exception(worth_retrying),
            stop=budget.stop,
            wait=budget.wait,
            reraise=True,
        )

    def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        budget: Budget | None = None,
    ) -> requests.Response:
        """An idempotent call, retried per policy."""
        for attempt in self.retrying(budget or self.budget()):
            with attempt:
                return self.send(operation, method, path, params=params, data=data)
        raise AssertionError("unreachable: tenacity reraises the last error")

    def request_json(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        budget: Budget | None = None,
    ) -> Any:
        """An idempotent call whose answer is JSON; an answer that is not is retried
        like a 5xx (a proxy's error page, a cut body)."""
        return self.fetch(operation, method, path, _as_is, params=params, data=data, budget=budget)

    def fetch(
        self,
        operation: str,
        method: str,
        path: str,
        read: Callable[[Any], R],
        *,
        params: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        budget: Budget | None = None,
    ) -> R:
        """An idempotent call whose JSON answer `read` turns into a value. An answer that
        is not JSON, or that `read` refuses with a ServerError (not the expected shape),
        is retried like a 5xx: a proxy's error page or a cut body is usually passing."""
        for attempt in self.retrying(budget or self.budget()):
            with attempt:
                response = self.send(operation, method, path, params=params, data=data)
                return read(self.parse(operation, response))
        raise AssertionError("unreachable: tenacity reraises the last error")

    def create(
        self, operation: str, path: str, data: bytes, *, budget: Budget | None = None
    ) -> Any:
        """POST a new object; the answer's JSON. Never posted again after an answer
        that may hide a write: that raises :class:`OutcomeUnknown`."""
        failure: ProviderError
        try:
            for attempt in self.retrying(budget or self.budget(), write=True):
                with attempt:
                    response = self.send(operation, "POST", path, data=data)
                    return self.parse(operation, response)
        except ProviderError as error:
            if not error.maybe_applied:
                raise
            failure = OutcomeUnknown(error)
        else:
            raise AssertionError("unreachable: tenacity reraises the last error")
        raise failure  # outside the handler: nothing of the lost attempt is chained

    def parse(self, operation: str, response: requests.Response) -> Any:
        """The answer's JSON; a retryable ServerError when it is not JSON."""
        try:
            return response.json()
        except ValueError:
            pass
        raise ServerError(self.provider, operation, "answer is not JSON", response.status_code)

    def send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: bytes | None = None,
    ) -> requests.Response:
        """Exactly one attempt; a non-2xx answer becomes a typed error."""
        if self.limiter.acquire() > 0:
            PROVIDER_THROTTLES.labels(self.provider, "client").inc()
        url = f"{self.base_url}/{path.lstrip('/')}"
        started = time.monotonic()
        try:
            response = self._exchange(operation, method, url, params, data)
        finally:
            PROVIDER_CALL_SECONDS.labels(self.provider, operation).observe(
                time.monotonic() - started
            )
        if 200 <= response.status_code < 300:
            PROVIDER_CALLS.labels(self.provider, operation, "ok").inc()
            self._progress()
            return response
        failure = self._error(operation, response)
        PROVIDER_CALLS.labels(self.provider, operation, failure.reason).inc()
        if isinstance(failure, Throttled):
            PROVIDER_THROTTLES.labels(self.provider, "server").inc()
        raise failure

    def _exchange(
        self,
        operation: str,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        data: bytes | None,
    ) -> requests.Response:
        """The HTTP exchange, following only same-origin 307/308 redirects."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self._once(operation, method, url, params, data)
            if not response.is_redirect:
                return response
            target = urljoin(response.url, response.headers.get("Location", ""))
            if response.status_code not in FOLLOWED_REDIRECTS or _origin(target) != _origin(
                self.base_url
            ):
                return response  # mapped to Redirected by _error
            url, params = target, None  # the query is in the target
        return response

    def _once(
        self,
        operation: str,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        data: bytes | None,
    ) -> requests.Response:
        """One request. A failure is raised outside the handler and without the requests
        exception, which holds the request and so its Authorization header.

        A write asks the fence here, at the last moment, not only before its change: the
        pacing wait, a retry's backoff or a Retry-After can hold a write for seconds, and
        leadership may end meanwhile (the fence then raises and nothing is sent)."""
        if method not in SAFE_METHODS:
            self._fence()
        failure: Unavailable
        try:
            return self._session.request(
                method, url, params=params, data=data, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as error:
            never_sent = _never_sent(error)
            detail = type(error).__name__ + (" (not connected)" if never_sent else "")
            failure = Unavailable(self.provider, operation, detail, maybe_applied=not never_sent)
        PROVIDER_CALLS.labels(self.provider, operation, "unavailable").inc()
        raise failure

    def _error(self, operation: str, response: requests.Response) -> ProviderError:
        status = response.status_code
        message = self.redact(f"HTTP {status}: {self._message(response)}")
        if 300 <= status < 400:
            where = _origin(urljoin(response.url, response.headers.get("Location", "")))
            return Redirected(
                self.provider,
                operation,
                f"HTTP {status} to {where[0]}://{where[1]}:{where[2]} not followed "
                "(only same-host 307/308 are, so credentials stay with the API)",
                status,
            )
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            return Throttled(self.provider, operation, message, status, retry_after)
        if status == 408:
            return Unavailable(self.provider, operation, message, status, maybe_applied=False)
        kinds: dict[int, type[ProviderError]] = {
            401: AuthFailed,
            403: AuthFailed,
            404: NotFound,
            409: Conflict,
            410: NotFound,
        }
        if status in kinds:
            return kinds[status](self.provider, operation, message, status)
        if status >= 500:  # RFC 9110 gives a 503 (and no other 5xx) a Retry-After
            later = retry_after if status == 503 else None
            return ServerError(self.provider, operation, message, status, later)
        return ValidationFailed(self.provider, operation, message, status)
