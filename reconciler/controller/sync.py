"""One pass of the controller, `run_once`, in the style of external-dns's RunOnce.

A pass takes a snapshot of the cluster caches, makes the derived EdgioRoutes agree with
their Ingresses, reads the providers' actual state once (one listing per managed zone and
per account, through the provider cache), derives the desired state, plans, applies,
and reports back on every route: status, Ingress hostnames, Events, finalizers. It trusts
nothing from earlier passes but the provider cache, so a lost event, a crash mid-pass or
an edit made by hand is corrected by the next pass.

The cluster is reached through the small `Cluster` Protocol (:mod:`reconciler.cluster.base`,
implemented over the `kubernetes` client in :mod:`reconciler.cluster.kube`), so this module
imports no client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from reconciler.cluster.base import Cluster, ClusterReadFailed, ClusterWriteFailed, Snapshot
from reconciler.controller.cache import ProviderCache
from reconciler.controller.finish import finish
from reconciler.derive.desired import (
    DesiredMemos,
    DesiredState,
    RouteOutcome,
    Settings,
    desired_state,
    zone_of,
)
from reconciler.derive.ingress import object_key
from reconciler.derive.memo import Memos
from reconciler.fence import unfenced
from reconciler.model import Plan, Policy, dns_name
from reconciler.plan.diff import Unlisted, plan
from reconciler.plan.guard import (
    DEFAULT_GUARD,
    Accounted,
    DeleteGuard,
    Refusal,
    check,
    check_sweep,
    refused,
)
from reconciler.plan.routeset import (
    RouteSet,
    RouteSetMemos,
    RouteWrite,
    Verdict,
    WriteAction,
    is_deleting,
    is_derived,
    is_sweep,
    route_set,
    sweep_verdict,
)
from reconciler.plan.settle import settle
from reconciler.providers.apply import ApplyReport, apply_plan
from reconciler.providers.base import ProviderError
from reconciler.registry import ownership
from reconciler.report.facts import (
    Actual,
    Pass,
    ReportMemos,
    RouteInput,
    problem_of,
    read_routes,
)
from reconciler.report.status import Problem

__all__ = [
    "PassResult",
    "run_once",
]

log = structlog.get_logger(__name__)
Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PassSettings:
    """The controller's flags as a pass needs them."""

    core: Settings
    shortnames: tuple[str, ...] = ()  # configured accounts, always listed
    policy: Policy = Policy.SYNC
    guard: DeleteGuard = DEFAULT_GUARD  # --max-delete-share, --allow-mass-delete
    scope: ownership.Scope = ownership.EVERYWHERE  # --namespace: the routes this install judges


@dataclass
class PassMemory(Memos):
    """What passes reuse from the passes before (reconciler.derive.memo), owned by the
    loop that runs them: two loops in one process never share it."""

    desired: DesiredMemos = field(default_factory=DesiredMemos)
    routes: RouteSetMemos = field(default_factory=RouteSetMemos)
    report: ReportMemos = field(default_factory=ReportMemos)


@dataclass
class PassResult:
    """What one pass found and did: per-route outcomes, the plan and the apply report."""

    plan: Plan
    report: ApplyReport
    outcomes: tuple[RouteOutcome, ...]
    statuses: dict[str, Obj] = field(default_factory=dict)  # route key -> computed status
    route_writes: tuple[RouteWrite, ...] = ()
    listing_problems: dict[str, Problem] = field(default_factory=dict)  # zone/account -> why
    dry_run: bool = False
    desired: DesiredState | None = None
    refusal: Refusal | None = None  # the mass-deletion guard refused the plan: nothing written
    sweep_refusal: Refusal | None = None  # ... refused the route sweep: those routes stay

    @property
    def refusals(self) -> tuple[Refusal, ...]:
        return tuple(r for r in (self.sweep_refusal, self.refusal) if r is not None)

    @property
    def ok(self) -> bool:
        """The pass planned against every zone and account and every write went through."""
        return self.report.ok and not self.listing_problems and not self.refusals

    @classmethod
    def of(cls, done: Pass, statuses: dict[str, Obj], sweep_refusal: Refusal | None) -> PassResult:
        """What a finished pass records: its plan and writes, and what it reported."""
        return cls(
            plan=done.plan,
            report=done.report,
            outcomes=done.desired.outcomes,
            statuses=statuses,
            route_writes=done.routes.writes,
            listing_problems={**done.actual.zone_problems, **done.actual.account_problems},
            dry_run=done.dry_run,
            desired=done.desired,
            refusal=done.refusal,
            sweep_refusal=sweep_refusal,
        )


def run_once(
    cluster: Cluster,
    cache: ProviderCache,
    settings: PassSettings,
    *,
    dry_run: bool = False,
    full: bool = False,
    fence: Callable[[], None] = unfenced,
    memory: PassMemory | None = None,
) -> PassResult:
    """One level-triggered pass, as external-dns's RunOnce: snapshot, derive, plan,
    apply, report, record. `full` lists every zone and account again; `fence` is asked
    before every provider write (the cluster's writes ask their own); `memory` is what
    the caller's passes before computed (none: a pass from scratch)."""
    memory = PassMemory() if memory is None else memory
    memory.next_pass()
    snapshot = cluster.snapshot()
    routes, sweep_refusal = _routes(cluster, snapshot, settings.guard, dry_run, memory)
    stored = _write_routes(cluster, routes, snapshot.routes, dry_run)
    inputs = read_routes(stored, routes, settings.core, memory.report)
    actual = read_actual(cache, settings, inputs, full=full)
    desired = _desired(snapshot, inputs, settings, memory.desired)
    planned, refusal = _guarded_plan(desired, actual, settings, inputs)
    report = ApplyReport() if dry_run else apply_plan(planned, cache.dns, cache.cdn, fence)
    done = Pass(
        inputs=inputs,
        desired=settle(desired, planned),
        actual=actual,
        plan=planned,
        report=report,
        routes=routes,
        dry_run=dry_run,
        deletes=settings.policy is Policy.SYNC,
        refusal=refusal,
    )
    statuses = finish(cluster, cache, done, settings.core, memory.report)
    return PassResult.of(done, statuses, sweep_refusal)


def _routes(
    cluster: Cluster, snapshot: Snapshot, guard: DeleteGuard, dry_run: bool, memory: PassMemory
) -> tuple[RouteSet, Refusal | None]:
    """The EdgioRoute writes that make the routes agree with their Ingresses, with only
    the sweeps the API server confirms (see `_confirmed`)."""
    ingresses, classes, stored = snapshot.ingresses, snapshot.ingress_classes, snapshot.routes
    routes = route_set(ingresses, classes, stored, memory.routes)
    return _confirmed(cluster, routes, snapshot, guard, dry_run)


def _desired(
    snapshot: Snapshot,
    inputs: Sequence[RouteInput],
    settings: PassSettings,
    memos: DesiredMemos,
) -> DesiredState:
    """What the providers should hold; routes that cannot be read keep what they have."""
    return desired_state(
        [i.route for i in inputs if i.route is not None],
        {_name_key(s): s for s in snapshot.services},
        snapshot.nodes,
        settings.core,
        [i.key for i in inputs if i.route is None and not i.deleting],
        memos,
    )


def _guarded_plan(
    desired: DesiredState, actual: Actual, settings: PassSettings, inputs: Sequence[RouteInput]
) -> tuple[Plan, Refusal | None]:
    """The plan, or the plan refused whole when it would delete too much that no route
    in the cluster accounts for (an empty cache, the wrong cluster, a copied owner id)."""
    result = _plan(desired, actual, settings)
    refusal = check(
        result,
        actual.records,
        actual.rules,
        settings.core.owner_id,
        accounted(inputs, desired, settings),
        settings.guard,
        settings.scope,
    )
    return (result, None) if refusal is None else (refused(result, refusal), refusal)


def accounted(
    inputs: Sequence[RouteInput], desired: DesiredState, settings: PassSettings
) -> Accounted:
    """The routes stored in the cluster (live, invalid or being deleted) and the origin
    names they use: deletions these explain are not the guard's business."""
    default = settings.core.default_origin_hostname
    origins = {o.origin_hostname for o in desired.outcomes if o.origin_hostname}
    for item in inputs:
        hostname = item.route.origin_hostname if item.route is not None else None
        origins.add(hostname or default or "")
    return Accounted(
        frozenset(ownership.route_resource(i.key) for i in inputs),
        frozenset(dns_name(o) for o in origins if o),
    )


def _confirmed(
    cluster: Cluster, routes: RouteSet, snapshot: Snapshot, guard: DeleteGuard, dry_run: bool
) -> tuple[RouteSet, Refusal | None]:
    """The route set with only the sweeps the API server confirms, within the guard.

    The cache nominates derived routes whose Ingress looks gone; each is read again from
    the API server, so a cache that is behind or came up empty deletes nothing. Routes
    whose Ingresses were deleted go; routes whose Ingresses merely stopped being Edgio's
    go unless that is most of them (`check_sweep`), and then each of those Ingresses is
    told why its route stays; the rest stay."""
    sweeps = [w for w in routes.writes if is_sweep(w)]
    if not sweeps:
        return routes, None
    judged = [(w, *_verdict(cluster, w, snapshot)) for w in sweeps]
    released = {
        id(w): live
        for w, verdict, live in judged
        if verdict is Verdict.RELEASED and live is not None  # released: the server has it
    }
    held = [w for w, verdict, _ in judged if verdict is Verdict.HELD]
    derived = sum(is_derived(r) and not is_deleting(r) for r in snapshot.routes)
    refusal = check_sweep(len(released), derived, guard)
    if refusal is not None and not dry_run:
        for ingress in released.values():
            cluster.event(ingress, refusal.reason, refusal.message, warning=True)
    if held:
        log.warning(
            "route sweep held: the API server still has these Ingresses as Edgio's",
            routes=[object_key(w.route) for w in held[:10]],
            count=len(held),
        )
    dropped = {id(w) for w in held} | (set(released) if refusal else set())
    kept = tuple(w for w in routes.writes if id(w) not in dropped)
    return replace(routes, writes=kept), refusal


def _verdict(cluster: Cluster, write: RouteWrite, snapshot: Snapshot) -> tuple[Verdict, Obj | None]:
    """The sweep's verdict on a route, and its Ingress as the API server has it."""
    namespace, name = _name_key(write.route)
    try:
        live = cluster.read_ingress(namespace, name)
    except ClusterReadFailed:
        return Verdict.HELD, None
    return sweep_verdict(live, snapshot.ingress_classes), live


def _name_key(obj: Obj) -> tuple[str, str]:
    metadata = obj.get("metadata") or {}
    return (metadata.get("namespace") or "default", metadata.get("name", ""))


def _write_routes(
    cluster: Cluster, routes: RouteSet, stored: Iterable[Obj], dry_run: bool
) -> list[Obj]:
    """The routes as they stand after this pass's writes (or would, in a dry run)."""
    current = {_name_key(r): r for r in stored}
    for write in routes.writes:
        key = _name_key(write.route)
        if dry_run:
            current[key] = _as_if_written(write)
            continue
        try:
            current[key] = cluster.write_route(write)
        except ClusterWriteFailed:  # retried next pass; the rest goes on
            live = _reread(cluster, key)
            if live is not None:
                current[key] = live
    return list(current.values())


def _reread(cluster: Cluster, key: tuple[str, str]) -> Obj | None:
    """The route as the server has it after a write failed. The usual failure is a
    conflict: the cache is behind (our own last write has not come back through the
    watch yet), and planning on the cached copy would undo what the last pass
    published, only for the next pass to publish it again."""
    try:
        return cluster.read_route(*key)
    except ClusterReadFailed:
        return None


def _as_if_written(write: RouteWrite) -> Obj:
    route = dict(write.route)
    if write.action is WriteAction.DELETE:
        metadata = dict(route.get("metadata") or {})
        metadata["deletionTimestamp"] = "dry-run"
        route["metadata"] = metadata
    return route


def read_actual(
    cache: ProviderCache, settings: PassSettings, inputs: Sequence[RouteInput], *, full: bool
) -> Actual:
    """One listing per zone and per account (or the cache's), problems kept per listing."""
    actual = Actual()
    for zone in settings.core.zones:
        try:
            records = cache.records(zone, full=full)
        except ProviderError as error:
            actual.zone_problems[zone] = problem_of(error)
        else:
            actual.records.extend(records)
            actual.complete &= records.complete
            if not records.complete or records.unreadable:  # they may be our own
                actual.incomplete_zones.add(zone)
    for shortname in accounts(settings, inputs):
        try:
            rules = cache.rules(shortname, full=full)
        except ProviderError as error:
            actual.account_problems[shortname] = problem_of(error)
        else:
            actual.rules.extend(rules)
            actual.complete &= rules.complete
            if not rules.complete:
                actual.incomplete_accounts.add(shortname)
    return actual


def accounts(settings: PassSettings, inputs: Sequence[RouteInput]) -> list[str]:
    """Configured accounts, those routes name, and those their status says they used."""
    found = set(settings.shortnames)
    if settings.core.default_shortname:
        found.add(settings.core.default_shortname)
    for item in inputs:
        found.update(item.shortnames)
    return sorted(found)


def _plan(desired: DesiredState, actual: Actual, settings: PassSettings) -> Plan:
    """The core's plan, minus what an unreachable zone or account leaves undecidable."""
    unreachable = _unreachable(desired, actual, settings)
    holds = replace(desired.holds, rules=desired.holds.rules | unreachable)
    return plan(
        [r for r in desired.records if r.zone not in actual.zone_problems],
        actual.records,
        [r for r in desired.rules if r.key not in unreachable] if unreachable else desired.rules,
        actual.rules,
        owner=settings.core.owner_id,
        policy=settings.policy,
        holds=holds,
        complete=actual.complete,
        adopting=desired.adopting,
        unlisted=Unlisted.of(actual.incomplete_zones, actual.incomplete_accounts),
        scope=settings.scope,
    )


def _unreachable(
    desired: DesiredState, actual: Actual, settings: PassSettings
) -> frozenset[tuple[str, str, str]]:
    """Keys of the desired rules whose account or origin zone could not be listed."""
    if not actual.account_problems and not actual.zone_problems:
        return frozenset()  # the usual pass: no rule to look at
    return frozenset(
        rule.key
        for rule in desired.rules
        if rule.shortname in actual.account_problems
        or zone_of(rule.source_host, settings.core.zones) in actual.zone_problems
    )
