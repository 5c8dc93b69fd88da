"""Carry out a Plan through the provider Protocols, keeping its safety under failure.

The plan's order already makes every step safe when all writes succeed. When one fails,
the writes that relied on it are held back instead of made anyway:
- after a failed write at an origin name, no other write at that name (an A record
  created without its ownership TXT would look foreign to every later pass), and no CDN
  rule pointed at it;
- after a failed rule delete, the origin name it used is not removed.
Everything else goes ahead, so one bad object never blocks the others; the next pass
retries what failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.model import Action, CdnRule, Change, DnsRecord, Plan
from reconciler.ownership import marked_name
from reconciler.providers.base import CdnProvider, DnsProvider, ProviderError


@dataclass
class ApplyReport:
    applied: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, ProviderError]] = field(default_factory=list)
    held: list[Change] = field(default_factory=list)  # not tried: something it needs failed

    @property
    def ok(self) -> bool:
        return not self.failed and not self.held


def _origin_name(record: DnsRecord) -> str:
    """The origin hostname a record serves: A records directly, TXT markers by prefix."""
    name = record.name
    if record.type == "TXT":
        name = marked_name(name) or name
    return f"{name}.{record.zone}" if name else record.zone


def apply_plan(plan: Plan, dns: DnsProvider, cdn: CdnProvider) -> ApplyReport:
    report = ApplyReport()
    broken_origins: set[str] = set()  # names whose records could not be written
    busy_origins: set[str] = set()  # names a rule still uses because its delete failed
    for change in plan.changes:
        subject = change.subject
        if isinstance(subject, CdnRule):
            blocked = change.action is not Action.DELETE and subject.source_host in broken_origins
        else:
            origin = _origin_name(subject)
            blocked = origin in broken_origins or (
                change.action is Action.DELETE and origin in busy_origins
            )
        if blocked:
            report.held.append(change)
            continue
        try:
            _write(change, dns, cdn)
        except ProviderError as error:
            report.failed.append((change, error))
            if isinstance(subject, DnsRecord):
                broken_origins.add(_origin_name(subject))
            elif change.action is Action.DELETE:
                busy_origins.add(subject.source_host)
        else:
            report.applied.append(change)
    return report


def _write(change: Change, dns: DnsProvider, cdn: CdnProvider) -> None:
    current, desired = change.current, change.desired
    if isinstance(change.subject, DnsRecord):
        if change.action is Action.CREATE and isinstance(desired, DnsRecord):
            dns.create_record(desired)
        elif change.action is Action.UPDATE and isinstance(current, DnsRecord):
            assert isinstance(desired, DnsRecord)
            dns.update_record(current, desired)
        elif isinstance(current, DnsRecord):
            dns.delete_record(current)
        return
    if change.action is Action.CREATE and isinstance(desired, CdnRule):
        cdn.create_rule(desired)
    elif change.action is Action.UPDATE and isinstance(current, CdnRule):
        assert isinstance(desired, CdnRule)
        cdn.update_rule(current, desired)
    elif isinstance(current, CdnRule):
        cdn.delete_rule(current)
