"""The pure status: conditions and reasons for every situation a route can be in."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from reconciler.derive.desired import RouteOutcome, RuleOutcome, RuleState
from reconciler.errors import FieldError
from reconciler.model import CdnRule, OwnerMarker
from reconciler.report.status import (
    EDGE_HOSTNAMES,
    Problem,
    RouteFacts,
    conditions,
    route_status,
    shortnames_of,
)

KEY = ("exampleco", "exampleco.s.llnwi.net", "/fred")
RULE = CdnRule(
    "exampleco",
    "exampleco.s.llnwi.net",
    "/fred",
    "origin.example.com",
    30080,
    owner=OwnerMarker("me", "edgioroute/default/web"),
    id="uuid-1",
    state="COMPLETED",
)
WANTED = RuleOutcome(*KEY, RuleState.DESIRED, node_port=30080, rule=RULE)
OUTCOME = RouteOutcome(
    "default/web", (WANTED,), origin_hostname="origin.example.com", addresses=("203.0.113.1",)
)
GOOD = RouteFacts(
    "default/web",
    generation=3,
    outcome=OUTCOME,
    published={KEY: RULE},
    origin_addresses=("203.0.113.1",),
    shortnames=("exampleco",),
)


def reasons(facts: RouteFacts) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in conditions(facts)}


def test_a_published_route_is_ready() -> None:
    assert reasons(GOOD) == {
        "Ready": ("True", "Published"),
        "BackendReady": ("True", "BackendsFound"),
        "Conflict": ("False", "NoConflict"),
        "DnsReady": ("True", "Resolved"),
        "CdnReady": ("True", "Published"),
    }


def test_a_missing_service_is_backend_not_found_everywhere_it_matters() -> None:
    broken = RuleOutcome(*KEY, RuleState.BACKEND_NOT_FOUND, "Service default/x not found")
    facts = replace(GOOD, outcome=replace(OUTCOME, rules=(broken,), addresses=()), published={})
    found = reasons(facts)
    assert found["Ready"] == ("False", "BackendNotFound")
    assert found["BackendReady"] == ("False", "BackendNotFound")
    assert found["CdnReady"] == ("False", "BackendNotFound")
    assert found["DnsReady"] == ("False", "BackendNotFound")


def test_provider_problems_come_first_and_keep_the_servers_message() -> None:
    problem = Problem("ProviderRejected", "edgio create_rule: HTTP 400: sourcePort is invalid")
    facts = replace(GOOD, cdn_problems={KEY: problem}, published={})
    ready = conditions(facts)[0]
    assert (ready.reason, ready.message) == (
        "ProviderRejected",
        "exampleco.s.llnwi.net/fred: edgio create_rule: HTTP 400: sourcePort is invalid",
    )
    auth = replace(GOOD, dns_problem=Problem("ProviderAuthFailed", "vultr: HTTP 401"))
    assert reasons(auth)["Ready"] == ("False", "ProviderAuthFailed")


def test_a_rule_still_being_published_is_publishing() -> None:
    pending = replace(RULE, state="PENDING")
    found = reasons(replace(GOOD, published={KEY: pending}))
    assert found["CdnReady"] == ("False", "Publishing")
    assert found["Ready"] == ("False", "Publishing")


def test_origin_reasons() -> None:
    assert reasons(replace(GOOD, origin_addresses=()))["DnsReady"] == ("False", "OriginNotReady")
    foreign = replace(GOOD, origin_foreign="origin.example.com has records of someone else")
    assert reasons(foreign)["DnsReady"] == ("False", "OriginForeign")
    held = replace(GOOD, outcome=replace(OUTCOME, addresses=(), dns_held=True))
    assert reasons(held)["DnsReady"] == ("False", "NoEligibleNodes")


def test_conflicts_name_the_winner_or_the_foreign_rule() -> None:
    lost = RuleOutcome(*KEY, RuleState.CONFLICT, "already published by the older route a/b")
    facts = replace(GOOD, outcome=replace(OUTCOME, rules=(lost,)), published={})
    assert reasons(facts)["Conflict"] == ("True", "Conflict")
    foreign = replace(GOOD, foreign_rules={KEY: "Edgio already has a rule"}, published={})
    assert reasons(foreign)["Conflict"] == ("True", "ForeignRule")


def test_an_invalid_route_and_a_deleting_route() -> None:
    invalid = RouteFacts("default/web", errors=(FieldError("spec.rules", "must list"),))
    found = reasons(invalid)
    assert found["Ready"] == ("False", "InvalidSpec")
    assert found["CdnReady"] == ("Unknown", "InvalidSpec")
    deleting = RouteFacts("default/web", deleting=True)
    assert reasons(deleting)["Ready"] == ("False", "Deleting")


def test_transition_times_move_only_when_a_status_changes() -> None:
    first = route_status(GOOD, None, "2026-01-01T00:00:00Z")
    again = route_status(GOOD, first, "2026-01-02T00:00:00Z")
    assert again == first  # a pass that changes nothing computes the stored status
    broken = replace(GOOD, origin_addresses=())
    changed = route_status(broken, first, "2026-01-03T00:00:00Z")
    times = {c["type"]: c["lastTransitionTime"] for c in changed["conditions"]}
    assert times["DnsReady"] == times["Ready"] == "2026-01-03T00:00:00Z"
    assert times["CdnReady"] == "2026-01-01T00:00:00Z"


def test_status_entries_hosts_and_accounts() -> None:
    status = route_status(GOOD, None, "2026-01-01T00:00:00Z")
    assert status["observedGeneration"] == 3
    assert status["rules"] == [
        {
            "host": "exampleco.s.llnwi.net",
            "path": "/fred",
            "nodePort": 30080,
            "ruleId": "uuid-1",
            "state": "Published",
        }
    ]
    assert status["origin"] == {"hostname": "origin.example.com", "addresses": ["203.0.113.1"]}
    assert status["edgeHostnames"] == ["exampleco.s.llnwi.net"]  # a provider name: itself
    assert shortnames_of(status) == ("exampleco",)


def test_what_a_pass_could_not_read_keeps_its_last_known_state() -> None:
    """An account or zone whose listing failed (or moved while paged) is unknown, never
    "nothing is published": the rule entries, their ids and states, and the origin
    addresses stay as the stored status had them, so the Ingress keeps its hostnames."""
    stored = route_status(GOOD, None, "t0")
    problem = Problem("ProviderUnavailable", "Edgio did not answer")
    unknown = replace(
        GOOD,
        published={},
        origin_addresses=None,
        cdn_problems={KEY: problem},
        unknown_accounts=("exampleco",),
    )
    status = route_status(unknown, stored, "t1")
    assert status["rules"] == stored["rules"]
    assert status["rules"][0]["ruleId"] == "uuid-1"
    assert status["origin"] == stored["origin"]
    assert shown(status) == ["exampleco.s.llnwi.net"]
    assert reasons(unknown)["CdnReady"] == ("False", "ProviderUnavailable")


def test_a_rule_not_seen_in_a_known_account_is_not_kept() -> None:
    stored = route_status(GOOD, None, "t0")
    status = route_status(replace(GOOD, published={}), stored, "t1")
    assert status["rules"][0]["state"] == "Pending"
    assert shown(status) == []


def test_a_route_whose_finalizer_is_not_stored_says_so() -> None:
    held = RouteFacts(
        "default/web", held=Problem("FinalizerMissing", "the finalizer could not be stored")
    )
    assert reasons(held) == {
        "Ready": ("False", "FinalizerMissing"),
        "BackendReady": ("Unknown", "FinalizerMissing"),
        "Conflict": ("Unknown", "FinalizerMissing"),
        "DnsReady": ("Unknown", "FinalizerMissing"),
        "CdnReady": ("Unknown", "FinalizerMissing"),
    }


def shown(status: dict[str, Any]) -> list[str]:
    """What the route's Ingress shows as its load-balancer hostnames."""
    return list(status.get(EDGE_HOSTNAMES) or [])


PATHS = st.lists(st.sampled_from(["/a", "/b", "/c", "/d"]), unique=True, min_size=1)
REASONS = st.sampled_from(["ProviderUnavailable", "ProviderAuthFailed", "ListingIncomplete"])


@given(PATHS, REASONS)
def test_an_unknown_account_never_unpublishes_what_the_ingress_shows(
    paths: list[str], reason: str
) -> None:
    """However many rules a route has, and whatever made its account unknown (a failed
    listing, one that moved while paged: neither is kept, so nothing of it is seen), the
    hosts the Ingress shows and every rule id stay as the stored status had them."""
    rules = {(KEY[0], KEY[1], p): replace(RULE, published_path=p, id=f"uuid{p}") for p in paths}
    wanted = tuple(
        RuleOutcome(*key, RuleState.DESIRED, node_port=30080, rule=rule)
        for key, rule in rules.items()
    )
    known = replace(GOOD, outcome=replace(OUTCOME, rules=wanted), published=rules)
    stored = route_status(known, None, "t0")
    unknown = replace(
        known,
        published={},
        cdn_problems={k: Problem(reason, "unknown") for k in rules},
        origin_addresses=None,
        unknown_accounts=(KEY[0],),
    )
    status = route_status(unknown, stored, "t1")
    assert shown(status) == shown(stored) == [KEY[1]]
    assert [e.get("ruleId") for e in status["rules"]] == [e["ruleId"] for e in stored["rules"]]
    assert status["origin"] == stored["origin"]
