"""What a pass learned about one EdgioRoute -> its `.status`, in `metav1.Condition` form.

Pure: the loop gathers plain facts (the route's outcome from derivation, what the
providers hold after the writes, what failed) and this module decides what the user
reads on their own object. Conditions follow controller-runtime's conventions: one
condition per aspect, a CamelCase reason from :mod:`reconciler.api`, and a
`lastTransitionTime` that moves only when the condition's status does, so that a pass
that changes nothing computes exactly the status already stored (and writes nothing).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.api import ConditionType, Reason
from reconciler.derive.desired import BACKEND_PROBLEMS, RouteOutcome, RuleOutcome, RuleState
from reconciler.derive.edge import provider_assigned, shown_hostnames
from reconciler.errors import FieldError
from reconciler.model import CdnRule, dns_name

RuleKey = tuple[str, str, str]  # (shortname, host, published path)
EDGE_HOSTNAMES = "edgeHostnames"  # the status field: what the route's Ingress shows
COMPLETED = "COMPLETED"  # Edgio's state of a rule that is live at the edge
CONDITION_ORDER = (
    ConditionType.READY,
    ConditionType.BACKEND_READY,
    ConditionType.CONFLICT,
    ConditionType.DNS_READY,
    ConditionType.CDN_READY,
)
# Which reasons say "an external system is in the way", shown before problems of the input;
# so is a pass the mass-deletion guard refused, since nothing at all was written.
PROVIDER_REASONS = frozenset(
    {
        Reason.PROVIDER_AUTH_FAILED,
        Reason.PROVIDER_UNAVAILABLE,
        Reason.PROVIDER_NOT_FOUND,
        Reason.PROVIDER_REJECTED,
        Reason.PROVIDER_THROTTLED,
        Reason.MASS_DELETE_REFUSED,
    }
)


@dataclass(frozen=True, slots=True)
class Problem:
    """A provider failure that touches a route: a listing or a write that failed."""

    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class RouteFacts:
    """Everything one pass knows about one route, in plain values.

    `published` holds our rules of this route as the provider has them after the pass's
    writes; `origin_addresses` the A records at its origin name that are ours (None: its
    zone could not be listed whole, so they are unknown). `unknown_accounts` are the
    accounts of its rules that could not be listed whole: a rule not seen there may well
    exist. What is unknown keeps what the stored status last said of it.
    """

    key: str
    generation: int = 0
    outcome: RouteOutcome | None = None  # None: the spec could not be read
    errors: tuple[FieldError, ...] = ()
    deleting: bool = False
    published: Mapping[RuleKey, CdnRule] = field(default_factory=dict)
    origin_addresses: tuple[str, ...] | None = ()
    origin_foreign: str = ""  # why the origin name is someone else's, when it is
    foreign_rules: Mapping[RuleKey, str] = field(default_factory=dict)
    dns_problem: Problem | None = None
    cdn_problems: Mapping[RuleKey, Problem] = field(default_factory=dict)
    shortnames: tuple[str, ...] = ()  # every account that holds or should hold its rules
    held: Problem | None = None  # a readable route that publishes nothing this pass, and why
    unknown_accounts: tuple[str, ...] = ()
    edge_names: Mapping[str, str] = field(default_factory=dict)  # shortname -> edge name


def rule_key(rule: RuleOutcome) -> RuleKey:
    """The key of the rule an outcome is about, as :attr:`CdnRule.key` spells it."""
    return (rule.shortname, dns_name(rule.host), rule.path)


def conditions(facts: RouteFacts) -> list[Condition]:
    """The route's conditions, Ready first."""
    if facts.outcome is None or facts.errors:
        return _invalid(facts)
    outcome = facts.outcome
    found = {
        ConditionType.BACKEND_READY: _backend(outcome),
        ConditionType.CONFLICT: _conflict(outcome, facts.foreign_rules),
        ConditionType.DNS_READY: _dns(facts, outcome),
        ConditionType.CDN_READY: _cdn(facts, outcome),
    }
    found[ConditionType.READY] = _ready(found, facts.deleting)
    return [found[kind] for kind in CONDITION_ORDER]


def _invalid(facts: RouteFacts) -> list[Condition]:
    if facts.held is not None and not facts.deleting:
        why = facts.held
        rest = [Condition(kind, "Unknown", why.reason, why.message) for kind in CONDITION_ORDER]
        return [Condition(ConditionType.READY, "False", why.reason, why.message), *rest[1:]]
    if facts.deleting and not facts.errors:
        message = "the route is being deleted: cleaning up"
        rest = [Condition(k, "Unknown", Reason.DELETING, message) for k in CONDITION_ORDER[1:]]
        return [_deleting(), *rest]
    message = "; ".join(str(error) for error in facts.errors) or "the spec cannot be read"
    held = f"{message} (what it published stays as it is until this is fixed)"
    ready = (
        _deleting() if facts.deleting else Condition("Ready", "False", Reason.INVALID_SPEC, held)
    )
    rest = [Condition(kind, "Unknown", Reason.INVALID_SPEC, message) for kind in CONDITION_ORDER]
    return [ready, *rest[1:]]


def _deleting() -> Condition:
    return Condition(
        ConditionType.READY, "False", Reason.DELETING, "the route is being deleted: cleaning up"
    )


def _backend(outcome: RouteOutcome) -> Condition:
    broken = [rule for rule in outcome.rules if rule.state in BACKEND_PROBLEMS]
    if not broken:
        return Condition(
            ConditionType.BACKEND_READY,
            "True",
            Reason.BACKENDS_FOUND,
            "every backend is a Service port with a NodePort",
        )
    return Condition(ConditionType.BACKEND_READY, "False", broken[0].state.value, _messages(broken))


def _conflict(outcome: RouteOutcome, foreign: Mapping[RuleKey, str]) -> Condition:
    lost = [rule for rule in outcome.rules if rule.state is RuleState.CONFLICT]
    if lost:
        return Condition(ConditionType.CONFLICT, "True", Reason.CONFLICT, _messages(lost))
    taken = [foreign[key] for key in (rule_key(r) for r in outcome.rules) if key in foreign]
    if taken:
        return Condition(ConditionType.CONFLICT, "True", Reason.FOREIGN_RULE, "; ".join(taken))
    return Condition(
        ConditionType.CONFLICT, "False", Reason.NO_CONFLICT, "no other route or rule claims it"
    )


def _dns(facts: RouteFacts, outcome: RouteOutcome) -> Condition:
    kind, hostname = ConditionType.DNS_READY, outcome.origin_hostname or ""
    if not any(rule.rule for rule in outcome.rules):
        blocked = _first_problem(outcome.rules)
        reason = blocked.state.value if blocked else Reason.ORIGIN_NOT_READY
        return Condition(kind, "False", reason, "no rule can be published, so no origin is needed")
    if facts.dns_problem is not None:
        return Condition(kind, "False", facts.dns_problem.reason, facts.dns_problem.message)
    if facts.origin_foreign:
        return Condition(kind, "False", Reason.ORIGIN_FOREIGN, facts.origin_foreign)
    if outcome.dns_held:
        message = f"no Ready, schedulable node has an address for {hostname}; records kept as is"
        return Condition(kind, "False", Reason.NO_ELIGIBLE_NODES, message)
    missing = sorted(set(outcome.addresses) - set(facts.origin_addresses or ()))
    if missing:
        message = f"{hostname} does not resolve to {', '.join(missing)} yet"
        return Condition(kind, "False", Reason.ORIGIN_NOT_READY, message)
    addresses = ", ".join(outcome.addresses)
    return Condition(kind, "True", Reason.RESOLVED, f"{hostname} resolves to {addresses}")


def _cdn(facts: RouteFacts, outcome: RouteOutcome) -> Condition:
    kind = ConditionType.CDN_READY
    for rule in outcome.rules:
        key = rule_key(rule)
        where = f"{rule.host}{rule.path}"
        if rule.rule is None or rule.state is not RuleState.DESIRED:
            return Condition(kind, "False", rule.state.value, f"{where}: {rule.message}")
        if key in facts.cdn_problems:
            problem = facts.cdn_problems[key]
            return Condition(kind, "False", problem.reason, f"{where}: {problem.message}")
        if key in facts.foreign_rules:
            return Condition(kind, "False", Reason.FOREIGN_RULE, facts.foreign_rules[key])
        published = facts.published.get(key)
        if published is None or published.state != COMPLETED:
            state = published.state if published is not None else "not created yet"
            message = f"{where}: Edgio has not published it yet ({state})"
            return Condition(kind, "False", Reason.PUBLISHING, message)
    count = len(outcome.rules)
    return Condition(kind, "True", Reason.PUBLISHED, f"{count} rule(s) published at Edgio")


def _ready(found: Mapping[ConditionType, Condition], deleting: bool) -> Condition:
    if deleting:
        return _deleting()
    healthy = {
        ConditionType.BACKEND_READY: "True",
        ConditionType.CONFLICT: "False",
        ConditionType.DNS_READY: "True",
        ConditionType.CDN_READY: "True",
    }
    unhealthy = [found[kind] for kind, good in healthy.items() if found[kind].status != good]
    if not unhealthy:
        return Condition(ConditionType.READY, "True", Reason.PUBLISHED, "published at Edgio")
    unhealthy.sort(key=lambda c: c.reason not in PROVIDER_REASONS)
    first = unhealthy[0]
    return Condition(ConditionType.READY, "False", first.reason, first.message)


def _first_problem(rules: Iterable[RuleOutcome]) -> RuleOutcome | None:
    return next((rule for rule in rules if rule.state is not RuleState.DESIRED), None)


def _messages(rules: Iterable[RuleOutcome]) -> str:
    return "; ".join(f"{rule.host}{rule.path}: {rule.message}" for rule in rules)


def rule_entries(
    facts: RouteFacts, previous: Iterable[Mapping[str, Any]] = ()
) -> list[dict[str, Any]]:
    """One entry per rule of the spec: what Edgio holds for it, or why nothing. A rule
    not seen in an account that could not be listed whole keeps its `previous` entry."""
    if facts.outcome is None:
        return []
    last = {(e.get("host"), e.get("path")): e for e in previous if isinstance(e, Mapping)}
    entries = []
    for rule in facts.outcome.rules:
        key = rule_key(rule)
        published = facts.published.get(key)
        kept = last.get((rule.host, rule.path))
        unknown = rule.shortname in facts.unknown_accounts and rule.state is RuleState.DESIRED
        if published is None and unknown and kept is not None:
            entries.append(dict(kept))
            continue
        entry: dict[str, Any] = {"host": rule.host, "path": rule.path}
        if rule.node_port is not None:
            entry["nodePort"] = rule.node_port
        if published is not None and published.id:
            entry["ruleId"] = published.id
        entry["state"], message = _rule_state(rule, published, facts.cdn_problems.get(key))
        if message:
            entry["message"] = message
        entries.append(entry)
    return entries


def _rule_state(
    rule: RuleOutcome, published: CdnRule | None, problem: Problem | None
) -> tuple[str, str]:
    if rule.state is not RuleState.DESIRED:
        return rule.state.value, rule.message
    if problem is not None:
        return problem.reason, problem.message
    if published is None:
        return "Pending", "not created at Edgio yet"
    if published.state == COMPLETED:
        return "Published", ""
    return "Publishing", f"Edgio state {published.state}"


def route_status(facts: RouteFacts, previous: Mapping[str, Any] | None, now: str) -> dict[str, Any]:
    """The full `.status` to store; `previous` (the stored status) keeps transition times,
    and what this pass could not read (see `RouteFacts`)."""
    previous = previous or {}
    facts = _with_last_addresses(facts, previous)
    old = {c.get("type"): c for c in previous.get("conditions") or [] if isinstance(c, dict)}
    status: dict[str, Any] = {
        "observedGeneration": facts.generation,
        "conditions": [
            _stamped(condition, old.get(condition.type), facts.generation, now)
            for condition in conditions(facts)
        ],
        "rules": rule_entries(facts, previous.get("rules") or ()),
    }
    if facts.outcome is not None and facts.outcome.origin_hostname:
        status["origin"] = {
            "hostname": facts.outcome.origin_hostname,
            "addresses": list(facts.origin_addresses or ()),
        }
    if facts.shortnames:
        status["shortnames"] = sorted(set(facts.shortnames))
    if hostnames := _edge_hostnames(facts, status["rules"], previous):
        status["edgeHostnames"] = hostnames
    return status


def _with_last_addresses(facts: RouteFacts, previous: Mapping[str, Any]) -> RouteFacts:
    """Unknown origin addresses (their zone not listed whole) are the stored ones, when
    the stored status is about the same origin name."""
    if facts.origin_addresses is not None:
        return facts
    origin = previous.get("origin") or {}
    hostname = facts.outcome.origin_hostname if facts.outcome else None
    same = isinstance(origin, Mapping) and origin.get("hostname") == hostname
    stored = origin.get("addresses") if same else None
    addresses = tuple(str(a) for a in stored) if isinstance(stored, list) else ()
    return replace(facts, origin_addresses=addresses)


def _edge_hostnames(
    facts: RouteFacts, entries: Sequence[Mapping[str, Any]], previous: Mapping[str, Any]
) -> list[str]:
    """The names the route's published hosts are CNAMEd to (reconciler.derive.edge). A
    spec that cannot be read keeps what it showed: its rules stay published meanwhile."""
    if facts.outcome is None:
        return [str(name) for name in previous.get(EDGE_HOSTNAMES) or []]
    published = [
        (rule.host, rule.shortname)
        for rule, entry in zip(facts.outcome.rules, entries, strict=True)
        if entry["state"] == "Published"
    ]
    return shown_hostnames(published, facts.edge_names)


def _stamped(
    condition: Condition, old: Mapping[str, Any] | None, generation: int, now: str
) -> dict[str, Any]:
    """The condition as the status shows it. Its message is interned: the message that
    names every origin address is the same for every route (one string, not 10,000),
    and the informers intern what they cache, so the stored copy is this string too."""
    same = old is not None and old.get("status") == condition.status
    return {
        "type": condition.type,
        "status": condition.status,
        "reason": condition.reason,
        "message": sys.intern(condition.message),
        "observedGeneration": generation,
        "lastTransitionTime": (old or {}).get("lastTransitionTime", now) if same else now,
    }


def ready_condition(status: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for condition in status.get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == ConditionType.READY:
            return condition
    return None


@dataclass(frozen=True, slots=True)
class IngressHostnames:
    """Our entries in an Ingress's `status.loadBalancer.ingress`, a list other controllers
    write too (ingress-nginx its address, say): the hostnames to show, and the hostnames
    that are ours to take out. Every other entry is kept as it is, where it is, so two
    controllers never take turns rewriting the list."""

    wanted: tuple[str, ...]
    ours: frozenset[str]  # what we showed before, the Ingress's own hosts, Edgio's names

    def is_ours(self, entry: object) -> bool:
        if not isinstance(entry, Mapping) or "ip" in entry:
            return False
        hostname = dns_name(str(entry.get("hostname") or ""))
        return bool(hostname) and (
            hostname in self.ours or hostname in self.wanted or provider_assigned(hostname)
        )

    def _clean(self, entry: Mapping[str, Any]) -> bool:
        """One of ours as we write it: a wanted hostname and nothing else."""
        return entry.get("hostname") in self.wanted and entry == {"hostname": entry["hostname"]}

    def merged(self, entries: Sequence[Any]) -> list[Any] | None:
        """The list with our entries as wanted, or None when it already is."""
        kept: list[Any] = []
        shown: set[str] = set()
        for entry in entries:
            if not self.is_ours(entry):
                kept.append(entry)
            elif self._clean(entry) and entry["hostname"] not in shown:
                kept.append(entry)
                shown.add(entry["hostname"])
        result = kept + [{"hostname": h} for h in self.wanted if h not in shown]
        return None if result == list(entries) else result


def ingress_hostnames(
    status: Mapping[str, Any], previous: Mapping[str, Any], ingress: Mapping[str, Any]
) -> IngressHostnames:
    """Our entries for an Ingress: the route's edge names. Ours to take out besides: the
    names the route showed before (the edge name changed or nothing is published any
    more) and the Ingress's own hosts, which earlier versions showed (a CNAME loop)."""
    hosts = {
        dns_name(str(rule.get("host")))
        for rule in (ingress.get("spec") or {}).get("rules") or []
        if isinstance(rule, Mapping) and rule.get("host")
    }
    before = {str(name) for name in previous.get(EDGE_HOSTNAMES) or []}
    return IngressHostnames(tuple(status.get(EDGE_HOSTNAMES) or ()), frozenset(hosts | before))


def load_balancer_entries(ingress: Mapping[str, Any]) -> list[Any]:
    """An Ingress's `status.loadBalancer.ingress`, whoever wrote it."""
    return list(((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])


def shortnames_of(status: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The accounts a stored status says the route published to."""
    names = (status or {}).get("shortnames") or []
    return tuple(str(name) for name in names if isinstance(name, str))
