"""Desired vs actual state -> an ordered Plan. Pure, deterministic, ownership-aware.

Rules every plan keeps (each is a property test):
- nothing without our ownership marker is ever updated or deleted;
- `upsert-only` never deletes, `create-only` never updates or deletes;
- order: ownership TXT records first, then A updates and creates, then CDN creates and
  updates, then CDN deletes, then A deletes, then TXT deletes. So the origin name
  resolves before a rule points at it, a rule stops pointing at a name before the name
  goes, and on node rotation new addresses are added before old ones are removed;
- a name that is wanted and resolves keeps resolving after every single write, even
  through a TTL change (see :func:`_retime`);
- what is held (broken input decides it) is neither updated nor deleted, nor is the
  origin name a held rule uses;
- the same inputs in any order give the same plan, and applying a plan to the actual
  state gives a state whose next plan is empty;
- an object listed twice (same provider id) is one object: a copy is never deleted as
  a duplicate of itself, and when a listing was incomplete (it saw the collection change
  while paging, or two copies of one id differ) nothing is deleted at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from reconciler import ownership
from reconciler.model import (
    Action,
    CdnRule,
    Change,
    DnsRecord,
    Holds,
    OwnerMarker,
    Plan,
    Policy,
    Skipped,
)

(
    _TXT_CLAIM,
    _A_SHRINK,
    _A_UPDATE,
    _A_CREATE,
    _CDN_UPSERT,
    _CDN_DELETE,
    _A_DELETE,
    _TXT_DELETE,
) = range(8)

_ALLOWED = {
    Policy.SYNC: {Action.CREATE, Action.UPDATE, Action.DELETE},
    Policy.UPSERT_ONLY: {Action.CREATE, Action.UPDATE},
    Policy.CREATE_ONLY: {Action.CREATE},
}

NameKey = tuple[str, str]  # (zone, relative name)
NO_HOLDS = Holds()
Listed = TypeVar("Listed", DnsRecord, CdnRule)


@dataclass
class _Builder:
    """Collects changes with their phase, filtering them through the policy."""

    policy: Policy
    complete: bool = True  # False: a listing may be missing objects, so nothing is deleted
    staged: list[tuple[int, Change]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def allowed(self) -> set[Action]:
        return _ALLOWED[self.policy] - (set() if self.complete else {Action.DELETE})

    def add(self, phase: int, change: Change) -> None:
        if change.action in self.allowed:
            self.staged.append((phase, change))
            return
        if change.action in _ALLOWED[self.policy]:
            self.skipped.append(
                Skipped(
                    change.subject,
                    "ListingIncomplete",
                    "the provider's listing changed while it was read, so nothing is "
                    "deleted in this pass",
                )
            )
            return
        self.skipped.append(
            Skipped(
                change.subject,
                f"PolicyForbids{change.action.value.capitalize()}",
                f"policy {self.policy.value} does not allow a {change.action.value}",
            )
        )

    def plan(self) -> Plan:
        changes = sorted(self.staged, key=lambda item: (item[0], _sort_key(item[1].subject)))
        skipped = sorted(self.skipped, key=lambda s: (_sort_key(s.subject), s.reason))
        return Plan(tuple(change for _, change in changes), tuple(skipped))


def plan(
    desired_records: Iterable[DnsRecord],
    actual_records: Iterable[DnsRecord],
    desired_rules: Iterable[CdnRule],
    actual_rules: Iterable[CdnRule],
    *,
    owner: str,
    policy: Policy = Policy.SYNC,
    holds: Holds = NO_HOLDS,
    complete: bool | None = None,
) -> Plan:
    """Everything to write so that the providers hold the desired state.

    What `holds` names is left as it is, and so is every origin name a held rule uses.
    `complete=False` says a listing may be missing objects: the plan then deletes
    nothing. By default it is read from the listings themselves (a provider's
    ``Listing`` has a `complete` flag; a plain list counts as complete).
    """
    if complete is None:
        complete = all(
            getattr(listed, "complete", True) for listed in (actual_records, actual_rules)
        )
    actual_records, records_agree = _once_per_id(actual_records)
    actual_rules, rules_agree = _once_per_id(actual_rules)
    builder = _Builder(policy, complete=complete and records_agree and rules_agree)
    kept = _plan_cdn(builder, set(desired_rules), actual_rules, owner, holds)
    in_use = {(record.zone, record.name) for record in actual_records if record.fqdn in kept}
    _plan_dns(builder, set(desired_records), actual_records, owner, holds.names, in_use)
    return builder.plan()


def _once_per_id(listed: Iterable[Listed]) -> tuple[list[Listed], bool]:
    """Each provider object once (the first copy of an id), and whether the copies of
    every id agreed. A listing that repeats an object must not make the planner delete
    "the duplicate", which is the only real object."""
    first: dict[str, Listed] = {}
    unique: list[Listed] = []
    agree = True
    for item in listed:
        if item.id is None:
            unique.append(item)
        elif item.id not in first:
            first[item.id] = item
            unique.append(item)
        else:
            agree = agree and first[item.id] == item
    return unique, agree


def _sort_key(subject: DnsRecord | CdnRule) -> tuple[str, ...]:
    if isinstance(subject, DnsRecord):
        return ("dns", subject.zone, subject.name, subject.type, subject.data, subject.id or "")
    return ("cdn", *subject.key, subject.id or "")


def _by_id(records: Iterable[DnsRecord]) -> list[DnsRecord]:
    return sorted(records, key=lambda r: (r.id or "", r.ttl, r.data))


def _plan_dns(
    builder: _Builder,
    desired: set[DnsRecord],
    actual: list[DnsRecord],
    owner: str,
    held: frozenset[NameKey],
    in_use: set[NameKey],
) -> None:
    records_at: dict[NameKey, list[DnsRecord]] = defaultdict(list)
    for record in actual:
        records_at[(record.zone, record.name)].append(record)
    claims = _claims(actual, owner)
    wanted: dict[NameKey, list[DnsRecord]] = defaultdict(list)
    for record in desired:
        wanted[(record.zone, record.name)].append(record)
    for key in sorted(set(wanted) | set(claims)):
        if key in held or (key in in_use and key not in wanted):
            continue
        want = sorted(wanted.get(key, []), key=lambda r: r.data)
        present = [r for r in records_at.get(key, []) if r.type == "A"]
        if key in claims:
            _owned_name(builder, key, want, present, _by_id(claims[key]), owner)
        elif want:
            _new_name(builder, key, want, records_at, owner)


def _claims(actual: list[DnsRecord], owner: str) -> dict[NameKey, list[DnsRecord]]:
    """Names we own: those with a TXT marker naming our owner id."""
    claims: dict[NameKey, list[DnsRecord]] = defaultdict(list)
    for record in actual:
        name = ownership.marked_name(record.name) if record.type == "TXT" else None
        if name is None:
            continue
        marker = ownership.parse(record.data)
        if marker is not None and marker.owner == owner:
            claims[(record.zone, name)].append(record)
    return claims


def _marker_record(key: NameKey, owner: str, ttl: int) -> DnsRecord:
    zone, name = key
    text = ownership.render(OwnerMarker(owner, ownership.ORIGIN_RESOURCE))
    return DnsRecord(zone, ownership.txt_name(name), "TXT", text, ttl)


def _new_name(
    builder: _Builder,
    key: NameKey,
    want: list[DnsRecord],
    records_at: dict[NameKey, list[DnsRecord]],
    owner: str,
) -> None:
    """A name without our marker: claim it only if nobody else uses it."""
    zone, name = key
    occupants = records_at.get(key, []) + records_at.get((zone, ownership.txt_name(name)), [])
    if occupants:
        fqdn = want[0].fqdn
        for record in want:
            builder.skipped.append(
                Skipped(
                    record,
                    "ForeignRecord",
                    f"{fqdn} already has records that this controller does not own "
                    f"(no TXT {ownership.txt_name(name)} with owner {owner}); left untouched",
                )
            )
        return
    builder.add(_TXT_CLAIM, Change(Action.CREATE, desired=_marker_record(key, owner, want[0].ttl)))
    for record in want:
        builder.add(_A_CREATE, Change(Action.CREATE, desired=record))


def _owned_name(
    builder: _Builder,
    key: NameKey,
    want: list[DnsRecord],
    present: list[DnsRecord],
    markers: list[DnsRecord],
    owner: str,
) -> None:
    marker, extra_markers = markers[0], markers[1:]
    for record in extra_markers:
        builder.add(_TXT_DELETE, Change(Action.DELETE, current=record))
    if not want:
        for record in _by_id(present):
            builder.add(_A_DELETE, Change(Action.DELETE, current=record))
        builder.add(_TXT_DELETE, Change(Action.DELETE, current=marker))
        return
    desired_marker = _marker_record(key, owner, want[0].ttl)
    if marker != desired_marker:
        builder.add(_TXT_CLAIM, Change(Action.UPDATE, desired=desired_marker, current=marker))
    if any(record.ttl != want[0].ttl for record in present):
        _retime(builder, want, _by_id(present))
        return
    by_data: dict[str, list[DnsRecord]] = defaultdict(list)
    for record in _by_id(present):
        by_data[record.data].append(record)
    for record in want:
        existing = by_data.pop(record.data, [])
        if not existing:
            builder.add(_A_CREATE, Change(Action.CREATE, desired=record))
            continue
        if existing[0] != record:
            builder.add(_A_UPDATE, Change(Action.UPDATE, desired=record, current=existing[0]))
        for duplicate in existing[1:]:
            builder.add(_A_DELETE, Change(Action.DELETE, current=duplicate))
    for stale in by_data.values():
        for record in stale:
            builder.add(_A_DELETE, Change(Action.DELETE, current=record))


def _retime(builder: _Builder, want: list[DnsRecord], present: list[DnsRecord]) -> None:
    """A new TTL for a record set, without the name ever resolving to nothing.

    Vultr keeps one TTL per name and type and may refuse a create or an update that
    would mix two. So the set shrinks to one record, that one takes the new TTL, and
    the rest are created with it: for a moment the name resolves to a single node.
    """
    needed = {Action.UPDATE} | ({Action.DELETE} if len(present) > 1 else set())
    missing = sorted(needed - _ALLOWED[builder.policy])
    if missing:
        verb = missing[0].value
        for record in want:
            builder.skipped.append(
                Skipped(
                    record,
                    f"PolicyForbids{verb.capitalize()}",
                    f"changing the TTL of {record.fqdn} needs a {verb} (Vultr keeps one TTL "
                    f"per record set), which policy {builder.policy.value} does not allow",
                )
            )
        return
    if not needed <= builder.allowed:
        for record in want:
            builder.skipped.append(
                Skipped(
                    record,
                    "ListingIncomplete",
                    f"changing the TTL of {record.fqdn} needs a delete, and this pass deletes "
                    "nothing: the provider's listing changed while it was read",
                )
            )
        return
    wanted = {record.data: record for record in want}
    keep = next((record for record in present if record.data in wanted), present[0])
    target = wanted.get(keep.data, want[0])
    for record in present:
        if record is not keep:
            builder.add(_A_SHRINK, Change(Action.DELETE, current=record))
    builder.add(_A_UPDATE, Change(Action.UPDATE, desired=target, current=keep))
    for record in want:
        if record is not target:
            builder.add(_A_CREATE, Change(Action.CREATE, desired=record))


def _is_ours(rule: CdnRule, owner: str) -> bool:
    return rule.owner is not None and rule.owner.owner == owner


def _plan_cdn(
    builder: _Builder, desired: set[CdnRule], actual: list[CdnRule], owner: str, holds: Holds
) -> set[str]:
    """Plan the rules; returns the origin hostnames of owned rules kept by a hold."""
    kept: set[str] = set()
    present: dict[tuple[str, str, str], list[CdnRule]] = defaultdict(list)
    for rule in sorted(actual, key=lambda r: r.id or ""):
        present[rule.key].append(rule)
    wanted = {rule.key: rule for rule in desired}
    for key in sorted(set(wanted) | set(present)):
        ours = [r for r in present.get(key, []) if _is_ours(r, owner)]
        target = wanted.get(key)
        if target is None:
            for stale in ours:
                if key in holds.rules or (stale.owner and stale.owner.resource in holds.routes):
                    kept.add(stale.source_host)
                    builder.skipped.append(_held_rule(stale))
                else:
                    builder.add(_CDN_DELETE, Change(Action.DELETE, current=stale))
        elif ours:
            if ours[0] != target:
                builder.add(_CDN_UPSERT, Change(Action.UPDATE, desired=target, current=ours[0]))
            for duplicate in ours[1:]:
                builder.add(_CDN_DELETE, Change(Action.DELETE, current=duplicate))
        elif present.get(key):
            builder.skipped.append(_foreign_rule(target, present[key][0]))
        else:
            builder.add(_CDN_UPSERT, Change(Action.CREATE, desired=target))
    return kept


def _held_rule(rule: CdnRule) -> Skipped:
    return Skipped(
        rule,
        "Held",
        f"{rule.published_host}{rule.published_path} stays as published while its route "
        "has a problem (see the route's conditions)",
    )


def _foreign_rule(rule: CdnRule, holder: CdnRule) -> Skipped:
    who = f"owner {holder.owner.owner}" if holder.owner else "no ownership marker"
    return Skipped(
        replace(rule, id=holder.id),
        "ForeignRule",
        f"Edgio already has a rule for {rule.published_host}{rule.published_path} "
        f"({who}); left untouched",
    )
