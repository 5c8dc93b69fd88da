"""Properties every plan must keep, over generated desired and actual states."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass, replace

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.model import (
    Action,
    CdnRule,
    Change,
    DnsRecord,
    Holds,
    OwnerMarker,
    Plan,
    Policy,
    ProtocolSet,
)
from reconciler.plan.diff import Unlisted, plan
from reconciler.registry import ownership

ME = "me"
ZONE = "example.com"
NAMES = ("origin", "nodes", "www")
ADDRESSES = tuple(f"203.0.113.{i}" for i in range(1, 6))
HOSTS = ("a.s.llnwi.net", "b.example.com")
PATHS = ("/", "/fred", "/api/")

_ids = itertools.count()


def new_id() -> str:
    return f"id-{next(_ids)}"


@dataclass(frozen=True)
class World:
    desired_records: frozenset[DnsRecord]
    actual_records: tuple[DnsRecord, ...]
    desired_rules: frozenset[CdnRule]
    actual_rules: tuple[CdnRule, ...]
    holds: Holds


markers = st.sampled_from(
    [
        ownership.render(OwnerMarker(ME, "origin")),
        ownership.render(OwnerMarker(ME, "something-older")),
        ownership.render(OwnerMarker("other", "origin")),
        "v=spf1 -all",
    ]
)


@st.composite
def actual_records(draw: st.DrawFn) -> tuple[DnsRecord, ...]:
    records = []
    for name in NAMES:
        for marker in draw(st.lists(markers, max_size=2)):
            records.append(DnsRecord(ZONE, ownership.txt_name(name), "TXT", marker, 60, new_id()))
        for address in draw(st.lists(st.sampled_from(ADDRESSES), max_size=4)):
            ttl = draw(st.sampled_from([60, 300]))
            records.append(DnsRecord(ZONE, name, "A", address, ttl, new_id()))
    return tuple(records)


@st.composite
def desired_records(draw: st.DrawFn) -> frozenset[DnsRecord]:
    ttl = draw(st.sampled_from([60, 300]))
    names = draw(st.sets(st.sampled_from(NAMES)))
    addresses = draw(st.sets(st.sampled_from(ADDRESSES), min_size=1))
    return frozenset(DnsRecord(ZONE, n, "A", a, ttl) for n in names for a in addresses)


def cdn_rule(host: str, path: str, port: int, owner: str | None, route: str) -> CdnRule:
    return CdnRule(
        shortname="sn",
        published_host=host,
        published_path=path,
        source_host=f"origin.{ZONE}",
        source_port=port,
        owner=OwnerMarker(owner, f"edgioroute/ns/{route}") if owner else None,
    )


rule_fields = st.tuples(
    st.sampled_from(HOSTS),
    st.sampled_from(PATHS),
    st.sampled_from([30080, 30081]),
    st.sampled_from(["r1", "r2"]),
)


def edited_https_set(rule: CdnRule) -> CdnRule:
    """The rule after a portal edit to its https protocol set alone (another port)."""
    http = ProtocolSet("http", rule.source_protocol, rule.source_port, rule.options)
    https = replace(http, published_protocol="https", source_port=8443)
    return replace(rule, published_protocols=("http", "https"), protocol_sets=(http, https))


@st.composite
def actual_rules(draw: st.DrawFn) -> tuple[CdnRule, ...]:
    fields = draw(st.lists(rule_fields, max_size=6, unique_by=lambda f: (f[0], f[1])))
    owners = st.sampled_from([ME, "other", None])
    rules = [
        replace(cdn_rule(h, p, port, draw(owners), r), id=new_id()) for h, p, port, r in fields
    ]
    return tuple(edited_https_set(r) if draw(st.booleans()) else r for r in rules)


@st.composite
def desired_rules(draw: st.DrawFn) -> frozenset[CdnRule]:
    fields = draw(st.lists(rule_fields, max_size=6, unique_by=lambda f: (f[0], f[1])))
    return frozenset(cdn_rule(h, p, port, ME, r) for h, p, port, r in fields)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    desired = draw(desired_records())
    held_names = draw(st.sets(st.sampled_from(NAMES), max_size=1))
    held_rules = draw(
        st.sets(
            st.tuples(st.just("sn"), st.sampled_from(HOSTS), st.sampled_from(PATHS)), max_size=2
        )
    )
    held_routes = draw(
        st.sets(st.sampled_from(["edgioroute/ns/r1", "edgioroute/ns/r2"]), max_size=1)
    )
    return World(
        desired_records=desired,
        actual_records=draw(actual_records()),
        desired_rules=draw(desired_rules()),
        actual_rules=draw(actual_rules()),
        holds=Holds(
            names=frozenset((ZONE, n) for n in held_names),
            rules=frozenset(held_rules),
            routes=frozenset(held_routes),
        ),
    )


policies = st.sampled_from(list(Policy))


def make_plan(
    world: World,
    policy: Policy,
    records: Iterable[DnsRecord] | None = None,
    rules: Iterable[CdnRule] | None = None,
) -> Plan:
    return plan(
        world.desired_records,
        world.actual_records if records is None else records,
        world.desired_rules,
        world.actual_rules if rules is None else rules,
        owner=ME,
        policy=policy,
        holds=world.holds,
    )


def apply(
    result: Plan, records: Iterable[DnsRecord], rules: Iterable[CdnRule]
) -> tuple[list[DnsRecord], list[CdnRule]]:
    """What a faithful provider holds after the plan's writes."""
    dns = {r.id: r for r in records}
    cdn = {r.id: r for r in rules}
    for change in result.changes:
        store: dict = dns if isinstance(change.subject, DnsRecord) else cdn
        if change.action is not Action.CREATE:
            assert change.current is not None
            del store[change.current.id]
        if change.action is not Action.DELETE:
            assert change.desired is not None
            identity = change.current.id if change.current else new_id()
            store[identity] = replace(change.desired, id=identity)
    return list(dns.values()), list(cdn.values())


def owned_names(records: Iterable[DnsRecord]) -> set[tuple[str, str]]:
    owned = set()
    for record in records:
        marker = ownership.parse(record.data) if record.type == "TXT" else None
        if marker and marker.owner == ME and record.name.startswith(ownership.TXT_PREFIX):
            owned.add((record.zone, record.name[len(ownership.TXT_PREFIX) :]))
    return owned


def phase(change: Change) -> str:
    subject = change.subject
    if isinstance(subject, CdnRule):
        return f"cdn-{change.action.value}"
    return f"{subject.type.lower()}-{change.action.value}"


@settings(max_examples=300, deadline=None)
@given(worlds(), policies)
def test_applying_a_plan_converges_in_one_step(world: World, policy: Policy) -> None:
    first = make_plan(world, policy)
    records, rules = apply(first, world.actual_records, world.actual_rules)
    assert make_plan(world, policy, records, rules).changes == ()


@settings(max_examples=300, deadline=None)
@given(worlds(), policies)
def test_foreign_objects_are_never_updated_or_deleted(world: World, policy: Policy) -> None:
    owned = owned_names(world.actual_records)
    for change in make_plan(world, policy).changes:
        current = change.current
        if current is None:
            continue
        if isinstance(current, CdnRule):
            assert current.owner is not None and current.owner.owner == ME
        elif current.type == "TXT":
            marker = ownership.parse(current.data)
            assert marker is not None and marker.owner == ME
        else:
            assert (current.zone, current.name) in owned


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_policies_limit_the_actions(world: World) -> None:
    assert Action.DELETE not in {c.action for c in make_plan(world, Policy.UPSERT_ONLY).changes}
    assert {c.action for c in make_plan(world, Policy.CREATE_ONLY).changes} <= {Action.CREATE}


RANK = {
    "txt-create": 0,
    "txt-update": 0,
    "a-shrink": 1,
    "a-update": 2,
    "a-create": 3,
    "cdn-create": 4,
    "cdn-update": 4,
    "cdn-release": 4,
    "cdn-delete": 5,
    "a-delete": 6,
    "txt-delete": 7,
}


def ranked(changes: tuple[Change, ...]) -> list[int]:
    """Each change's rank. An A delete before an A update of its own name shrinks a record
    set for a TTL change (see diff._retime): it ranks before the update; any other A
    delete comes after every rule write."""
    ranks = []
    for index, change in enumerate(changes):
        kind = phase(change)
        subject = change.subject
        if kind == "a-delete" and isinstance(subject, DnsRecord):
            later = changes[index + 1 :]
            shrinks = any(
                phase(c) == "a-update"
                and (c.subject.zone, c.subject.name) == (subject.zone, subject.name)  # type: ignore[union-attr]
                for c in later
            )
            kind = "a-shrink" if shrinks else kind
        ranks.append(RANK[kind])
    return ranks


@settings(max_examples=300, deadline=None)
@given(worlds(), policies)
def test_changes_come_in_safe_order(world: World, policy: Policy) -> None:
    """Claims, A shrinks, A updates and creates, rules, rule deletes, A deletes, claim
    deletes: so a name resolves before a rule points at it and goes only after."""
    ranks = ranked(make_plan(world, policy).changes)
    assert ranks == sorted(ranks)


def step(change: Change, records: list[DnsRecord]) -> list[DnsRecord]:
    """The DNS records after one write (CDN writes leave them as they are)."""
    if isinstance(change.subject, CdnRule):
        return records
    return apply(Plan((change,)), records, [])[0]


def a_counts(records: Iterable[DnsRecord]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for record in records:
        if record.type == "A":
            counts[(record.zone, record.name)] = counts.get((record.zone, record.name), 0) + 1
    return counts


@settings(max_examples=300, deadline=None)
@given(worlds(), policies)
def test_a_wanted_name_never_stops_resolving(world: World, policy: Policy) -> None:
    """After every single write, a wanted name that resolved still resolves."""
    result = make_plan(world, policy)
    wanted = {(r.zone, r.name) for r in world.desired_records}
    records = list(world.actual_records)
    resolving = {name for name, n in a_counts(records).items() if n and name in wanted}
    for change in result.changes:
        records = step(change, records)
        counts = a_counts(records)
        assert all(counts.get(name, 0) > 0 for name in resolving), change


@settings(max_examples=300, deadline=None)
@given(worlds(), policies)
def test_a_name_is_emptied_only_after_rule_deletes(world: World, policy: Policy) -> None:
    changes = make_plan(world, policy).changes
    records = list(world.actual_records)
    for index, change in enumerate(changes):
        if isinstance(change.subject, CdnRule):
            continue
        before = a_counts(records)
        records = step(change, records)
        name = (change.subject.zone, change.subject.name)
        if before.get(name, 0) > 0 and a_counts(records).get(name, 0) == 0:
            assert "cdn-delete" not in {phase(c) for c in changes[index:]}


@settings(max_examples=200, deadline=None)
@given(worlds(), policies, st.randoms(use_true_random=False))
def test_input_order_does_not_matter(world: World, policy: Policy, rnd: random.Random) -> None:
    records, rules = list(world.actual_records), list(world.actual_rules)
    rnd.shuffle(records)
    rnd.shuffle(rules)
    assert make_plan(world, policy, records, rules) == make_plan(world, policy)


@settings(max_examples=300, deadline=None)
@given(worlds(), policies)
def test_held_rules_are_never_changed_and_their_origins_stay(world: World, policy: Policy) -> None:
    held = [
        r
        for r in world.actual_rules
        if r.owner is not None
        and r.owner.owner == ME
        and r.key not in {d.key for d in world.desired_rules}
        and (r.key in world.holds.rules or r.owner.resource in world.holds.routes)
    ]
    changes = make_plan(world, policy).changes
    touched = {c.current.id for c in changes if isinstance(c.current, CdnRule)}
    assert touched.isdisjoint({r.id for r in held})
    if held:  # every held rule points at origin.example.com
        records = list(world.actual_records)
        before = a_counts(records).get((ZONE, "origin"), 0)
        for change in changes:
            records = step(change, records)
        assert a_counts(records).get((ZONE, "origin"), 0) >= min(before, 1)


def respell(rnd: random.Random, name: str, *, root_dot: bool = True) -> str:
    """The same DNS name in another spelling: letters in random case (RFC 4343) and, for
    a fully qualified name, perhaps the root dot (RFC 1034 section 3.1)."""
    letters = "".join(c.upper() if rnd.random() < 0.5 else c for c in name)
    return letters + ("." if root_dot and rnd.random() < 0.5 else "")


def respelled(world: World, rnd: random.Random) -> World:
    def record(r: DnsRecord) -> DnsRecord:
        return replace(r, zone=respell(rnd, r.zone), name=respell(rnd, r.name, root_dot=False))

    def rule(r: CdnRule) -> CdnRule:
        return replace(
            r,
            published_host=respell(rnd, r.published_host),
            source_host=respell(rnd, r.source_host),
        )

    held = frozenset(
        (respell(rnd, z), respell(rnd, n, root_dot=False)) for z, n in world.holds.names
    )
    return World(
        desired_records=frozenset(map(record, world.desired_records)),
        actual_records=tuple(map(record, world.actual_records)),
        desired_rules=frozenset(map(rule, world.desired_rules)),
        actual_rules=tuple(map(rule, world.actual_rules)),
        holds=replace(world.holds, names=held),
    )


@settings(max_examples=300, deadline=None)
@given(worlds(), policies, st.randoms(use_true_random=False))
def test_names_are_compared_only_in_normal_form(
    world: World, policy: Policy, rnd: random.Random
) -> None:
    """Every name of the world spelled otherwise (case, root dot) plans the same writes
    and holds the same objects back, for the same reasons."""
    normal, other = make_plan(world, policy), make_plan(respelled(world, rnd), policy)
    assert other.changes == normal.changes
    assert [(s.subject, s.reason) for s in other.skipped] == [
        (s.subject, s.reason) for s in normal.skipped
    ]


@settings(max_examples=300, deadline=None)
@given(worlds(), policies, st.booleans(), st.booleans())
def test_nothing_is_created_where_a_listing_may_have_missed_it(
    world: World, policy: Policy, zone: bool, account: bool
) -> None:
    """An incomplete listing of the zone (or the account) may have missed any object in
    it: a create there would duplicate it. No rule is pointed at a name whose records
    are therefore not made, either."""
    unlisted = Unlisted.of([ZONE] if zone else [], ["sn"] if account else [])
    result = plan(
        world.desired_records,
        world.actual_records,
        world.desired_rules,
        world.actual_rules,
        owner=ME,
        policy=policy,
        holds=world.holds,
        unlisted=unlisted,
    )
    created = [c.subject for c in result.changes if c.action is Action.CREATE]
    assert not any(unlisted.covers(subject) for subject in created)
    origin = (ZONE, "origin")  # every rule's origin
    ready = origin in owned_names(world.actual_records) and a_counts(world.actual_records).get(
        origin
    )
    pointed = [
        c for c in result.changes if c.action is Action.CREATE and isinstance(c.subject, CdnRule)
    ]
    assert not (zone and pointed and not ready)
