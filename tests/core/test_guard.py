"""The mass-deletion guard on the planner's own plans: the three ways a controller can
come to see everything it owns as orphans, the deletions a route accounts for, and the
properties that hold for any plan."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from hypothesis import example, given
from hypothesis import strategies as st

from reconciler.api import Reason
from reconciler.cmd.run import _share
from reconciler.model import Action, CdnRule, Change, DnsRecord, OwnerMarker, Plan
from reconciler.plan.diff import plan
from reconciler.plan.guard import (
    Accounted,
    DeleteGuard,
    Refusal,
    check,
    check_sweep,
    owned_records,
    owned_rules,
    refused,
)
from reconciler.registry import ownership

ME = "cluster-a"
ZONE = "example.com"
ORIGIN = f"origin.{ZONE}"


def txt(owner: str = ME, name: str = "origin") -> DnsRecord:
    marker = ownership.render(OwnerMarker(owner, ownership.ORIGIN_RESOURCE))
    return DnsRecord(ZONE, ownership.txt_name(name), "TXT", marker, 60, id=f"t-{name}")


def a(address: str, name: str = "origin") -> DnsRecord:
    return DnsRecord(ZONE, name, "A", address, 60, id=f"a-{name}-{address}")


def rule(path: str, route: str = "shop/web", owner: str | None = ME) -> CdnRule:
    marker = OwnerMarker(owner, ownership.route_resource(route)) if owner else None
    return CdnRule("exampleco", "exampleco.s.llnwi.net", path, ORIGIN, 30080, owner=marker)


def listed(rules: list[CdnRule]) -> list[CdnRule]:
    """Rules as a listing returns them: with the provider's ids."""
    return [replace(r, id=f"u{i}") for i, r in enumerate(rules)]


PUBLISHED_RECORDS = [txt(), a("203.0.113.1"), a("203.0.113.2")]
PUBLISHED_RULES = listed([rule(f"/p{i}", route=f"shop/r{i}") for i in range(4)])
ALL_ROUTES = Accounted(
    frozenset(ownership.route_resource(f"shop/r{i}") for i in range(4)), frozenset({ORIGIN})
)


def test_an_empty_cache_sees_only_orphans_and_is_refused() -> None:
    """No routes, no nodes: the planner would delete every rule and every record."""
    result = plan([], PUBLISHED_RECORDS, [], PUBLISHED_RULES, owner=ME)
    assert sum(c.action is Action.DELETE for c in result.changes) == 7
    refusal = check(result, PUBLISHED_RECORDS, PUBLISHED_RULES, ME, Accounted())
    assert refusal == Refusal("rules", 4, 4, 0.5)
    assert refusal.reason == Reason.MASS_DELETE_REFUSED
    assert "4 of 4 owned Edgio rules" in refusal.message and "all of them" in refusal.message
    assert "--allow-mass-delete" in refusal.message


def test_a_wrong_kubeconfig_sees_other_routes_and_is_refused() -> None:
    """Another cluster's routes explain none of ours; its nodes replace our addresses."""
    theirs = [rule("/elsewhere", route="other/site")]
    desired_records = [a("198.51.100.9")]
    result = plan(desired_records, PUBLISHED_RECORDS, theirs, PUBLISHED_RULES, owner=ME)
    accounted = Accounted(frozenset({ownership.route_resource("other/site")}), frozenset())
    refusal = check(result, PUBLISHED_RECORDS, PUBLISHED_RULES, ME, accounted)
    assert refusal is not None and refusal.kind == "rules" and refusal.deleting == 4


def test_a_wrong_owner_id_makes_another_clusters_rules_ours_and_is_refused() -> None:
    """Cluster B started with cluster A's owner id: A's rules look like B's orphans."""
    theirs = listed([rule(f"/a{i}", route=f"a/r{i}") for i in range(3)])
    mine = [rule("/b", route="b/site")]
    result = plan([], [], mine, theirs, owner=ME)
    accounted = Accounted(frozenset({ownership.route_resource("b/site")}), frozenset({ORIGIN}))
    refusal = check(result, [], theirs, ME, accounted)
    assert refusal == Refusal("rules", 3, 3, 0.5)


def test_records_alone_are_guarded_too() -> None:
    records = [txt(), a("203.0.113.1"), txt(name="old"), a("203.0.113.1", name="old")]
    result = plan([a("203.0.113.1")], records, [], [], owner=ME)
    # the unused origin "old" goes: 2 of 4 owned records is not more than half
    assert check(result, records, [], ME, Accounted(origins=frozenset({ORIGIN}))) is None
    # with no origin accounted for, all four go: refused
    result = plan([], records, [], [], owner=ME)
    refusal = check(result, records, [], ME, Accounted())
    assert refusal == Refusal("records", 4, 4, 0.5)


def test_deleting_the_last_route_is_allowed() -> None:
    """The route is still stored (being deleted, its finalizer waits): it accounts."""
    only = listed([rule("/fred")])
    records = [txt(), a("203.0.113.1")]
    result = plan([], records, [], only, owner=ME)
    assert len(result.changes) == 3
    accounted = Accounted(frozenset({ownership.route_resource("shop/web")}), frozenset({ORIGIN}))
    assert check(result, records, only, ME, accounted) is None


def test_a_changed_path_on_the_only_route_is_allowed() -> None:
    only = listed([rule("/fred")])
    result = plan([], [], [rule("/george")], only, owner=ME)
    accounted = Accounted(frozenset({ownership.route_resource("shop/web")}))
    assert check(result, [], only, ME, accounted) is None


def test_node_rotation_on_a_used_origin_is_allowed() -> None:
    result = plan([a("198.51.100.1"), a("198.51.100.2")], PUBLISHED_RECORDS, [], [], owner=ME)
    assert check(result, PUBLISHED_RECORDS, [], ME, ALL_ROUTES) is None


def test_one_orphan_among_many_is_swept() -> None:
    """A route that vanished while the controller was down is cleaned up: 1 of 4."""
    accounted = Accounted(ALL_ROUTES.resources - {ownership.route_resource("shop/r3")})
    wanted = [r for r in PUBLISHED_RULES if r.published_path != "/p3"]
    result = plan([], [], wanted, PUBLISHED_RULES, owner=ME)
    assert [c.action for c in result.changes] == [Action.DELETE]
    assert check(result, [], PUBLISHED_RULES, ME, accounted) is None


def test_the_share_is_configurable_and_allow_turns_it_off() -> None:
    accounted = Accounted(ALL_ROUTES.resources - {ownership.route_resource("shop/r3")})
    wanted = [r for r in PUBLISHED_RULES if r.published_path != "/p3"]
    result = plan([], [], wanted, PUBLISHED_RULES, owner=ME)
    strict = DeleteGuard(max_share=Fraction(1, 5))
    assert check(result, [], PUBLISHED_RULES, ME, accounted, strict) == Refusal(
        "rules", 1, 4, Fraction(1, 5)
    )
    empty = plan([], [], [], PUBLISHED_RULES, owner=ME)
    assert check(empty, [], PUBLISHED_RULES, ME, Accounted(), DeleteGuard(allow=True)) is None


def test_exactly_half_is_not_more_than_half() -> None:
    accounted = Accounted(frozenset(ownership.route_resource(f"shop/r{i}") for i in range(2)))
    wanted = PUBLISHED_RULES[:2]
    result = plan([], [], wanted, PUBLISHED_RULES, owner=ME)
    assert check(result, [], PUBLISHED_RULES, ME, accounted) is None
    result = plan([], [], wanted[:1], PUBLISHED_RULES, owner=ME)
    accounted = Accounted(frozenset({ownership.route_resource("shop/r0")}))
    assert check(result, [], PUBLISHED_RULES, ME, accounted) == Refusal("rules", 3, 4, 0.5)


def test_foreign_and_other_owners_objects_do_not_count_as_owned() -> None:
    records = [txt(), a("203.0.113.1"), txt(owner="cluster-b", name="b"), a("1.2.3.4", name="b")]
    records.append(a("5.6.7.8", name="www"))  # no marker at all
    assert owned_records(records, ME) == records[:2]
    rules = [rule("/x"), rule("/y", owner="cluster-b"), rule("/z", owner=None)]
    assert owned_rules(rules, ME) == rules[:1]


def test_a_refused_plan_writes_nothing_and_says_why_for_each_change() -> None:
    result = plan([], PUBLISHED_RECORDS, [], PUBLISHED_RULES, owner=ME)
    refusal = check(result, PUBLISHED_RECORDS, PUBLISHED_RULES, ME, Accounted())
    assert refusal is not None
    held = refused(result, refusal)
    assert held.empty
    assert [s.subject for s in held.skipped] == [c.subject for c in result.changes]
    assert {s.reason for s in held.skipped} == {"MassDeleteRefused"}


def test_the_share_must_be_a_fraction() -> None:
    for bad in (Fraction(-1, 10), Fraction(3, 2)):
        try:
            DeleteGuard(max_share=bad)
        except ValueError as error:
            assert "between 0 and 1" in str(error)
        else:
            raise AssertionError(f"{bad} accepted")


# --- properties over arbitrary plans ---------------------------------------------------

paths = st.lists(st.sampled_from([f"/p{i}" for i in range(8)]), unique=True, max_size=8)


@st.composite
def situations(draw: st.DrawFn) -> tuple[Plan, list[CdnRule], Accounted, DeleteGuard]:
    published = listed([rule(p, route=f"ns/{p[1:]}") for p in draw(paths)])
    kept = draw(st.lists(st.sampled_from(published), unique=True)) if published else []
    routes = draw(st.lists(st.sampled_from([f"ns/p{i}" for i in range(8)]), unique=True))
    accounted = Accounted(frozenset(ownership.route_resource(r) for r in routes))
    share = draw(st.fractions(0, 1, max_denominator=100))
    return plan([], [], kept, published, owner=ME), published, accounted, DeleteGuard(share)


@given(situations())
def test_a_refusal_is_more_than_the_share_or_all(
    case: tuple[Plan, list[CdnRule], Accounted, DeleteGuard],
) -> None:
    result, published, accounted, guard = case
    refusal = check(result, [], published, ME, accounted, guard)
    unaccounted = [
        c
        for c in result.changes
        if c.action is Action.DELETE
        and isinstance(c.current, CdnRule)
        and c.current.owner is not None
        and c.current.owner.resource not in accounted.resources
    ]
    owned = len(published)
    expected = bool(unaccounted) and (
        len(unaccounted) == owned or len(unaccounted) > guard.max_share * owned
    )
    assert (refusal is not None) == expected
    if refusal is not None:
        assert refusal.deleting == len(unaccounted) <= refusal.owned == owned


@given(situations())
def test_allow_never_refuses_and_accounting_for_every_route_never_refuses(
    case: tuple[Plan, list[CdnRule], Accounted, DeleteGuard],
) -> None:
    result, published, _, guard = case
    assert check(result, [], published, ME, Accounted(), DeleteGuard(allow=True)) is None
    every = Accounted(frozenset(r.owner.resource for r in published if r.owner))
    assert check(result, [], published, ME, every, guard) is None


@given(situations(), st.fractions(0, 1, max_denominator=100))
def test_a_stricter_share_refuses_whatever_a_looser_one_does(
    case: tuple[Plan, list[CdnRule], Accounted, DeleteGuard], other: Fraction
) -> None:
    result, published, accounted, guard = case
    strict, loose = sorted((guard.max_share, other))
    if check(result, [], published, ME, accounted, DeleteGuard(loose)) is not None:
        assert check(result, [], published, ME, accounted, DeleteGuard(strict)) is not None


@given(st.lists(st.sampled_from(PUBLISHED_RULES), min_size=1, unique=True))
def test_deleting_every_owned_rule_unaccounted_is_always_refused(doomed: list[CdnRule]) -> None:
    result = Plan(changes=tuple(Change(Action.DELETE, current=r) for r in doomed))
    for share in (Fraction(0), Fraction(1, 2), Fraction(1)):
        assert check(result, [], doomed, ME, Accounted(), DeleteGuard(share)) is not None


def owned_and_deleted(total: int, deleting: int) -> tuple[Plan, list[CdnRule]]:
    """`total` owned rules, no route accounting for any, and a plan deleting `deleting`."""
    published = listed([rule(f"/p{i}", route=f"ns/r{i}") for i in range(total)])
    return Plan(
        changes=tuple(Change(Action.DELETE, current=r) for r in published[:deleting])
    ), published


def test_exactly_the_share_is_not_more_than_the_share() -> None:
    """57 of 100 at 0.57: as floats 0.57 * 100 is 56.99..., and the pass was refused."""
    result, published = owned_and_deleted(100, 57)
    for text in ("0.57", "57%"):
        guard = DeleteGuard(_share(text))
        assert check(result, [], published, ME, Accounted(), guard) is None
        assert check_sweep(57, 100, guard) is None
        assert check_sweep(58, 100, guard) is not None
    assert "limit 57%" in Refusal("rules", 58, 100, _share("0.57")).message
    assert "limit 57.5%" in Refusal("rules", 58, 100, _share("57.5%")).message


@given(
    total=st.integers(1, 300),
    hundredths=st.integers(0, 100),
    offset=st.integers(-1, 1) | st.integers(-300, 300),
    as_percent=st.booleans(),
)
@example(total=100, hundredths=57, offset=0, as_percent=False)
@example(total=50, hundredths=58, offset=0, as_percent=True)
def test_the_guard_refuses_exactly_more_than_the_share_as_written(
    total: int, hundredths: int, offset: int, as_percent: bool
) -> None:
    """Over (deleting, total, share): refused exactly when all go, or when deleting is
    more than share * total, judged in integers (deleting * 100 > hundredths * total),
    with the share written as an operator writes it. Deleting is drawn around the
    boundary (`offset` from share * total) as often as anywhere: rounding lies there."""
    deleting = min(max(1, hundredths * total // 100 + offset), total)
    text = f"{hundredths}%" if as_percent else f"{hundredths / 100:g}"
    guard = DeleteGuard(_share(text))
    result, published = owned_and_deleted(total, deleting)
    expected = deleting == total or deleting * 100 > hundredths * total
    refusal = check(result, [], published, ME, Accounted(), guard)
    assert (refusal is not None) == expected, (deleting, total, text)
    assert (check_sweep(deleting, total, guard) is not None) == (expected and deleting > 1)


def test_the_sweep_may_release_one_route_or_up_to_the_share() -> None:
    assert check_sweep(1, 1) is None  # the label taken off your only Ingress
    assert check_sweep(2, 4) is None
    refusal = check_sweep(3, 4)
    assert refusal is not None and refusal.kind == "routes"
    assert "delete 3 of 4 derived EdgioRoutes" in refusal.message
    assert "stay published" in refusal.message and "--allow-mass-delete" in refusal.message
    assert check_sweep(2, 2) is not None
    assert check_sweep(3, 4, DeleteGuard(Fraction(4, 5))) is None
    assert check_sweep(4, 4, DeleteGuard(allow=True)) is None
