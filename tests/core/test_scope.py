"""An install that watches some namespaces judges only the routes it can see.

A rule whose marker names a route in a namespace the install does not watch looks, to
that install, exactly like the rule of a deleted route. It may be another install's
(same owner id, other namespaces), so it is neither deleted nor updated, and the
mass-deletion guard does not count it among what a pass may delete."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.cluster.config import namespaced_owner_id
from reconciler.model import Action, CdnRule, DnsRecord, OwnerMarker, Policy
from reconciler.plan.diff import plan
from reconciler.plan.guard import Accounted, check, owned_rules
from reconciler.registry import ownership

ME = "cluster-a"
ZONE = "example.com"
SHOP = ownership.Scope(frozenset({"shop"}))
MARKER = ownership.render(OwnerMarker(ME, ownership.ORIGIN_RESOURCE))
RECORDS = [
    DnsRecord(ZONE, "a-origin", "TXT", MARKER, 60, id="t1"),
    DnsRecord(ZONE, "origin", "A", "203.0.113.1", 60, id="a1"),
]


def rule(route: str, path: str = "/fred", port: int = 30080, id: str | None = None) -> CdnRule:
    marker = OwnerMarker(ME, ownership.route_resource(route))
    return CdnRule(
        "exampleco", "exampleco.s.llnwi.net", path, f"origin.{ZONE}", port, owner=marker, id=id
    )


def test_the_scope_covers_routes_of_watched_namespaces_and_the_origin() -> None:
    assert SHOP.covers("edgioroute/shop/web") and SHOP.covers(ownership.ORIGIN_RESOURCE)
    assert not SHOP.covers("edgioroute/blog/web") and not SHOP.covers("edgioroute/shopping/x")
    assert not SHOP.covers("certificate/www.shop.com")  # no namespace we can tell: not ours
    assert ownership.EVERYWHERE.covers("edgioroute/blog/web")


def test_a_rule_of_an_unwatched_namespace_is_never_deleted() -> None:
    listed = [rule("shop/web", "/a", id="u1"), rule("blog/web", "/b", id="u2")]
    result = plan([], RECORDS, [], listed, owner=ME, scope=SHOP)
    assert [(c.action, c.subject) for c in result.changes] == [(Action.DELETE, listed[0])]
    assert [s.reason for s in result.skipped] == ["OriginInUse"]  # /b still uses it
    everywhere = plan([], RECORDS, [], listed, owner=ME)
    assert {c.subject for c in everywhere.changes} == {*listed, *RECORDS}


def test_a_rule_of_an_unwatched_namespace_at_a_wanted_path_is_foreign() -> None:
    """Another install's route holds the path: the watched route gets ForeignRule and the
    rule keeps its route and port (it is neither taken over nor updated)."""
    theirs = rule("blog/web", port=30099, id="u1")
    result = plan([RECORDS[1]], RECORDS, [rule("shop/web")], [theirs], owner=ME, scope=SHOP)
    assert result.changes == ()
    assert [s.reason for s in result.skipped] == ["ForeignRule"]


def test_the_guard_counts_only_rules_of_watched_namespaces() -> None:
    """An empty cache in a namespaced install would delete all three of its rules. With
    ten rules of another install's namespace counted too, 3 of 13 looked like a small
    share and went through."""
    mine = [rule(f"shop/r{i}", f"/s{i}", id=f"s{i}") for i in range(3)]
    others = [rule(f"blog/r{i}", f"/b{i}", id=f"b{i}") for i in range(10)]
    result = plan([], RECORDS, [], mine + others, owner=ME, scope=SHOP)
    assert len(owned_rules(mine + others, ME, SHOP)) == 3
    refusal = check(result, RECORDS, mine + others, ME, Accounted(), scope=SHOP)
    assert refusal is not None and (refusal.deleting, refusal.owned) == (3, 3)


namespaces = st.sampled_from(["shop", "blog", "news"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(namespaces, st.sampled_from(["/a", "/b", "/c"])), max_size=6),
    st.lists(st.tuples(namespaces, st.sampled_from(["/a", "/b", "/c"])), max_size=6),
    st.sets(namespaces, min_size=1),
    st.sampled_from(list(Policy)),
)
def test_no_plan_writes_a_rule_of_a_namespace_it_does_not_watch(
    listed: list[tuple[str, str]],
    wanted: list[tuple[str, str]],
    watched: set[str],
    policy: Policy,
) -> None:
    scope = ownership.Scope(frozenset(watched))
    one_per_path = {path: ns for ns, path in listed}  # Edgio holds one rule per host + path
    actual = [
        replace(rule(f"{ns}/web", path, port=30001), id=f"u{i}")
        for i, (path, ns) in enumerate(sorted(one_per_path.items()))
    ]
    claims = {path: ns for ns, path in sorted(wanted) if ns in watched}  # one route per path
    desired = {rule(f"{ns}/web", path) for path, ns in claims.items()}
    result = plan([RECORDS[1]], RECORDS, desired, actual, owner=ME, policy=policy, scope=scope)
    for change in result.changes:
        if isinstance(change.current, CdnRule):
            assert change.current.owner is not None
            assert scope.covers(change.current.owner.resource), change


def test_the_default_owner_id_of_a_namespaced_install_is_its_own() -> None:
    cluster = "k8s-5f1c1f9e-5b4a-4d8e-9c3e-0a1b2c3d4e5f"
    shop, blog = namespaced_owner_id(cluster, ["shop"]), namespaced_owner_id(cluster, ["blog"])
    assert namespaced_owner_id(cluster, []) == cluster
    assert len({cluster, shop, blog}) == 3
    both = namespaced_owner_id(cluster, ["shop", "blog"])
    assert both == namespaced_owner_id(cluster, ["blog", "shop", "blog"])
    assert both not in (shop, blog) and len(both) <= 63 and both.startswith(cluster)
