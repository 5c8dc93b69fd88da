"""The issue's examples, one per class, as a new user would meet them: each now has the
safe outcome. The properties behind them are in test_core_model and test_diff_properties."""

from __future__ import annotations

from dataclasses import replace

from reconciler.derive.desired import RuleState, desired_state
from reconciler.model import (
    Action,
    BackendRef,
    CdnRule,
    DeletionPolicy,
    DnsRecord,
    Holds,
    OwnerMarker,
    Policy,
    Route,
    RouteRule,
)
from reconciler.plan.diff import plan
from reconciler.plan.settle import settle
from reconciler.providers.apply import apply_plan
from reconciler.providers.base import ServerError
from reconciler.registry import ownership
from tests.core.memory_providers import MemoryEdgio, MemoryVultr, WireRecord
from tests.core.test_desired import NODES, SERVICES, SETTINGS

ME = SETTINGS.owner_id
ZONE = "example.com"
MARKER = ownership.render(OwnerMarker(ME, "origin"))


def a(data: str, name: str = "origin", ttl: int = 60, id: str | None = None) -> DnsRecord:
    return DnsRecord(ZONE, name, "A", data, ttl, id=id)


def txt(
    name: str = "a-origin", data: str = MARKER, ttl: int = 60, id: str | None = None
) -> DnsRecord:
    return DnsRecord(ZONE, name, "TXT", data, ttl, id=id)


def rule(
    source: str = "origin.example.com",
    route: str = "shop/web",
    id: str | None = None,
    host: str = "www.shop.com",
    state: str | None = "COMPLETED",
) -> CdnRule:
    owner = OwnerMarker(ME, ownership.route_resource(route))
    return CdnRule("exampleco", host, "/", source, 30080, owner=owner, id=id, state=state)


class Failing(MemoryVultr):
    """Vultr refusing writes of one name."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.failing = name

    def put(self, record_id: str | None, wire: WireRecord) -> DnsRecord:
        if wire.name == self.failing:
            raise ServerError("vultr", "write", "down", 500)
        return super().put(record_id, wire)


def seeded(vultr: MemoryVultr, *records: DnsRecord) -> list[DnsRecord]:
    for record in records:
        vultr.put(
            None,
            WireRecord(
                ZONE,
                record.name,
                record.type,
                f'"{record.data}"' if record.type == "TXT" else record.data,
                record.ttl,
            ),
        )
    return vultr.list_records(ZONE)


# --- class 1: a rule never points at a name that does not resolve ----------------------------


def test_a_failed_claim_of_the_new_origin_keeps_the_rule_and_the_old_origin() -> None:
    vultr, edgio = Failing("a-edge"), MemoryEdgio()
    actual = seeded(vultr, txt(), a("203.0.113.1"))
    current = edgio.create_rule(rule())
    edgio.publish()
    result = plan(
        [a("203.0.113.1", "edge")],
        actual,
        [rule("edge.example.com")],
        [edgio.rules[current.id or ""].rule],
        owner=ME,
    )
    report = apply_plan(result, vultr, edgio)
    assert [c.action for c, _ in report.failed] == [Action.CREATE]
    assert edgio.list_rules("exampleco")[0].source_host == "origin.example.com"
    assert vultr.a_count(ZONE, "origin") == 1


class RefusingEdgio(MemoryEdgio):
    """Edgio refusing every write of one published host."""

    def __init__(self, host: str) -> None:
        super().__init__()
        self.refused = host

    def update_rule(self, current: CdnRule, desired: CdnRule) -> CdnRule:
        self._refuse(current)
        return super().update_rule(current, desired)

    def delete_rule(self, rule: CdnRule) -> None:
        self._refuse(rule)
        super().delete_rule(rule)

    def _refuse(self, rule: CdnRule) -> None:
        if rule.published_host == self.refused:
            raise ServerError("edgio", "write", "down", 500)


def test_a_failed_rule_move_keeps_the_old_origin_and_the_rest_goes_on() -> None:
    vultr, edgio = MemoryVultr(), RefusingEdgio("www.shop.com")
    actual = seeded(vultr, txt(), a("203.0.113.1"))
    moving = edgio.create_rule(rule())
    gone = edgio.create_rule(rule(route="shop/gone", host="gone.shop.com"))
    edgio.publish()
    listed = edgio.list_rules("exampleco")
    desired = [a("203.0.113.1", "edge"), a("203.0.113.2", "edge")]
    result = plan(desired, actual, [rule("edge.example.com")], listed, owner=ME)
    report = apply_plan(result, vultr, edgio)
    assert [(c.action, c.subject) for c, _ in report.failed] == [
        (Action.UPDATE, rule("edge.example.com"))
    ]
    assert gone.id not in edgio.rules and moving.id in edgio.rules
    assert vultr.a_count(ZONE, "edge") == 2 and vultr.a_count(ZONE, "origin") == 1
    # the next pass, with the rule still on the old origin, keeps that origin
    again = plan(
        desired,
        vultr.list_records(ZONE),
        [rule("edge.example.com")],
        edgio.list_rules("exampleco"),
        owner=ME,
    )
    assert [c.action for c in again.changes] == [Action.UPDATE]


def test_a_failed_rule_delete_keeps_its_origin() -> None:
    vultr, edgio = MemoryVultr(), RefusingEdgio("www.shop.com")
    actual = seeded(vultr, txt(), a("203.0.113.1"))
    edgio.create_rule(rule())
    edgio.publish()
    result = plan([], actual, [], edgio.list_rules("exampleco"), owner=ME)
    assert [c.action for c in result.changes] == [Action.DELETE] * 3
    report = apply_plan(result, vultr, edgio)
    assert len(report.failed) == 1 and len(report.held) == 2
    assert vultr.a_count(ZONE, "origin") == 1


def test_a_rule_is_not_moved_onto_someone_elses_records() -> None:
    actual = [txt(id="t1"), a("203.0.113.1", id="r1"), a("198.51.100.7", "edge", id="f1")]
    result = plan(
        [a("203.0.113.1", "edge")], actual, [rule("edge.example.com")], [rule(id="u1")], owner=ME
    )
    assert result.changes == ()
    assert {s.reason for s in result.skipped} == {"ForeignRecord", "OriginForeign", "OriginInUse"}


def test_a_rule_is_not_moved_onto_a_held_name_without_records() -> None:
    holds = Holds(names=frozenset({(ZONE, "edge")}))
    actual = [txt(id="t1"), a("203.0.113.1", id="r1")]
    result = plan([], actual, [rule("edge.example.com")], [rule(id="u1")], owner=ME, holds=holds)
    assert result.changes == ()
    assert "OriginNotReady" in {s.reason for s in result.skipped}


def test_an_old_origin_stays_while_the_moved_rule_is_publishing() -> None:
    actual = [
        txt(id="t1"),
        a("203.0.113.1", id="r1"),
        txt("a-edge", id="t2"),
        a("203.0.113.1", "edge", id="r2"),
    ]
    desired = [a("203.0.113.1", "edge")]
    pending = rule("edge.example.com", id="u1", state="PENDING")
    assert plan(desired, actual, [rule("edge.example.com")], [pending], owner=ME).changes == ()
    published = replace(pending, state="COMPLETED")
    removed = plan(desired, actual, [rule("edge.example.com")], [published], owner=ME).changes
    assert [(c.action.value, c.subject.name) for c in removed] == [  # type: ignore[union-attr]
        ("delete", "origin"),
        ("delete", "a-origin"),
    ]


def test_a_foreign_rule_keeps_the_origin_it_uses() -> None:
    foreign = replace(rule(id="f1"), owner=None)
    result = plan([], [txt(id="t1"), a("203.0.113.1", id="r1")], [], [foreign], owner=ME)
    assert result.changes == ()


# --- class 2: a held rule is not taken over --------------------------------------------------


def test_a_held_rule_is_not_taken_over_and_the_competitor_is_told() -> None:
    older = Route(
        "a",
        "web",
        (RouteRule("www.shop.com", "/", "Prefix", BackendRef("web", "http")),),
        created="1",
    )
    newer = replace(older, namespace="b", created="2")
    services = {("b", "web"): SERVICES[("shop", "web")]}
    desired = desired_state([newer], services, NODES, SETTINGS, invalid_routes=["a/web"])
    listed = [replace(rule(route="a/web", id="u1"), published_path="/")]
    records = [txt(id="t1"), a("203.0.113.1", id="r1"), a("203.0.113.2", id="r2")]
    result = plan(desired.records, records, desired.rules, listed, owner=ME, holds=desired.holds)
    assert result.changes == ()
    (outcome,) = settle(desired, result).outcomes[0].rules
    assert outcome.state is RuleState.CONFLICT and "a/web" in outcome.message


# --- class 3: a pass that can never succeed --------------------------------------------------


def test_the_ownership_txt_is_not_retimed_beside_another_txt() -> None:
    actual = [
        txt(ttl=3600, id="t1"),
        txt(data="v=spf1 -all", ttl=3600, id="t2"),
        a("203.0.113.1", ttl=300, id="r1"),
    ]
    result = plan([a("203.0.113.1"), a("203.0.113.2")], actual, [], [], owner=ME)
    assert all(c.subject.type == "A" for c in result.changes)  # type: ignore[union-attr]


def test_a_refused_txt_update_does_not_hold_the_origins_other_writes() -> None:
    vultr, edgio = Failing("a-origin"), MemoryEdgio()
    old_marker = ownership.render(OwnerMarker(ME, "older"))
    MemoryVultr.put(vultr, None, WireRecord(ZONE, "a-origin", "TXT", f'"{old_marker}"', 60))
    MemoryVultr.put(vultr, None, WireRecord(ZONE, "origin", "A", "203.0.113.1", 60))
    result = plan([a("203.0.113.2")], vultr.list_records(ZONE), [], [], owner=ME)
    report = apply_plan(result, vultr, edgio)
    assert [c.action for c, _ in report.failed] == [Action.UPDATE]
    assert [r.data for r in vultr.list_records(ZONE) if r.type == "A"] == ["203.0.113.2"]


def test_a_ttl_change_of_a_single_record_is_an_update_upsert_only_allows() -> None:
    result = plan(
        [a("203.0.113.1")],
        [txt(id="t1"), a("203.0.113.1", ttl=300, id="r1")],
        [],
        [],
        owner=ME,
        policy=Policy.UPSERT_ONLY,
    )
    assert [c.action for c in result.changes] == [Action.UPDATE]


# --- class 4: deletionPolicy Orphan releases -------------------------------------------------


def test_deleting_an_orphan_route_releases_its_rules_and_keeps_their_origin() -> None:
    route = Route(
        "shop",
        "web",
        (RouteRule("www.shop.com", "/", "Prefix", BackendRef("web", "http")),),
        deletion_policy=DeletionPolicy.ORPHAN,
        deleting=True,
    )
    desired = desired_state([route], SERVICES, NODES, SETTINGS)
    records = [txt(id="t1"), a("203.0.113.1", id="r1")]
    listed = [rule(id="u1")]
    result = plan(desired.records, records, desired.rules, listed, owner=ME, holds=desired.holds)
    (change,) = result.changes
    assert change.action is Action.RELEASE and change.current == listed[0]
    assert isinstance(change.desired, CdnRule) and change.desired.owner is None
    released = [replace(listed[0], owner=None)]
    after = plan(desired.records, records, desired.rules, released, owner=ME, holds=desired.holds)
    assert after.changes == ()


# --- smaller ---------------------------------------------------------------------------------


def test_duplicate_or_malformed_marker_keys_are_foreign() -> None:
    assert ownership.parse(f"heritage=external-dns,{MARKER}") is None
    assert ownership.parse(f"{MARKER},edgio-ingress/owner=someone") is None
    assert ownership.parse(f"{MARKER},junk") is None
    assert ownership.claimed_name("origin", "TXT", MARKER, ME) is None
    assert ownership.claimed_name("a-origin", "TXT", MARKER, ME) == "origin"


def test_a_foreign_rule_differing_in_case_is_reported_not_fought() -> None:
    foreign = CdnRule("exampleco", "WWW.shop.com", "/", "elsewhere.net", 80, id="f1")
    records = [txt(id="t1"), a("203.0.113.1", id="r1")]
    result = plan([a("203.0.113.1")], records, [rule()], [foreign], owner=ME)
    assert result.changes == ()
    assert [s.reason for s in result.skipped] == ["ForeignRule"]
