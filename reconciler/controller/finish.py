"""The end of a pass: what the report says of each route, written through the cluster.

The status (only when it changed), the Ingress's load-balancer hostnames, Events on the
route and its Ingress, and the finalizer once cleanup is done. What to write is worked
out by :mod:`reconciler.report.facts`; this module only writes it, in an order that keeps
what users see true (the Ingress's hostnames before the status that says Ready).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from reconciler import api
from reconciler.cluster.base import Cluster
from reconciler.controller.cache import ProviderCache
from reconciler.derive.desired import Settings
from reconciler.derive.ingress import object_key
from reconciler.model import CdnRule, DnsRecord
from reconciler.plan.routeset import WriteAction, has_finalizer
from reconciler.registry import ownership
from reconciler.report.facts import (
    Pass,
    ReportMemos,
    RouteReport,
    actions_by_route,
    hostnames_to_write,
    ingress_problems,
    keeping_shown,
    release,
    route_reports,
)

Obj = dict[str, Any]


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def finish(
    cluster: Cluster, cache: ProviderCache, done: Pass, settings: Settings, memos: ReportMemos
) -> dict[str, Obj]:
    """Statuses for every route, written (with Events and finalizers) unless a dry run."""
    rules, records = _after(cache, done, settings)
    reports = route_reports(done, rules, records, settings, now(), memos)
    if not done.dry_run:
        actions = actions_by_route(done.report)
        for report in reports:
            _report(cluster, report, done, actions, memos)
        _report_ingresses(cluster, done, ingress_problems(done, reports))
    return {report.item.key: report.status for report in reports}


def _after(
    cache: ProviderCache, done: Pass, settings: Settings
) -> tuple[list[CdnRule], list[DnsRecord]]:
    """What the providers hold after the writes: the cache, which the writes updated."""
    if done.dry_run:
        return done.actual.rules, done.actual.records
    accounts = {rule.shortname for rule in done.actual.rules} | {
        s for item in done.inputs for s in item.shortnames
    }
    zones = set(settings.zones) - set(done.actual.zone_problems)
    rules = [
        r
        for a in sorted(accounts - set(done.actual.account_problems))
        for r in cache.cached_rules(a)
    ]
    records = [r for z in sorted(zones) for r in cache.cached_records(z)]
    return rules, records


def _report(
    cluster: Cluster,
    report: RouteReport,
    done: Pass,
    actions: Mapping[str, Sequence[tuple[str, str]]],
    memos: ReportMemos,
) -> None:
    item, status, previous = report.item, report.status, report.previous
    if item.ingress is not None and item.key in done.routes.shown:
        status = _show_hostnames(cluster, item.key, item.ingress, status, previous, memos)
    if status != report.previous:
        cluster.write_route_status(item.obj, status)
    targets = [item.obj] + ([item.ingress] if item.ingress is not None else [])
    for reason, message in actions.get(ownership.route_resource(item.key), ()):
        cluster.event(targets[-1], reason, message, warning=False)  # the object users wrote
    cluster.problems(item.obj, report.problems)
    if item.deleting and has_finalizer(item.obj):
        _release(cluster, report, done, targets)


def _release(cluster: Cluster, report: RouteReport, done: Pass, targets: list[Obj]) -> None:
    released = release(report.item, done, report.facts)
    if released is None:
        return
    reason, message = released
    for target in targets:
        cluster.event(target, reason, message, warning=reason == api.Reason.FORCE_DELETED)
    cluster.remove_finalizer(report.item.obj)


def _show_hostnames(
    cluster: Cluster,
    key: str,
    ingress: Obj,
    status: Obj,
    previous: Mapping[str, Any],
    memos: ReportMemos,
) -> Obj:
    """Our entries on the Ingress, before the status, so Ready=True finds them set. The
    status written says what the Ingress shows: when the Ingress could not be written, it
    keeps the names shown before."""
    hostnames = hostnames_to_write(key, status, previous, ingress, memos)
    if hostnames is None or cluster.write_ingress_hosts(ingress, hostnames):
        return status
    return keeping_shown(status, previous)


def _report_ingresses(
    cluster: Cluster, done: Pass, problems: Mapping[str, list[tuple[str, str]]]
) -> None:
    ingresses = {object_key(n.ingress): n.ingress for n in done.routes.notes}
    ingresses.update({i.key: i.ingress for i in done.inputs if i.ingress is not None})
    for write in done.routes.writes:
        source = done.routes.sources.get(object_key(write.route))
        if source is not None and write.action is WriteAction.CREATE:
            cluster.event(
                source,
                api.Reason.ROUTE_DERIVED,
                f"EdgioRoute {object_key(write.route)} created",
                warning=False,
            )
    for key, ingress in ingresses.items():
        cluster.problems(ingress, problems.get(key, []))
