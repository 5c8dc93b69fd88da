"""The planner on concrete situations users meet; the properties are in test_diff_properties."""

from __future__ import annotations

from dataclasses import replace

from reconciler.model import Action, CdnRule, DnsRecord, Holds, OwnerMarker, Policy, Skip
from reconciler.plan.diff import plan
from reconciler.registry import ownership

ME = "cluster-a"
MARKER = ownership.render(OwnerMarker(ME, "origin"))


def a(data: str, ttl: int = 60, id: str | None = None, name: str = "origin") -> DnsRecord:
    return DnsRecord("example.com", name, "A", data, ttl, id=id)


def txt(data: str = MARKER, id: str | None = "t1", name: str = "a-origin") -> DnsRecord:
    return DnsRecord("example.com", name, "TXT", data, 60, id=id)


def rule(
    port: int = 30080, owner: str | None = ME, id: str | None = None, path: str = "/fred"
) -> CdnRule:
    return CdnRule(
        shortname="exampleco",
        published_host="exampleco.s.llnwi.net",
        published_path=path,
        source_host="origin.example.com",
        source_port=port,
        owner=OwnerMarker(owner, "edgioroute/shop/web") if owner else None,
        id=id,
    )


def summary(changes: tuple) -> list[tuple[str, str, str]]:
    out = []
    for change in changes:
        subject = change.subject
        what = (
            f"{subject.type} {subject.name} {subject.data if subject.type == 'A' else ''}".strip()
            if isinstance(subject, DnsRecord)
            else f"rule {subject.published_path} {subject.source_port}"
        )
        out.append((change.action.value, what, (change.current.id or "") if change.current else ""))
    return out


def test_first_pass_claims_the_name_then_creates_records_then_the_rule() -> None:
    result = plan([a("203.0.113.1"), a("203.0.113.2")], [], [rule()], [], owner=ME)
    assert summary(result.changes) == [
        ("create", "TXT a-origin", ""),
        ("create", "A origin 203.0.113.1", ""),
        ("create", "A origin 203.0.113.2", ""),
        ("create", "rule /fred 30080", ""),
    ]
    assert result.changes[0].desired == txt(id=None)


def test_converged_state_plans_nothing() -> None:
    actual = [txt(), a("203.0.113.1", id="r1")]
    result = plan([a("203.0.113.1")], actual, [rule()], [rule(id="u1")], owner=ME)
    assert result.empty and result.skipped == ()


def test_node_rotation_adds_before_it_removes() -> None:
    actual = [txt(), a("203.0.113.1", id="r1"), a("203.0.113.2", id="r2")]
    result = plan([a("203.0.113.2"), a("203.0.113.3")], actual, [], [], owner=ME)
    assert summary(result.changes) == [
        ("create", "A origin 203.0.113.3", ""),
        ("delete", "A origin 203.0.113.1", "r1"),
    ]


def test_ttl_change_updates_in_place_before_creating() -> None:
    actual = [txt(), a("203.0.113.1", ttl=300, id="r1")]
    result = plan([a("203.0.113.1"), a("203.0.113.2")], actual, [], [], owner=ME)
    assert summary(result.changes) == [
        ("update", "A origin 203.0.113.1", "r1"),
        ("create", "A origin 203.0.113.2", ""),
    ]


def test_duplicate_addresses_are_collapsed() -> None:
    actual = [txt(), a("203.0.113.1", id="r1"), a("203.0.113.1", id="r2")]
    result = plan([a("203.0.113.1")], actual, [], [], owner=ME)
    assert summary(result.changes) == [("delete", "A origin 203.0.113.1", "r2")]


def test_foreign_records_at_the_origin_name_are_never_touched() -> None:
    actual = [a("198.51.100.7", id="theirs")]
    result = plan([a("203.0.113.1")], actual, [], [], owner=ME)
    assert result.changes == ()
    assert [s.reason for s in result.skipped] == ["ForeignRecord"]
    assert [s.kind for s in result.skipped] == [Skip.FOREIGN]
    assert "no TXT a-origin with owner cluster-a" in result.skipped[0].message


def test_another_clusters_marker_makes_the_name_foreign() -> None:
    theirs = ownership.render(OwnerMarker("cluster-b", "origin"))
    actual = [txt(theirs), a("198.51.100.7", id="r9")]
    result = plan([a("203.0.113.1")], actual, [], [], owner=ME)
    assert result.changes == ()
    assert [s.reason for s in result.skipped] == ["ForeignRecord"]
    # and nothing of theirs is removed when we stop wanting the name
    assert plan([], actual, [], [], owner=ME).empty


def test_unwanted_owned_name_goes_after_the_rules_that_used_it() -> None:
    actual = [txt(), a("203.0.113.1", id="r1")]
    result = plan([], actual, [], [rule(id="u1")], owner=ME)
    assert summary(result.changes) == [
        ("delete", "rule /fred 30080", "u1"),
        ("delete", "A origin 203.0.113.1", "r1"),
        ("delete", "TXT a-origin", "t1"),
    ]


def test_new_node_port_updates_the_rule() -> None:
    result = plan([], [], [rule(31000)], [rule(30080, id="u1")], owner=ME)
    assert summary(result.changes) == [("update", "rule /fred 31000", "u1")]
    assert result.changes[0].current is not None and result.changes[0].current.id == "u1"


def test_foreign_rule_is_reported_not_taken() -> None:
    for holder in (rule(owner=None, id="x"), rule(owner="cluster-b", id="x")):
        result = plan([], [], [rule()], [holder], owner=ME)
        assert result.changes == ()
        (skipped,) = result.skipped
        assert skipped.reason == "ForeignRule"
        assert "exampleco.s.llnwi.net/fred" in skipped.message


def test_an_unmarked_rule_is_adopted_in_place_only_when_its_route_asks() -> None:
    records, holder = [txt(), a("203.0.113.1", id="a1")], rule(owner=None, id="x", port=80)
    asking = frozenset({"edgioroute/shop/web"})
    result = plan([a("203.0.113.1")], records, [rule()], [holder], owner=ME, adopting=asking)
    assert summary(result.changes) == [("update", "rule /fred 30080", "x")]
    other = replace(holder, owner=OwnerMarker("cluster-b", "edgioroute/shop/web"))
    result = plan([a("203.0.113.1")], records, [rule()], [other], owner=ME, adopting=asking)
    assert result.changes == () and [s.reason for s in result.skipped] == ["ForeignRule"]
    assert [s.kind for s in result.skipped] == [Skip.FOREIGN]


def test_a_rule_is_not_adopted_onto_an_origin_that_does_not_resolve_yet() -> None:
    holder = rule(owner=None, id="x", port=80)
    asking = frozenset({"edgioroute/shop/web"})
    result = plan([], [], [rule()], [holder], owner=ME, adopting=asking)
    assert result.changes == ()
    assert [s.reason for s in result.skipped] == ["OriginNotReady"]


def test_handover_between_routes_is_an_update() -> None:
    current = replace(rule(id="u1"), owner=OwnerMarker(ME, "edgioroute/shop/old"))
    result = plan([], [], [rule()], [current], owner=ME)
    assert [c.action for c in result.changes] == [Action.UPDATE]


def test_policies_hold_back_what_they_forbid() -> None:
    actual = [txt(), a("203.0.113.1", id="r1"), a("203.0.113.9", id="r9")]
    desired = [a("203.0.113.1"), a("203.0.113.2")]
    rules = [rule(31000)], [rule(30080, id="u1"), rule(path="/old", id="u2")]
    upsert = plan(desired, actual, *rules, owner=ME, policy=Policy.UPSERT_ONLY)
    assert summary(upsert.changes) == [
        ("create", "A origin 203.0.113.2", ""),
        ("update", "rule /fred 31000", "u1"),
    ]
    assert [s.reason for s in upsert.skipped] == ["PolicyForbidsDelete", "PolicyForbidsDelete"]
    assert {s.kind for s in upsert.skipped} == {Skip.FORBIDDEN}  # what the report asks
    create = plan(desired, actual, *rules, owner=ME, policy=Policy.CREATE_ONLY)
    assert summary(create.changes) == [("create", "A origin 203.0.113.2", "")]
    assert sorted(s.reason for s in create.skipped) == [
        "PolicyForbidsDelete",
        "PolicyForbidsDelete",
        "PolicyForbidsUpdate",
    ]


def test_ttl_change_of_a_set_shrinks_it_to_one_record_first() -> None:
    """Vultr refuses mixed TTLs in a set: keep one record, retime it, recreate the rest."""
    actual = [txt(), a("203.0.113.1", 300, "r1"), a("203.0.113.2", 300, "r2")]
    result = plan([a("203.0.113.1"), a("203.0.113.2")], actual, [], [], owner=ME)
    assert summary(result.changes) == [
        ("delete", "A origin 203.0.113.2", "r2"),
        ("update", "A origin 203.0.113.1", "r1"),
        ("create", "A origin 203.0.113.2", ""),
    ]


def test_ttl_change_is_held_back_when_the_policy_forbids_its_steps() -> None:
    actual = [txt(), a("203.0.113.1", 300, "r1"), a("203.0.113.2", 300, "r2")]
    desired = [a("203.0.113.1"), a("203.0.113.3")]
    for policy in (Policy.UPSERT_ONLY, Policy.CREATE_ONLY):
        result = plan(desired, actual, [], [], owner=ME, policy=policy)
        assert result.changes == ()
        assert {s.reason for s in result.skipped} <= {"PolicyForbidsDelete", "PolicyForbidsUpdate"}
        assert "Vultr keeps one TTL per record set" in result.skipped[0].message


def test_held_names_keep_their_records() -> None:
    actual = [txt(), a("203.0.113.1", id="r1")]
    result = plan(
        [], actual, [], [], owner=ME, holds=Holds(names=frozenset({("example.com", "origin")}))
    )
    assert result.empty


def test_a_rule_with_a_broken_backend_stays_published_with_its_origin() -> None:
    actual = [txt(), a("203.0.113.1", id="r1")]
    holds = Holds(rules=frozenset({("exampleco", "exampleco.s.llnwi.net", "/fred")}))
    result = plan([], actual, [], [rule(id="u1")], owner=ME, holds=holds)
    assert result.changes == ()
    assert [s.reason for s in result.skipped] == ["Held", "OriginInUse"]


def test_an_invalid_route_keeps_its_rules_but_others_still_change() -> None:
    actual = [txt(), a("203.0.113.1", id="r1")]
    held_rule = rule(id="u1")
    other = replace(rule(id="u2", path="/other/"), owner=OwnerMarker(ME, "edgioroute/shop/gone"))
    holds = Holds(routes=frozenset({"edgioroute/shop/web"}))
    # the origin is still wanted by another route: node rotation goes on
    result = plan([a("203.0.113.2")], actual, [], [held_rule, other], owner=ME, holds=holds)
    assert summary(result.changes) == [
        ("create", "A origin 203.0.113.2", ""),
        ("delete", "rule /other/ 30080", "u2"),
        ("delete", "A origin 203.0.113.1", "r1"),
    ]


def test_a_foreign_rule_at_an_equivalent_path_is_reported_not_doubled() -> None:
    """`/caf%c3%a9` is `/café` (RFC 3986 section 6.2.2): a second rule for it would make
    Edgio choose between two rules for one URL."""
    actual = [txt(), a("203.0.113.1", id="r1"), rule(owner=None, id="u1", path="/caf%c3%a9")]
    records, rules = actual[:2], actual[2:]
    result = plan([a("203.0.113.1")], records, [rule(path="/caf%C3%A9")], rules, owner=ME)
    assert result.changes == ()
    assert [s.reason for s in result.skipped] == ["ForeignRule"]


def test_our_rule_published_in_another_spelling_is_rewritten_in_place() -> None:
    """A rule an earlier version published as `/café` is the rule for `/caf%C3%A9`: it
    is updated to the normal spelling, never deleted and created again."""
    records = [txt(), a("203.0.113.1", id="r1")]
    result = plan(
        [a("203.0.113.1")],
        records,
        [rule(path="/caf%C3%A9")],
        [rule(id="u1", path="/café")],
        owner=ME,
    )
    assert summary(result.changes) == [("update", "rule /caf%C3%A9 30080", "u1")]
