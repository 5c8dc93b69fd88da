"""One log line per provider call: provider, operation, object, outcome, duration.

Wraps a provider client (anything behind the `DnsProvider` or `CdnProvider` Protocol) in
a proxy that logs each call it passes through, so an operator reads in the log exactly
what was asked of Vultr and Edgio, and how it went, without the clients knowing about
logging. Metrics per HTTP attempt (retries, throttles) stay in the transport; this is
the call as the controller made it. Writes and listings log at info, a failed call at
warning with the provider's own message (provider errors never carry credentials), and
the reads that follow a rule being published at debug.

Lines about a rule carry `route=namespace/name` when the rule's ownership marker names
one, like every other line about a route.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import structlog

from reconciler.model import CdnRule, DnsRecord
from reconciler.providers.base import ProviderError

P = TypeVar("P")
log = structlog.get_logger(__name__)
WRITES = frozenset(
    {
        "create_record",
        "update_record",
        "delete_record",
        "create_rule",
        "update_rule",
        "delete_rule",
    }
)
LISTINGS = frozenset({"list_records", "list_rules"})
READS = frozenset({"get_rule", "find_rule"})


def logged(provider: P, name: str) -> P:
    """`provider`, with every Protocol call logged under the provider name `name`."""
    return cast(P, _Logged(provider, name))


class _Logged:
    """Forwards everything; the provider operations it knows are timed and logged."""

    def __init__(self, inner: object, provider: str):
        self._inner = inner
        self._provider = provider

    def __repr__(self) -> str:
        return f"logged({self._inner!r})"  # the clients' own reprs hide their credentials

    def __getattr__(self, operation: str) -> Any:
        attribute = getattr(self._inner, operation)
        if operation not in WRITES | LISTINGS | READS or not callable(attribute):
            return attribute
        return self._timed(operation, attribute)

    def _timed(self, operation: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.monotonic()
            fields: dict[str, Any] = {"provider": self._provider, "operation": operation}
            fields.update(_subject(args))
            try:
                result = call(*args, **kwargs)
            except ProviderError as error:
                _failed(fields, error, time.monotonic() - started)
                raise
            fields["outcome"] = "ok"
            fields["duration"] = round(time.monotonic() - started, 4)
            if operation in LISTINGS and isinstance(result, list):
                fields["count"] = len(result)
            (log.debug if operation in READS else log.info)("provider call", **fields)
            return result

        return timed


def _failed(fields: dict[str, Any], error: ProviderError, duration: float) -> None:
    fields.update(outcome=error.reason, status=error.status, duration=round(duration, 4))
    log.warning("provider call", **fields, error=error.message[:300])


def _subject(args: tuple[Any, ...]) -> dict[str, str]:
    """What the call is about: the zone or account listed, or the record or rule written
    (an update names the object as it will be)."""
    if not args:
        return {}
    subject = args[-1]
    if isinstance(subject, DnsRecord):
        return {"record": f"{subject.fqdn} {subject.type} {_short(subject)}"}
    if isinstance(subject, CdnRule):
        fields = {"rule": f"{subject.shortname}/{subject.published_host}{subject.published_path}"}
        owner = subject.owner
        if owner is not None and owner.resource.startswith("edgioroute/"):
            fields["route"] = owner.resource.removeprefix("edgioroute/")
        return fields
    if isinstance(subject, str):
        return {"target": subject}  # a zone, an account, or a rule's uuid
    return {}


def _short(record: DnsRecord) -> str:
    """An address as is; a TXT value cut short (it is an ownership marker, and long)."""
    return record.data if len(record.data) <= 40 else record.data[:37] + "..."
