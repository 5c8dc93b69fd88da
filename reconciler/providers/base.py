"""The seams the core depends on, and the errors providers raise.

A DNS provider and a CDN provider are each four calls: list everything once per pass,
then create, update or delete single objects. Another DNS service or CDN fits behind
the same Protocol without touching derive, diff or the loop.

A listing is a :class:`Listing`: a plain list of the objects (each id once), plus
`complete` (False when the collection kept changing while it was paged, so something
may be missing and the planner must neither delete, nor create in that zone or account
what may be there already) and `unreadable` (objects the provider
holds that could not be read; they are left alone as foreign and reported).

A create is posted at most once per call after an answer that may hide a write: when
the outcome is unknown (timeout, reset, 5xx) the call raises :class:`OutcomeUnknown`
and the next pass's listing decides whether the object exists.

Errors are types, because the loop turns them into conditions users act on. None of
them ever carries a credential: messages are built from status codes and the server's
own error text only, with anything that looks like a credential cut out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from reconciler.model import CdnRule, DnsRecord

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Unreadable:
    """An object a provider listed that we could not read. It is skipped, which makes it
    foreign (never updated or deleted); `problem` says what was wrong, for the report."""

    provider: str
    id: str | None
    problem: str


class Listing(list[T]):
    """The objects of one listing, each id once, in the provider's order.

    It is a list, so code that only iterates needs nothing new. `complete` is False when
    the collection changed while it was paged (an object repeated or missing, a total
    that moved) and one more listing saw it change again: some object may be missing,
    so the pass must not delete anything, nor create anything in this zone or account
    (see :func:`reconciler.plan.diff.plan` and :class:`reconciler.plan.diff.Unlisted`).
    """

    def __init__(
        self,
        items: Iterable[T] = (),
        *,
        complete: bool = True,
        unreadable: Iterable[Unreadable] = (),
    ):
        super().__init__(items)
        self.complete = complete
        self.unreadable = tuple(unreadable)

    def __repr__(self) -> str:
        return (
            f"Listing({list.__repr__(self)}, complete={self.complete}, "
            f"unreadable={len(self.unreadable)})"
        )


class DnsProvider(Protocol):
    def list_records(self, zone: str) -> Listing[DnsRecord]: ...

    def create_record(self, record: DnsRecord) -> DnsRecord: ...

    def update_record(self, current: DnsRecord, desired: DnsRecord) -> DnsRecord: ...

    def delete_record(self, record: DnsRecord) -> None: ...


class CdnProvider(Protocol):
    def list_rules(self, shortname: str) -> Listing[CdnRule]: ...

    def create_rule(self, rule: CdnRule) -> CdnRule: ...

    def update_rule(self, current: CdnRule, desired: CdnRule) -> CdnRule: ...

    def delete_rule(self, rule: CdnRule) -> None: ...


class ProviderError(Exception):
    """Base of every provider failure. `reason` is the CamelCase condition reason.

    `retryable`: trying the same call again may succeed. `maybe_applied`: a write that
    failed this way may still have been carried out (the server may have acted before
    the answer was lost), so a create must not be posted again on the strength of it.
    `retry_after`: the seconds the server asked us to wait (its Retry-After), if any.
    """

    reason = "ProviderError"
    retryable = False
    maybe_applied = False

    def __init__(
        self,
        provider: str,
        operation: str,
        message: str,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        self.provider = provider
        self.operation = operation
        self.status = status
        self.message = message
        self.retry_after = retry_after
        super().__init__(f"{provider} {operation}: {message}")


class AuthFailed(ProviderError):
    reason = "ProviderAuthFailed"


class NotFound(ProviderError):
    reason = "ProviderNotFound"


class ValidationFailed(ProviderError):
    """The provider refused the payload; `message` is the server's own explanation."""

    reason = "ProviderRejected"


class Conflict(ProviderError):
    """The provider already holds an object with the same natural key."""

    reason = "ProviderConflict"


class Throttled(ProviderError):
    reason = "ProviderThrottled"
    retryable = True

    def __init__(
        self,
        provider: str,
        operation: str,
        message: str,
        status: int | None = 429,
        retry_after: float | None = None,
    ):
        super().__init__(provider, operation, message, status, retry_after)


class ServerError(ProviderError):
    """A 5xx, or a 2xx answer we cannot read (not JSON, or not the expected shape).

    A 503 may say when to come back (Retry-After, RFC 9110 §10.2.3), as a 429 does."""

    reason = "ProviderServerError"
    retryable = True
    maybe_applied = True


class Unavailable(ProviderError):
    """No usable HTTP answer: refused, reset, timed out, or a 408.

    `maybe_applied` is False only when the request cannot have reached the server
    (the connection was never made) or the server said it did not read it (408).
    """

    reason = "ProviderUnavailable"
    retryable = True

    def __init__(
        self,
        provider: str,
        operation: str,
        message: str,
        status: int | None = None,
        *,
        maybe_applied: bool = True,
    ):
        super().__init__(provider, operation, message, status)
        self.maybe_applied = maybe_applied


class OutcomeUnknown(ProviderError):
    """A create whose outcome is unknown (timeout, reset, 5xx, unreadable answer).

    It is not posted again in the same call: a retry's lookup can run before a slow
    first POST lands and then make a duplicate. The next pass lists the provider and
    sees whether the object exists; the loop should treat this like a transient error.
    `cause` is the reason of the failure behind it (e.g. ``ProviderUnavailable``).
    """

    reason = "ProviderOutcomeUnknown"
    maybe_applied = True

    def __init__(self, cause: ProviderError):
        message = f"{cause.message}; the write may have been applied, the next listing decides"
        super().__init__(cause.provider, cause.operation, message, cause.status)
        self.cause = cause.reason


class Redirected(ProviderError):
    """The server answered with a redirect we do not follow: to another host (credentials
    and signed headers must not travel there) or one that does not keep the method."""

    reason = "ProviderRedirected"
