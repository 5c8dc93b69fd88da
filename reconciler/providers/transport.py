"""HTTP plumbing shared by the provider clients: pacing, retries, error mapping, metrics.

Every provider call goes through :meth:`HttpTransport.send` (one attempt) inside
:meth:`HttpTransport.retrying` (the policy). Idempotent calls use :meth:`request`,
which is just the two together; creates write their own loop so they can look for
the object before posting again (a POST whose answer was lost may have succeeded).
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from reconciler.metrics import PROVIDER_CALL_SECONDS, PROVIDER_CALLS, PROVIDER_THROTTLES
from reconciler.providers.base import (
    AuthFailed,
    Conflict,
    NotFound,
    ProviderError,
    ServerError,
    Throttled,
    Unavailable,
    ValidationFailed,
)


class RateLimiter:
    """A token bucket shared by all threads of one client.

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


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6
    initial_wait: float = 0.5
    max_wait: float = 20.0
    max_retry_after: float = 60.0


def parse_retry_after(
    value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now()).total_seconds())


def _is_retryable(error: BaseException) -> bool:
    return isinstance(error, ProviderError) and error.retryable


class _WaitHonouringRetryAfter:
    """Exponential backoff with jitter, unless the server said how long to wait."""

    def __init__(self, policy: RetryPolicy):
        self._policy = policy
        self._backoff = wait_exponential_jitter(multiplier=policy.initial_wait, max=policy.max_wait)

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, Throttled) and error.retry_after is not None:
            return min(error.retry_after, self._policy.max_retry_after)
        return float(self._backoff(state))


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


class HttpTransport:
    """One provider's JSON-over-HTTP session: pacing (`rate` requests/s, bursts of
    `burst`), retries and error mapping."""

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
        message: MessageReader = raw_message,
    ):
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.limiter = RateLimiter(rate, burst)
        self.policy = policy
        self.timeout = timeout
        self._message = message
        self._session = requests.Session()
        self._session.headers.update(
            {"Accept": "application/json", "Content-Type": "application/json"}
        )
        self._session.auth = auth

    def retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(self.policy.attempts),
            wait=_WaitHonouringRetryAfter(self.policy),
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
    ) -> requests.Response:
        """An idempotent call, retried per policy."""
        for attempt in self.retrying():
            with attempt:
                return self.send(operation, method, path, params=params, data=data)
        raise AssertionError("unreachable: tenacity reraises the last error")

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
            response = self._session.request(
                method, url, params=params, data=data, timeout=self.timeout
            )
        except requests.RequestException as error:
            PROVIDER_CALLS.labels(self.provider, operation, "unavailable").inc()
            raise Unavailable(self.provider, operation, type(error).__name__) from None
        finally:
            PROVIDER_CALL_SECONDS.labels(self.provider, operation).observe(
                time.monotonic() - started
            )
        if response.ok:
            PROVIDER_CALLS.labels(self.provider, operation, "ok").inc()
            return response
        failure = self._error(operation, response)
        PROVIDER_CALLS.labels(self.provider, operation, failure.reason).inc()
        if isinstance(failure, Throttled):
            PROVIDER_THROTTLES.labels(self.provider, "server").inc()
        raise failure

    def _error(self, operation: str, response: requests.Response) -> ProviderError:
        status = response.status_code
        message = f"HTTP {status}: {self._message(response)}"
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return Throttled(self.provider, operation, message, status, retry_after)
        kinds: dict[int, type[ProviderError]] = {
            401: AuthFailed,
            403: AuthFailed,
            404: NotFound,
            409: Conflict,
        }
        if status in kinds:
            return kinds[status](self.provider, operation, message, status)
        if status >= 500:
            return ServerError(self.provider, operation, message, status)
        return ValidationFailed(self.provider, operation, message, status)
