"""The second half of a pass, as values: from what was planned and written to each route.

For every EdgioRoute this gathers the plain facts the status module needs (what Edgio
and Vultr hold for it after the writes, what failed, what was refused) and works out
what users should see: the status, the Warning Events it calls for, the Events of the
rule changes applied, the Ingress's load-balancer hostnames, whether the finalizer may
go. Pure: :mod:`reconciler.controller.finish` writes it through the cluster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from reconciler import api
from reconciler.derive.annotations import adopts, edge_hostname_of
from reconciler.derive.desired import DesiredState, RouteOutcome, Settings, zone_of
from reconciler.derive.edge import edge_hostname
from reconciler.derive.ingress import object_key
from reconciler.derive.memo import Memo, Memos
from reconciler.derive.routes import route_from_object
from reconciler.errors import FieldError, InvalidObject
from reconciler.model import (
    Action,
    CdnRule,
    Change,
    DeletionPolicy,
    DnsRecord,
    Plan,
    Route,
    Skip,
    dns_name,
)
from reconciler.plan.guard import Refusal
from reconciler.plan.routeset import RouteSet, has_finalizer, is_deleting
from reconciler.providers.apply import ApplyReport
from reconciler.providers.base import ProviderError
from reconciler.registry import ownership
from reconciler.report.status import (
    EDGE_HOSTNAMES,
    IngressHostnames,
    Problem,
    RouteFacts,
    ingress_hostnames,
    load_balancer_entries,
    route_status,
    rule_key,
    shortnames_of,
)

Obj = dict[str, Any]
# Condition reasons that are steps on the way, not problems worth a Warning Event.
QUIET = frozenset(
    {
        api.Reason.PUBLISHED,
        api.Reason.RESOLVED,
        api.Reason.NO_CONFLICT,
        api.Reason.BACKENDS_FOUND,
        api.Reason.PUBLISHING,
        api.Reason.ORIGIN_NOT_READY,
        api.Reason.DELETING,
    }
)
HEALTHY_STATUS = {"Conflict": "False"}


@dataclass(frozen=True, slots=True)
class RouteInput:
    """One stored EdgioRoute as a pass reads it."""

    key: str
    obj: Obj
    route: Route | None  # None: the spec (or its Ingress) cannot be read
    errors: tuple[FieldError, ...] = ()
    deleting: bool = False
    force: bool = False  # the force-delete annotation releases the finalizer
    deletion_policy: DeletionPolicy = DeletionPolicy.DELETE
    shortnames: tuple[str, ...] = ()
    ingress: Obj | None = None  # the Ingress a derived route comes from
    held: Problem | None = None  # why a readable route publishes nothing this pass


@dataclass
class Actual:
    records: list[DnsRecord] = field(default_factory=list)
    rules: list[CdnRule] = field(default_factory=list)
    zone_problems: dict[str, Problem] = field(default_factory=dict)
    account_problems: dict[str, Problem] = field(default_factory=dict)
    complete: bool = True  # every listing saw its collection whole: deletes may be planned
    # Listed, but not whole (the collection moved while it was paged, or a zone held
    # records that could not be read): what is missing is unknown, and nothing is created.
    incomplete_zones: set[str] = field(default_factory=set)
    incomplete_accounts: set[str] = field(default_factory=set)

    def unknown_accounts(self) -> set[str]:
        """Accounts whose rules this pass does not know: not listed, or not whole."""
        return set(self.account_problems) | self.incomplete_accounts

    def unknown_zone(self, zone: str | None) -> bool:
        return zone is not None and (zone in self.zone_problems or zone in self.incomplete_zones)


@dataclass(frozen=True, slots=True)
class Pass:
    inputs: Sequence[RouteInput]
    desired: DesiredState
    actual: Actual
    plan: Plan
    report: ApplyReport
    routes: RouteSet
    dry_run: bool
    deletes: bool = True  # the policy allows deletes; if not, deleting routes leave all behind
    refusal: Refusal | None = None


@dataclass
class ReportMemos(Memos):
    """What the report reuses while its inputs stay the same (reconciler.derive.memo):
    each route read; whether its stored status is already the one its facts make it
    (facts are new values every pass: compared by value); the Warning Events a status
    calls for; the Ingress hostnames to write."""

    read: Memo[RouteInput] = field(default_factory=Memo)
    settled: Memo[Obj | None] = field(default_factory=lambda: Memo(by_value=True))
    problems: Memo[tuple[tuple[str, str], ...]] = field(default_factory=Memo)
    hosts: Memo[IngressHostnames | None] = field(default_factory=Memo)


def read_routes(
    stored: Iterable[Obj], routes: RouteSet, settings: Settings, memos: ReportMemos
) -> list[RouteInput]:
    """Every stored route read and validated; what did not change since the last pass
    (the route, its Ingress's verdict, the settings) is not read again."""
    found = []
    for obj in stored:
        key = object_key(obj)
        invalid, ingress = routes.invalid.get(key), routes.sources.get(key)
        inputs = (obj, invalid, ingress, settings)
        read = partial(_read, key, obj, invalid, ingress, settings)
        found.append(memos.read.get(key, inputs, read))
    return found


def _read(
    key: str, obj: Obj, invalid: InvalidObject | None, ingress: Obj | None, settings: Settings
) -> RouteInput:
    metadata = obj.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    route: Route | None = None
    errors: tuple[FieldError, ...] = ()
    if invalid is not None:
        errors = invalid.errors
    else:
        try:
            route = route_from_object(obj)
        except InvalidObject as error:
            errors = error.errors
    if route is not None and ingress is not None:
        annotations = (ingress.get("metadata") or {}).get("annotations") or {}
        edge = route.edge_hostname or edge_hostname_of(annotations)
        route = replace(route, adopt=route.adopt or adopts(annotations), edge_hostname=edge)
    policy = route.deletion_policy if route else _raw_policy(obj)
    account = (route.shortname if route else None) or settings.default_shortname
    held = None
    if route is not None and not is_deleting(obj) and not has_finalizer(obj):
        held, route = UNFINALIZED, None  # kept as it is, like a route that cannot be read
    return RouteInput(
        key=key,
        obj=obj,
        route=route,
        errors=errors,
        deleting=is_deleting(obj),
        force=annotations.get(api.FORCE_DELETE_ANNOTATION) == api.FORCE_DELETE_VALUE,
        deletion_policy=policy,
        shortnames=tuple(
            sorted({*shortnames_of(obj.get("status")), *([account] if account else [])})
        ),
        ingress=ingress,
        held=held,
    )


# The finalizer is stored (and confirmed by the server) before anything is published for
# a route: without it, deleting the route would leave its rules behind for ever.
UNFINALIZED = Problem(
    api.Reason.FINALIZER_MISSING,
    f"the finalizer {api.FINALIZER} could not be stored yet: nothing is published for this "
    "route until it is (retried every pass)",
)


def _raw_policy(obj: Obj) -> DeletionPolicy:
    value = (obj.get("spec") or {}).get("deletionPolicy")
    return DeletionPolicy.ORPHAN if value == DeletionPolicy.ORPHAN.value else DeletionPolicy.DELETE


def problem_of(error: ProviderError) -> Problem:
    """A provider error as a condition reason; the clients already keep secrets out."""
    reasons = {
        "ProviderAuthFailed": api.Reason.PROVIDER_AUTH_FAILED,
        "ProviderNotFound": api.Reason.PROVIDER_NOT_FOUND,
        "ProviderRejected": api.Reason.PROVIDER_REJECTED,
        "ProviderThrottled": api.Reason.PROVIDER_THROTTLED,
    }
    return Problem(reasons.get(error.reason, api.Reason.PROVIDER_UNAVAILABLE), str(error))


def _settled(facts: RouteFacts, previous: Obj, stamp: str) -> Obj | None:
    """The stored status when it is what these facts make it, else None. A status equal
    to the stored one used no time stamp (a condition stamped now is one whose status
    moved, or that had no time), so this answer holds at any later time too."""
    return previous if route_status(facts, previous, stamp) == previous else None


def _shown(facts: RouteFacts) -> tuple[tuple[str | None, str | None], ...]:
    """What the status shows of the published rules that their equality leaves out (a
    CdnRule compares without Edgio's id and state), for the `settled` memo to compare too."""
    return tuple((rule.id, rule.state) for rule in facts.published.values())


def published_by_route(
    rules: Sequence[CdnRule], owner_id: str
) -> dict[str, dict[tuple[str, str, str], CdnRule]]:
    """Our rules by the route resource their marker names, in one scan per pass (a scan
    per route made a pass quadratic: 10,000 routes x 15,000 rules)."""
    found: dict[str, dict[tuple[str, str, str], CdnRule]] = defaultdict(dict)
    for rule in rules:
        marker = rule.owner
        if marker is not None and ownership.owns(marker, owner_id):
            found[marker.resource][rule.key] = rule
    return found


def route_facts(
    item: RouteInput,
    outcome: RouteOutcome | None,
    done: Pass,
    published_by: Mapping[str, Mapping[tuple[str, str, str], CdnRule]],
    origin_addresses: tuple[str, ...] | None,
    settings: Settings,
    unknown: Iterable[str] = (),
) -> RouteFacts:
    """`origin_addresses` None: the origin's zone could not be listed whole; `unknown`
    the accounts that could not be: what the route's status last said of those stays."""
    published = published_by.get(ownership.route_resource(item.key)) or {}
    hostname = outcome.origin_hostname if outcome else None
    keys = {rule_key(r) for r in outcome.rules} if outcome else set()
    return RouteFacts(
        key=item.key,
        generation=int((item.obj.get("metadata") or {}).get("generation") or 0),
        outcome=outcome,
        errors=item.errors or (outcome.errors if outcome else ()),  # spec, then origin
        deleting=item.deleting,
        published=published,
        origin_addresses=origin_addresses,
        origin_foreign=_origin_foreign(hostname, done.plan),
        held=item.held,
        unknown_accounts=tuple(sorted(set(unknown) & {k[0] for k in keys})),
        foreign_rules=_foreign_rules(keys, done.plan),
        dns_problem=_dns_problem(hostname, done, settings),
        cdn_problems=_cdn_problems(keys, done),
        shortnames=tuple(sorted({*(k[0] for k in keys), *(k[0] for k in published)}))
        or item.shortnames,
        edge_names=_edge_names(item.route, outcome, settings),
    )


def _edge_names(
    route: Route | None, outcome: RouteOutcome | None, settings: Settings
) -> dict[str, str]:
    """Each account's edge name for this route: annotated, else `--edge-hostname`, else
    `<shortname>.s.llnwi.net` (never one of the route's own hosts)."""
    if outcome is None:
        return {}
    configured = dict(settings.edge_hostnames)
    hosts = {rule.host for rule in outcome.rules}
    chosen = route.edge_hostname if route is not None else None
    return {
        shortname: edge_hostname(shortname, chosen or configured.get(shortname), hosts)
        for shortname in {rule.shortname for rule in outcome.rules}
    }


def _origin_addresses(
    hostname: str | None, records: Sequence[DnsRecord], settings: Settings
) -> tuple[str, ...]:
    zone = zone_of(hostname, settings.zones) if hostname else None
    if not hostname or not zone:
        return ()
    fqdn, zone = dns_name(hostname), dns_name(zone)
    at = (zone, fqdn[: -len(zone) - 1])
    claimed = any(
        r.at[0] == at[0]
        and ownership.claimed_name(r.name, r.type, r.data, settings.owner_id) == at[1]
        for r in records
    )
    if not claimed:
        return ()
    return tuple(sorted(r.data for r in records if r.at == at and r.type == "A"))


def _origin_foreign(hostname: str | None, plan: Plan) -> str:
    for skipped in plan.skipped:
        subject = skipped.subject
        foreign = skipped.kind is Skip.FOREIGN and isinstance(subject, DnsRecord)
        if foreign and _serves(subject, hostname):
            return skipped.message
    return ""


def _serves(subject: DnsRecord | CdnRule, hostname: str | None) -> bool:
    """Whether a record is (or marks) the origin name `hostname`, in any spelling."""
    if not isinstance(subject, DnsRecord) or not hostname:
        return False
    return ownership.origin_of(subject) == dns_name(hostname)


def _foreign_rules(keys: set[tuple[str, str, str]], plan: Plan) -> dict[tuple[str, str, str], str]:
    return {
        s.subject.key: s.message
        for s in plan.skipped
        if s.kind is Skip.FOREIGN and isinstance(s.subject, CdnRule) and s.subject.key in keys
    }


def _dns_problem(hostname: str | None, done: Pass, settings: Settings) -> Problem | None:
    zone = zone_of(hostname, settings.zones) if hostname else None
    if zone in done.actual.zone_problems:
        return done.actual.zone_problems[zone or ""]
    for change, error in done.report.failed:
        subject = change.subject
        if _serves(subject, hostname):
            return problem_of(error)
    return None


def _cdn_problems(
    keys: set[tuple[str, str, str]], done: Pass
) -> dict[tuple[str, str, str], Problem]:
    found: dict[tuple[str, str, str], Problem] = {}
    for key in keys:
        if key[0] in done.actual.account_problems:
            found[key] = done.actual.account_problems[key[0]]
        elif key[0] in done.actual.incomplete_accounts:
            found[key] = Problem(
                api.Reason.LISTING_INCOMPLETE,
                f"the rules of account {key[0]} changed while they were listed: "
                "what Edgio holds is known again at the next listing",
            )
    for change, error in done.report.failed:
        if isinstance(change.subject, CdnRule) and change.subject.key in keys:
            found[change.subject.key] = problem_of(error)
    for change in done.report.held:
        if isinstance(change.subject, CdnRule) and change.subject.key in keys:
            message = "not written: the origin records it needs could not be written"
            found[change.subject.key] = Problem(api.Reason.ORIGIN_NOT_READY, message)
    if done.refusal is not None:
        refusal = Problem(done.refusal.reason, done.refusal.message)
        found.update({key: refusal for key in keys})
    for skipped in done.plan.skipped:
        subject = skipped.subject
        forbidden = skipped.kind is Skip.FORBIDDEN
        if forbidden and isinstance(subject, CdnRule) and subject.key in keys:
            found[subject.key] = Problem(api.Reason.POLICY_FORBIDS, skipped.message)
    return found


def _problems(status: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The Warning Events a status calls for: one per unhealthy condition but Ready."""
    found = []
    for condition in status.get("conditions") or []:
        if condition["type"] == api.ConditionType.READY or condition["reason"] in QUIET:
            continue
        healthy = HEALTHY_STATUS.get(condition["type"], "True")
        if condition["status"] != healthy:
            found.append((condition["reason"], condition["message"]))
    return tuple(found)


def actions_by_route(report: ApplyReport) -> dict[str, list[tuple[str, str]]]:
    """The Events of the rule changes applied, by the route resource that owns them: one
    per route and kind of change, naming its rules. One scan per pass (a scan per route
    was quadratic while 15,000 rules were created)."""
    found: dict[str, dict[api.Reason, list[str]]] = defaultdict(lambda: defaultdict(list))
    for change in report.applied:
        if not isinstance(change.subject, CdnRule):
            continue
        owners = {
            r.owner.resource
            for r in (change.desired, change.current)
            if isinstance(r, CdnRule) and r.owner
        }
        reason = _action_reason(change)
        for resource in owners:
            found[resource][reason].append(
                f"{change.subject.published_host}{change.subject.published_path}"
            )
    return {
        resource: [(reason, _action_message(reason, rules)) for reason, rules in by.items()]
        for resource, by in found.items()
    }


ACTION_DONE = {
    api.Reason.RULE_CREATED: "created",
    api.Reason.RULE_DELETED: "deleted",
    api.Reason.RULE_RELEASED: "released (deletionPolicy Orphan)",
    api.Reason.RULE_UPDATED: "updated",
}


def _action_reason(change: Change) -> api.Reason:
    if change.action is Action.CREATE:
        return api.Reason.RULE_CREATED
    if change.action is Action.DELETE:
        return api.Reason.RULE_DELETED
    if isinstance(change.desired, CdnRule) and change.desired.owner is None:
        return api.Reason.RULE_RELEASED
    return api.Reason.RULE_UPDATED


def _action_message(reason: api.Reason, rules: Sequence[str]) -> str:
    noun = "Edgio rule" if len(rules) == 1 else "Edgio rules"
    return f"{noun} {', '.join(sorted(rules))} {ACTION_DONE[reason]}"


def hostnames_to_write(
    key: str, status: Obj, previous: Mapping[str, Any], ingress: Obj, memos: ReportMemos
) -> IngressHostnames | None:
    """Our entries for a route's Ingress, or None when it already shows them as they
    should be; worked out again only when the status, stored status or Ingress change."""
    inputs = (status, previous, ingress)
    return memos.hosts.get(key, inputs, partial(_hostnames_to_write, status, previous, ingress))


def _hostnames_to_write(
    status: Mapping[str, Any], previous: Mapping[str, Any], ingress: Mapping[str, Any]
) -> IngressHostnames | None:
    """Our entries for the Ingress, or None when it already shows them as they should be."""
    hostnames = ingress_hostnames(status, previous, ingress)
    return None if hostnames.merged(load_balancer_entries(ingress)) is None else hostnames


def keeping_shown(status: Obj, previous: Mapping[str, Any]) -> Obj:
    """The status to write when the Ingress could not be written: it keeps the names
    shown before, so they are still known as ours to take out later."""
    kept = {k: v for k, v in status.items() if k != EDGE_HOSTNAMES}
    if EDGE_HOSTNAMES in previous:
        kept[EDGE_HOSTNAMES] = previous[EDGE_HOSTNAMES]
    return kept


@dataclass(frozen=True, slots=True)
class RouteReport:
    """What a pass has to say on one route: its facts, its status and the one stored
    before, and the Warning Events the status calls for (none in a dry run)."""

    item: RouteInput
    facts: RouteFacts
    status: Obj
    previous: Obj
    problems: tuple[tuple[str, str], ...] = ()


def route_reports(
    done: Pass,
    rules: Sequence[CdnRule],
    records: Sequence[DnsRecord],
    settings: Settings,
    stamp: str,
    memos: ReportMemos,
) -> list[RouteReport]:
    """Every route's report, given what the providers hold after the writes."""
    outcomes = {o.key: o for o in done.desired.outcomes}
    published = published_by_route(rules, settings.owner_id)
    origins: dict[str | None, tuple[str, ...] | None] = {}
    unknown = done.actual.unknown_accounts()
    reports = []
    for item in done.inputs:
        outcome = outcomes.get(item.key)
        hostname = outcome.origin_hostname if outcome else None
        if hostname not in origins:
            zone = zone_of(hostname, settings.zones) if hostname else None
            known = not done.actual.unknown_zone(zone)
            origins[hostname] = _origin_addresses(hostname, records, settings) if known else None
        facts = route_facts(item, outcome, done, published, origins[hostname], settings, unknown)
        previous = item.obj.get("status") or {}
        inputs = (facts, previous, _shown(facts))
        settled = memos.settled.get(item.key, inputs, partial(_settled, facts, previous, stamp))
        status = route_status(facts, previous, stamp) if settled is None else settled
        problems = (
            ()
            if done.dry_run
            else memos.problems.get(item.key, (status,), partial(_problems, status))
        )
        reports.append(
            RouteReport(item=item, facts=facts, status=status, previous=previous, problems=problems)
        )
    return reports


def ingress_problems(
    done: Pass, reports: Iterable[RouteReport]
) -> dict[str, list[tuple[str, str]]]:
    """The Warning Events for each Ingress: the route set's notes on it, and the problems
    of the route derived from it."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for note in done.routes.notes:
        found[object_key(note.ingress)].append((note.reason, note.message))
    for report in reports:
        if report.item.ingress is not None and report.problems:
            found[report.item.key].extend(report.problems)
    return found


def release(item: RouteInput, done: Pass, facts: RouteFacts) -> tuple[api.Reason, str] | None:
    """Why a deleting route's finalizer may go now, or None while it must stay.

    It goes once nothing of the route is known to be left: every account it used was
    listed whole and holds no rule of it (or an operator says so). A listing that failed
    or moved while it was paged is "unknown", never "nothing is left"."""
    unknown = done.actual.unknown_accounts()
    known = not any(s in unknown for s in {*item.shortnames, *facts.shortnames})
    if item.force:
        message = f"finalizer released by {api.FORCE_DELETE_ANNOTATION}; rules may be left behind"
        return api.Reason.FORCE_DELETED, message
    if not done.deletes:
        message = "the policy never deletes: the route's rules are left as they are"
        return api.Reason.POLICY_FORBIDS, message
    if known and not facts.published and not done.report.failed:
        return api.Reason.CLEANED_UP, "nothing of this route is left: finalizer removed"
    return None
