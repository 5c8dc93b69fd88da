"""Desired vs actual state -> an ordered Plan. Pure, deterministic, ownership-aware.

Rules every plan keeps (each is a property test, and the model-based test in
``tests/core/test_core_model.py`` checks them after every single write, with failures):
- nothing without our ownership marker is ever updated or deleted, nor a rule whose
  marker names a route in a namespace this install does not watch (`ownership.Scope`):
  it is treated as another install's;
- `upsert-only` never deletes, `create-only` never updates or deletes;
- order: ownership TXT records first, then A updates and creates, then CDN creates,
  updates and releases, then CDN deletes, then A deletes, then TXT deletes. So the origin
  name resolves before a rule points at it, a rule stops pointing at a name before the
  name goes, and on node rotation new addresses are added before old ones are removed;
- a name that is wanted and resolves keeps resolving after every single write, even
  through a TTL change (see :func:`_retime`);
- a rule is created or moved only onto a name that is, or in this plan becomes, ours and
  resolving: never onto someone else's records, never onto a held name without records.
  Otherwise it stays where it is, and the plan says why (`OriginNotReady`,
  `OriginForeign`);
- a name that any listed rule uses, ours or not, is never removed; nor is any name while
  a listed rule is still being published (Edgio serves its previous version, whose
  origin may be that name, until the new one is `COMPLETED`);
- what is held (broken input decides it) is neither updated nor deleted nor taken over
  by another route (which gets `Conflict`), nor is the origin name a held rule uses;
- the ownership TXT is never retimed: Vultr keeps one TTL per name and type, and the
  TXT name may hold other TXT records whose TTL we must not fight;
- the same inputs in any order give the same plan, and applying a plan to the actual
  state gives a state whose next plan is empty;
- names are compared only in normal form (:func:`reconciler.model.dns_name`): the same
  world with names spelled otherwise (case, a root dot) gives the same plan; rules' paths
  are compared in theirs (:func:`reconciler.model.url_path`);
- an object listed twice (same provider id) is one object: a copy is never deleted as
  a duplicate of itself, and when a listing was incomplete (it saw the collection change
  while paging, or two copies of one id differ) nothing is deleted at all;
- nothing is created where an incomplete listing may have missed it (:class:`Unlisted`):
  in a zone or account whose listing was incomplete, or anywhere when which one is not
  known, since the object may exist already; and no rule is pointed at a name whose
  records are therefore not created.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from reconciler.api import Reason
from reconciler.model import (
    Action,
    CdnRule,
    Change,
    DnsRecord,
    Holds,
    OwnerMarker,
    Plan,
    Policy,
    Skip,
    Skipped,
    dns_name,
)
from reconciler.registry import ownership

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
    Policy.SYNC: {Action.CREATE, Action.UPDATE, Action.DELETE, Action.RELEASE},
    Policy.UPSERT_ONLY: {Action.CREATE, Action.UPDATE, Action.RELEASE},
    Policy.CREATE_ONLY: {Action.CREATE},
}

NameKey = tuple[str, str]  # (zone, relative name), both in normal form (`DnsRecord.at`)
RuleKey = tuple[str, str, str]
NO_HOLDS = Holds()
INCOMPLETE = Reason.LISTING_INCOMPLETE.value
INCOMPLETE_MESSAGE = (
    "the provider's listing changed while it was read, so nothing is deleted in this pass"
)
Listed = TypeVar("Listed", DnsRecord, CdnRule)


@dataclass(frozen=True, slots=True)
class Unlisted:
    """Where a listing may have missed objects, so nothing is created there: it may be
    there already, and a create would make a duplicate every pass (Vultr takes a second
    TXT or A record with the same content). A paged listing cannot tell which part it
    missed, so the unit is the zone or the account; `every_zone` / `every_account` when
    not even that is known."""

    zones: frozenset[str] = frozenset()  # in normal form (dns_name)
    accounts: frozenset[str] = frozenset()
    every_zone: bool = False
    every_account: bool = False

    @classmethod
    def of(cls, zones: Iterable[str] = (), accounts: Iterable[str] = ()) -> Unlisted:
        return cls(frozenset(map(dns_name, zones)), frozenset(accounts))

    def zone(self, zone: str) -> bool:
        """Whether records in `zone` (in normal form) may be missing from the listing."""
        return self.every_zone or zone in self.zones

    def covers(self, subject: DnsRecord | CdnRule) -> bool:
        if isinstance(subject, DnsRecord):
            return self.zone(subject.at[0])
        return self.every_account or subject.shortname in self.accounts

    def why(self, subject: DnsRecord | CdnRule) -> str:
        where = f"zone {subject.zone}" if isinstance(subject, DnsRecord) else subject.shortname
        return (
            f"not created: the listing of {where} was incomplete (it changed while it was "
            "read, or held objects that could not be read) and may hold it already; the "
            "next complete listing decides"
        )


@dataclass
class _Builder:
    """Collects changes with their phase, filtering them through the policy."""

    policy: Policy
    complete: bool = True  # False: a listing may be missing objects, so nothing is deleted
    unlisted: Unlisted = Unlisted()  # where a listing may be missing objects: no creates
    staged: list[tuple[int, Change]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def allowed(self) -> set[Action]:
        return _ALLOWED[self.policy] - (set() if self.complete else {Action.DELETE})

    def add(self, phase: int, change: Change) -> None:
        if change.action is Action.CREATE and self.unlisted.covers(change.subject):
            self.skip(change.subject, INCOMPLETE, self.unlisted.why(change.subject))
            return
        if change.action in self.allowed:
            self.staged.append((phase, change))
            return
        if change.action in _ALLOWED[self.policy]:
            self.skip(change.subject, INCOMPLETE, INCOMPLETE_MESSAGE)
            return
        self.skipped.append(
            Skipped(
                change.subject,
                f"PolicyForbids{change.action.value.capitalize()}",
                f"policy {self.policy.value} does not allow a {change.action.value}",
                Skip.FORBIDDEN,
            )
        )

    def skip(
        self, subject: DnsRecord | CdnRule, reason: str, message: str, kind: Skip = Skip.WAITING
    ) -> None:
        self.skipped.append(Skipped(subject, reason, message, kind))

    def deleted_rules(self) -> set[str]:
        """Ids of listed rules this plan deletes (they stop using their origin)."""
        return {
            change.current.id or ""
            for _, change in self.staged
            if change.action is Action.DELETE and isinstance(change.current, CdnRule)
        }

    def plan(self) -> Plan:
        changes = sorted(self.staged, key=lambda item: (item[0], _sort_key(item[1].subject)))
        skipped = sorted(self.skipped, key=lambda s: (_sort_key(s.subject), s.reason))
        return Plan(tuple(change for _, change in changes), tuple(skipped))


@dataclass
class _Names:
    """What the plan knows of every origin name before any write, by zone and name."""

    owner: str
    held: frozenset[NameKey]
    unlisted: Unlisted
    fqdns: dict[str, NameKey] = field(default_factory=dict)  # fqdn in normal form -> key
    records_at: dict[NameKey, list[DnsRecord]] = field(default_factory=lambda: defaultdict(list))
    claims: dict[NameKey, list[DnsRecord]] = field(default_factory=lambda: defaultdict(list))
    wanted: dict[NameKey, list[DnsRecord]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def index(
        cls,
        desired: Iterable[DnsRecord],
        actual: Iterable[DnsRecord],
        owner: str,
        held: frozenset[NameKey],
        unlisted: Unlisted,
    ) -> _Names:
        held = frozenset((dns_name(zone), dns_name(name)) for zone, name in held)
        names = cls(owner, held, unlisted)
        for record in actual:
            names.records_at[record.at].append(record)
            names._know(record.at)
            claimed = ownership.claimed_name(record.name, record.type, record.data, owner)
            if claimed is not None:
                names.claims[(record.at[0], claimed)].append(record)
                names._know((record.at[0], claimed))
        for record in desired:
            names.wanted[record.at].append(record)
            names._know(record.at)
        return names

    def _know(self, key: NameKey) -> None:
        zone, name = key
        self.fqdns[f"{name}.{zone}" if name else zone] = key

    def key_of(self, fqdn: str) -> NameKey | None:
        return self.fqdns.get(dns_name(fqdn))

    def made_ours(self, key: NameKey) -> bool:
        """Whether this plan claims the name and gives it records (not held, and not in
        a zone whose listing was incomplete, where nothing is created)."""
        return (
            bool(self.wanted.get(key)) and key not in self.held and not self.unlisted.zone(key[0])
        )

    def a_records(self, key: NameKey) -> list[DnsRecord]:
        return [r for r in self.records_at.get(key, []) if r.type == "A"]

    def occupied(self, key: NameKey) -> bool:
        zone, name = key
        return bool(self.records_at.get(key)) or bool(
            self.records_at.get((zone, ownership.txt_name(name)))
        )

    def origin_problem(self, fqdn: str) -> tuple[str, str] | None:
        """Why a rule may not point at `fqdn` yet (reason, message), or None when the name
        is ours and resolves, or becomes so earlier in this plan."""
        key = self.key_of(fqdn)
        if key is not None and key in self.claims:
            if self.a_records(key) or self.made_ours(key):
                return None
        elif key is not None and self.occupied(key):
            return (
                Reason.ORIGIN_FOREIGN,
                f"{fqdn} has DNS records this controller does not own (no TXT "
                f"{ownership.txt_name(key[1])} with owner {self.owner})",
            )
        elif key is not None and self.made_ours(key):
            return None
        return Reason.ORIGIN_NOT_READY, f"{fqdn} does not resolve to this controller's records"


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
    adopting: frozenset[str] = frozenset(),
    unlisted: Unlisted | None = None,
    scope: ownership.Scope = ownership.EVERYWHERE,
) -> Plan:
    """Everything to write so that the providers hold the desired state.

    What `holds` names is left as it is, and so is every origin name a listed rule uses,
    and every rule outside `scope`.
    `complete=False` says a listing may be missing objects: the plan then deletes
    nothing. By default it is read from the listings themselves (a provider's
    ``Listing`` has a `complete` flag; a plain list counts as complete). `unlisted` says
    where such a listing may have missed objects, so nothing is created there; by
    default every zone of an incomplete DNS listing and every account of an incomplete
    CDN listing (anywhere, when `complete=False` is all that is said).
    """
    if unlisted is None:
        unlisted = _unlisted(actual_records, actual_rules, complete)
    if complete is None:
        complete = all(
            getattr(listed, "complete", True) for listed in (actual_records, actual_rules)
        )
    actual_records, records_agree = _once_per_id(actual_records)
    actual_rules, rules_agree = _once_per_id(actual_rules)
    builder = _Builder(policy, complete and records_agree and rules_agree, unlisted)
    names = _Names.index(desired_records, actual_records, owner, holds.names, unlisted)
    _plan_cdn(builder, set(desired_rules), actual_rules, (owner, scope), holds, names, adopting)
    deleted = builder.deleted_rules()
    in_use = {
        key
        for rule in actual_rules
        if (rule.id or "") not in deleted and (key := names.key_of(rule.source_host))
    }
    publishing = next((r for r in sorted(actual_rules, key=_sort_key) if not r.published), None)
    _plan_dns(builder, names, in_use, publishing)
    return builder.plan()


def _unlisted(
    records: Iterable[DnsRecord], rules: Iterable[CdnRule], complete: bool | None
) -> Unlisted:
    """Where listings that do not say which zone or account they missed may miss. A
    record that could not be read may be one of ours; a rule cannot be doubled that
    way, since Edgio refuses a second rule for one host and path."""
    if complete is False:
        return Unlisted(every_zone=True, every_account=True)
    return Unlisted(
        every_zone=not getattr(records, "complete", True)
        or bool(getattr(records, "unreadable", ())),
        every_account=not getattr(rules, "complete", True),
    )


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
        return ("dns", *subject.at, subject.type, subject.data, subject.id or "")
    return ("cdn", *subject.key, subject.id or "", subject.published_host)


def _by_id(records: Iterable[DnsRecord]) -> list[DnsRecord]:
    return sorted(records, key=lambda r: (r.id or "", r.ttl, r.data))


# --- DNS -------------------------------------------------------------------------------------


def _plan_dns(
    builder: _Builder, names: _Names, in_use: set[NameKey], publishing: CdnRule | None
) -> None:
    for key in sorted(set(names.wanted) | set(names.claims)):
        if key in names.held:
            continue
        want = sorted(names.wanted.get(key, []), key=lambda r: r.data)
        if key in names.claims:
            markers = _markers_first(names.claims[key], names.owner)
            if not want and not _may_remove(builder, key, markers[0], in_use, publishing):
                continue
            _owned_name(builder, key, want, names.a_records(key), markers, names.owner)
        elif want:
            _new_name(builder, key, want, names)


def _may_remove(
    builder: _Builder,
    key: NameKey,
    marker: DnsRecord,
    in_use: set[NameKey],
    publishing: CdnRule | None,
) -> bool:
    """An owned name nobody wants goes only when no rule uses it, even an old version."""
    fqdn = f"{key[1]}.{key[0]}"
    if key in in_use:
        builder.skip(
            marker, Reason.ORIGIN_IN_USE, f"{fqdn} stays: an Edgio rule still points at it"
        )
        return False
    if publishing is not None:
        builder.skip(
            marker,
            Reason.PUBLISHING,
            f"{fqdn} stays until Edgio has published "
            f"{publishing.published_host}{publishing.published_path} (state "
            f"{publishing.state}): the edge may still use the name",
        )
        return False
    return True


def _markers_first(markers: list[DnsRecord], owner: str) -> list[DnsRecord]:
    """Our TXT records at a name, the one already right first (it is the one kept)."""
    text = ownership.render(OwnerMarker(owner, ownership.ORIGIN_RESOURCE))
    return sorted(markers, key=lambda r: (r.data != text, r.id or "", r.ttl, r.data))


def _marker_record(key: NameKey, owner: str, ttl: int) -> DnsRecord:
    zone, name = key
    text = ownership.render(OwnerMarker(owner, ownership.ORIGIN_RESOURCE))
    return DnsRecord(zone, ownership.txt_name(name), "TXT", text, ttl)


def _new_name(builder: _Builder, key: NameKey, want: list[DnsRecord], names: _Names) -> None:
    """A name without our marker: claim it only if nobody else uses it."""
    if names.occupied(key):
        fqdn = want[0].fqdn
        for record in want:
            builder.skip(
                record,
                Reason.FOREIGN_RECORD,
                f"{fqdn} already has records that this controller does not own "
                f"(no TXT {ownership.txt_name(key[1])} with owner {names.owner}); left untouched",
                Skip.FOREIGN,
            )
        return
    claim = _marker_record(key, names.owner, want[0].ttl)
    builder.add(_TXT_CLAIM, Change(Action.CREATE, desired=claim))
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
    # The marker keeps its TTL: other TXT records at its name may share that TTL.
    desired_marker = _marker_record(key, owner, marker.ttl)
    if marker != desired_marker:
        builder.add(_TXT_CLAIM, Change(Action.UPDATE, desired=desired_marker, current=marker))
    if any(record.ttl != want[0].ttl for record in present):
        _retime(builder, want, _by_id(present))
        return
    _rotate(builder, want, present)


def _rotate(builder: _Builder, want: list[DnsRecord], present: list[DnsRecord]) -> None:
    """Add what is missing, drop duplicates and stale addresses (deleted last)."""
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

    Vultr keeps one TTL per name and type and refuses a create or an update that
    would mix two. So the set shrinks to one record, that one takes the new TTL, and
    the rest are created with it: for a moment the name resolves to a single node.
    A one-record set needs only the update, which `upsert-only` allows.
    """
    needed = {Action.UPDATE} | ({Action.DELETE} if len(present) > 1 else set())
    missing = sorted(needed - _ALLOWED[builder.policy])
    if missing:
        verb = missing[0].value
        for record in want:
            builder.skip(
                record,
                f"PolicyForbids{verb.capitalize()}",
                f"changing the TTL of {record.fqdn} needs a {verb} (Vultr keeps one TTL "
                f"per record set), which policy {builder.policy.value} does not allow",
                Skip.FORBIDDEN,
            )
        return
    if not needed <= builder.allowed:
        for record in want:
            builder.skip(
                record,
                INCOMPLETE,
                f"changing the TTL of {record.fqdn} needs a delete, and this pass deletes "
                "nothing: the provider's listing changed while it was read",
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


# --- CDN -------------------------------------------------------------------------------------


Owner = tuple[str, ownership.Scope]  # the owner id and the namespaces this install sees


def _is_ours(rule: CdnRule, owner: Owner) -> bool:
    return ownership.owns(rule.owner, *owner)


def _is_held(rule: CdnRule, holds: Holds) -> bool:
    return rule.key in holds.rules or (
        rule.owner is not None and rule.owner.resource in holds.routes
    )


def _plan_cdn(
    builder: _Builder,
    desired: set[CdnRule],
    actual: list[CdnRule],
    owner: Owner,
    holds: Holds,
    names: _Names,
    adopting: frozenset[str],
) -> None:
    present: dict[RuleKey, list[CdnRule]] = defaultdict(list)
    for rule in sorted(actual, key=_sort_key):
        present[rule.key].append(rule)
    wanted = {rule.key: rule for rule in desired}
    for key in sorted(set(wanted) | set(present)):
        ours = [r for r in present.get(key, []) if _is_ours(r, owner)]
        target = wanted.get(key)
        if target is None:
            for stale in ours:
                _unwanted_rule(builder, stale, holds)
        elif ours:
            _owned_rule(builder, target, ours, holds, names)
        elif present.get(key):
            _foreign_at(builder, target, present[key][0], names, adopting)
        elif problem := names.origin_problem(target.source_host):
            builder.skip(target, problem[0], f"not published yet: {problem[1]}")
        else:
            builder.add(_CDN_UPSERT, Change(Action.CREATE, desired=target))


def _unwanted_rule(builder: _Builder, stale: CdnRule, holds: Holds) -> None:
    if _is_held(stale, holds):
        builder.skip(*_held_rule(stale))
    elif stale.owner is not None and stale.owner.resource in holds.released:
        released = replace(stale, owner=None)
        builder.add(_CDN_UPSERT, Change(Action.RELEASE, desired=released, current=stale))
    else:
        builder.add(_CDN_DELETE, Change(Action.DELETE, current=stale))


def _owned_rule(
    builder: _Builder, target: CdnRule, ours: list[CdnRule], holds: Holds, names: _Names
) -> None:
    current, duplicates = ours[0], ours[1:]
    for duplicate in duplicates:
        builder.add(_CDN_DELETE, Change(Action.DELETE, current=duplicate))
    if _is_held(current, holds):
        holder = current.owner.resource if current.owner else ""
        if target.owner is not None and target.owner.resource != holder:
            builder.skip(
                replace(target, id=current.id),
                Reason.CONFLICT,
                f"{target.published_host}{target.published_path} is held by route "
                f"{ownership.route_of(holder)}, which published it and has a problem "
                "(see its conditions)",
            )
        else:
            builder.skip(*_held_rule(current))
        return
    if current == target:
        return
    moving = current.hosts[1] != target.hosts[1]
    if moving and (problem := names.origin_problem(target.source_host)):
        builder.skip(
            replace(target, id=current.id),
            problem[0],
            f"stays on {current.source_host}: {problem[1]}",
        )
        return
    builder.add(_CDN_UPSERT, Change(Action.UPDATE, desired=target, current=current))


def _foreign_at(
    builder: _Builder, target: CdnRule, holder: CdnRule, names: _Names, adopting: frozenset[str]
) -> None:
    """A rule someone else made holds the host and path. It is left alone, unless the
    route asked to adopt it and it carries no marker at all (never another cluster's):
    then it is rewritten in place, so the host is never unpublished."""
    asked = target.owner is not None and target.owner.resource in adopting
    if not asked or holder.owner is not None:
        builder.skip(*_foreign_rule(target, holder))
    elif problem := names.origin_problem(target.source_host):
        builder.skip(replace(target, id=holder.id), problem[0], f"not adopted yet: {problem[1]}")
    else:
        builder.add(_CDN_UPSERT, Change(Action.UPDATE, desired=target, current=holder))


def _held_rule(rule: CdnRule) -> tuple[CdnRule, str, str]:
    return (
        rule,
        Reason.HELD,
        f"{rule.published_host}{rule.published_path} stays as published while its route "
        "has a problem (see the route's conditions)",
    )


def _foreign_rule(rule: CdnRule, holder: CdnRule) -> tuple[CdnRule, str, str, Skip]:
    who = f"owner {holder.owner.owner}" if holder.owner else "no ownership marker"
    return (
        replace(rule, id=holder.id),
        Reason.FOREIGN_RULE,
        f"Edgio already has a rule for {holder.published_host}{rule.published_path} "
        f"({who}); left untouched",
        Skip.FOREIGN,
    )
