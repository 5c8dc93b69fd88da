"""Carry out a Plan through the provider Protocols, keeping its safety under failure.

The plan's order makes every step safe when all writes succeed. When one fails (or is
held), the writes that relied on it are held back instead of made anyway:
- a failed ownership TXT create leaves the name unclaimed: no A record is written there
  (it would look foreign to every later pass) and no rule is created at or moved onto it;
- a failed A create or update leaves the name unsettled: no A or TXT record is deleted
  there (node rotation must not empty it) and no rule is created at or moved onto it;
- a rule whose delete, update or release failed (or was held) still uses its origin:
  that name is not removed.
Before each write the fence is asked whether this process may still write: when it says
no (the Lease was lost, or a stop was asked for) LeadershipLost ends the plan there.
A failed write anywhere else holds nothing: a TXT update that Vultr refuses does not stop
a rule's port change or a node's replacement. Everything else goes ahead, so one bad
object never blocks the others; the next pass retries what failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from reconciler.fence import unfenced
from reconciler.model import Action, CdnRule, Change, DnsRecord, Plan
from reconciler.providers.base import CdnProvider, DnsProvider, ProviderError
from reconciler.registry.ownership import origin_of


@dataclass
class ApplyReport:
    applied: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, ProviderError]] = field(default_factory=list)
    held: list[Change] = field(default_factory=list)  # not tried: something it needs failed

    @property
    def ok(self) -> bool:
        return not self.failed and not self.held


@dataclass
class _Origins:
    """What the writes so far mean for each origin name (fqdn in normal form)."""

    unclaimed: set[str] = field(default_factory=set)  # its ownership TXT was not created
    unsettled: set[str] = field(default_factory=set)  # an A create or update did not happen
    busy: set[str] = field(default_factory=set)  # a rule that was to leave it did not

    def blocks(self, change: Change) -> bool:
        subject = change.subject
        if isinstance(subject, CdnRule):
            return _points_anew(change) and _fqdn(subject) in self.unclaimed | self.unsettled
        origin = origin_of(subject)
        if origin in self.unclaimed:
            return True
        return change.action is Action.DELETE and origin in self.unsettled | self.busy

    def lost(self, change: Change) -> None:
        """Record that `change` did not happen (it failed, or was held)."""
        subject = change.subject
        if isinstance(subject, CdnRule):
            if isinstance(change.current, CdnRule):
                self.busy.add(_fqdn(change.current))
        elif subject.type == "TXT" and change.action is Action.CREATE:
            self.unclaimed.add(origin_of(subject))
        elif subject.type == "A" and change.action is not Action.DELETE:
            self.unsettled.add(origin_of(subject))


def _fqdn(rule: CdnRule) -> str:
    return rule.hosts[1]


def _points_anew(change: Change) -> bool:
    """A rule create, or an update that moves the rule to another origin."""
    if change.action is Action.CREATE:
        return True
    current, desired = change.current, change.desired
    return (
        change.action is Action.UPDATE
        and isinstance(current, CdnRule)
        and isinstance(desired, CdnRule)
        and _fqdn(current) != _fqdn(desired)
    )


def apply_plan(
    plan: Plan, dns: DnsProvider, cdn: CdnProvider, fence: Callable[[], None] = unfenced
) -> ApplyReport:
    report = ApplyReport()
    origins = _Origins()
    for change in plan.changes:
        if origins.blocks(change):
            report.held.append(change)
            origins.lost(change)
            continue
        fence()
        try:
            _write(change, dns, cdn)
        except ProviderError as error:
            report.failed.append((change, error))
            origins.lost(change)
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
    elif change.action in (Action.UPDATE, Action.RELEASE) and isinstance(current, CdnRule):
        assert isinstance(desired, CdnRule)
        cdn.update_rule(current, desired)
    elif isinstance(current, CdnRule):
        cdn.delete_rule(current)
