"""The planner and what listings can look like: an object listed twice is one object,
and a listing marked incomplete deletes nothing."""

from __future__ import annotations

from dataclasses import replace

from reconciler.model import Action, CdnRule, DnsRecord, OwnerMarker
from reconciler.plan.diff import Unlisted, plan
from reconciler.providers.base import Listing
from reconciler.registry import ownership

OWNER = "cluster-a"
ZONE = "example.com"
MARKER = DnsRecord(
    ZONE, "a-origin", "TXT", ownership.render(OwnerMarker(OWNER, "origin")), 60, id="t1"
)
A1 = DnsRecord(ZONE, "origin", "A", "203.0.113.1", 60, id="a1")
A2 = DnsRecord(ZONE, "origin", "A", "203.0.113.2", 60, id="a2")
RULE = CdnRule(
    "exampleco",
    "www.example.com",
    "/app/",
    "origin.example.com",
    30080,
    owner=OwnerMarker(OWNER, "edgioroute/default/web"),
    id="r1",
)


def deletes(records: list[DnsRecord], rules: list[CdnRule], **kw: object) -> list[str | None]:
    desired_records = [replace(r, id=None) for r in (MARKER, A1)]
    result = plan(desired_records, records, [replace(RULE, id=None)], rules, owner=OWNER, **kw)  # type: ignore[arg-type]
    return [c.subject.id for c in result.changes if c.action is Action.DELETE]


def test_a_repeated_object_is_never_deleted_as_its_own_duplicate() -> None:
    assert deletes([MARKER, MARKER, A1, A1], [RULE, RULE]) == []


def test_a_real_duplicate_with_another_id_is_still_deleted() -> None:
    assert deletes([MARKER, A1, replace(A1, id="a1-copy")], [RULE]) == ["a1-copy"]


def test_an_incomplete_listing_deletes_nothing() -> None:
    assert deletes([MARKER, A1, A2], [RULE]) == ["a2"]
    assert deletes(Listing([MARKER, A1, A2], complete=False), [RULE]) == []
    assert deletes([MARKER, A1, A2], Listing([RULE], complete=False)) == []
    assert deletes([MARKER, A1, A2], [RULE], complete=False) == []


def test_copies_of_one_id_that_differ_make_the_listing_incomplete() -> None:
    moved = replace(A2, data="203.0.113.9")
    result = plan([], [MARKER, A1, A2, moved], [], [], owner=OWNER)
    assert [c.action for c in result.changes if c.action is Action.DELETE] == []
    assert {s.reason for s in result.skipped} == {"ListingIncomplete"}


def creates(records: list[DnsRecord], rules: list[CdnRule], **kw: object) -> list[str]:
    desired_records = [replace(r, id=None) for r in (A1, A2)]
    desired_rules = [replace(RULE, id=None), replace(RULE, shortname="other", id=None)]
    result = plan(desired_records, records, desired_rules, rules, owner=OWNER, **kw)  # type: ignore[arg-type]
    found = [c.subject for c in result.changes if c.action is Action.CREATE]
    return [s.name if isinstance(s, DnsRecord) else s.shortname for s in found]


def test_an_incomplete_listing_creates_nothing_it_may_have_missed() -> None:
    """The listing may have missed A2 (and the rule): creating them would duplicate."""
    assert creates([MARKER, A1], [RULE]) == ["origin", "other"]
    assert creates(Listing([MARKER, A1], complete=False), [RULE]) == ["other"]
    assert creates([MARKER, A1], Listing([RULE], complete=False)) == ["origin"]
    assert creates([MARKER, A1], [RULE], complete=False) == []


def test_only_the_zone_or_account_listed_incompletely_is_held() -> None:
    assert creates([MARKER, A1], [], unlisted=Unlisted.of(["elsewhere.net"], ["exampleco"])) == [
        "origin",
        "other",
    ]
    assert creates([MARKER, A1], [], unlisted=Unlisted.of(["EXAMPLE.com."])) == [
        "exampleco",
        "other",
    ]


def test_no_rule_is_pointed_at_a_name_an_incomplete_listing_keeps_from_being_made() -> None:
    result = plan([A1], [], [replace(RULE, id=None)], [], owner=OWNER, unlisted=Unlisted.of([ZONE]))
    assert result.changes == ()
    assert {s.reason for s in result.skipped} == {"ListingIncomplete", "OriginNotReady"}
