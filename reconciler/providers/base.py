"""The seams the core depends on, and the errors providers raise.

A DNS provider and a CDN provider are each four calls: list everything once per pass,
then create, update or delete single objects. Another DNS service or CDN fits behind
the same Protocol without touching derive, diff or the loop.

Errors are types, because the loop turns them into conditions users act on. None of
them ever carries a credential: messages are built from status codes and the server's
own error text only.
"""

from __future__ import annotations

from typing import Protocol

from reconciler.model import CdnRule, DnsRecord


class DnsProvider(Protocol):
    def list_records(self, zone: str) -> list[DnsRecord]: ...

    def create_record(self, record: DnsRecord) -> DnsRecord: ...

    def update_record(self, current: DnsRecord, desired: DnsRecord) -> DnsRecord: ...

    def delete_record(self, record: DnsRecord) -> None: ...


class CdnProvider(Protocol):
    def list_rules(self, shortname: str) -> list[CdnRule]: ...

    def create_rule(self, rule: CdnRule) -> CdnRule: ...

    def update_rule(self, current: CdnRule, desired: CdnRule) -> CdnRule: ...

    def delete_rule(self, rule: CdnRule) -> None: ...


class ProviderError(Exception):
    """Base of every provider failure. `reason` is the CamelCase condition reason."""

    reason = "ProviderError"
    retryable = False

    def __init__(self, provider: str, operation: str, message: str, status: int | None = None):
        self.provider = provider
        self.operation = operation
        self.status = status
        self.message = message
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
        super().__init__(provider, operation, message, status)
        self.retry_after = retry_after


class ServerError(ProviderError):
    reason = "ProviderServerError"
    retryable = True


class Unavailable(ProviderError):
    """No HTTP answer at all: refused, reset, timed out."""

    reason = "ProviderUnavailable"
    retryable = True
