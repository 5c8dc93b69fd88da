"""The pure status: conditions and reasons for every situation a route can be in."""

from __future__ import annotations

from dataclasses import replace

from reconciler.derive.desired import RouteOutcome, RuleOutcome, RuleState
from reconciler.errors import FieldError
from reconciler.model import CdnRule, OwnerMarker
from reconciler.status import (
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
