"""The controller loop: when to run a pass, and who may.

Watch events only wake the loop. A wake-up waits `debounce` seconds to gather the rest
of a burst, and the wait is not restarted by later events, so an event storm is capped
at one pass per debounce and cannot starve the loop. Without events a full pass runs
every `interval`. A pass that fails (an exception, a provider listing or write that
failed) distrusts the provider cache and is retried after an exponential backoff capped
at the interval. Only the holder of the leader Lease runs passes; a standby keeps its
caches warm and is ready to take over. Every write of a pass goes through the fence: a
pass that loses the Lease, or is asked to stop, ends at its next write, and a loop whose
leadership was lost ends too (the process exits, as controller-runtime's does, and its
restart campaigns afresh).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from reconciler import metrics
from reconciler.cluster.base import Cluster
from reconciler.controller.cache import ProviderCache
from reconciler.controller.observability import Heartbeat
from reconciler.controller.sync import PassMemory, PassResult, PassSettings, run_once
from reconciler.fence import Fence, LeadershipLost
from reconciler.model import Action, CdnRule, Change, DnsRecord
from reconciler.plan.guard import Refusal
from reconciler.registry import ownership

log = structlog.get_logger(__name__)
RETRY = 2.0
STUCK_INTERVALS = 3  # by default /healthz fails after no progress for this many intervals


class Elector(Protocol):
    leading: bool
    lost: threading.Event
    fence: Fence

    def campaign(self, stop: threading.Event, on_change: Callable[[], None]) -> None: ...


@dataclass(frozen=True, slots=True)
class LoopOptions:
    interval: float = 60.0
    debounce: float = 0.5
    first_backoff: float = 1.0
    dry_run: bool = False
    stuck_after: float | None = None  # no progress this long: /healthz fails (None: default)

    @property
    def stuck_limit(self) -> float:
        if self.stuck_after is not None:
            return self.stuck_after
        return STUCK_INTERVALS * self.interval + 30.0


class Loop:
    def __init__(
        self,
        cluster: Cluster,
        cache: ProviderCache,
        settings: PassSettings,
        options: LoopOptions,
        elector: Elector | None = None,
        ready: Callable[[], bool] = lambda: True,
        controller_object: dict[str, Any] | None = None,
        refresh: Callable[[], ProviderCache | None] = lambda: None,
        heartbeat: Heartbeat | None = None,
        fence: Fence | None = None,
    ):
        self.cluster = cluster
        self.cache = cache
        self.settings = settings
        self.options = options
        self.elector = elector
        # What every write of a pass asks first (the elector's, which its renewals keep
        # open); without a Lease only a stop closes it.
        self.fence = fence or (elector.fence if elector is not None else Fence(None))
        self._ready = ready
        # Where controller-wide Events go (the Lease): a refusal may concern no route.
        self.controller_object = controller_object
        self._refresh = refresh  # new provider clients when the credentials Secret changed
        self.memory = PassMemory()  # what this loop's passes reuse: no other loop's
        self._wake = threading.Event()
        self._failures = 0
        # Progress made anywhere: the providers' clients and the cluster's writes beat it.
        self.heartbeat = heartbeat or Heartbeat()
        self._in_pass = False
        self._converged: set[DnsRecord | CdnRule] = set()
        metrics.LEADER.set(0 if elector else 1)

    # --- probes -----------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def beat(self) -> None:
        self.heartbeat()

    def alive(self) -> bool:
        """Not stuck: a pass made progress within the stuck limit, or, between passes,
        the loop went round (it waits at most an interval)."""
        limit = self.options.stuck_limit
        if not self._in_pass:
            limit += self.options.interval
        return self.heartbeat.age() < limit

    def ready(self) -> bool:
        """Caches synced; a standby that is not the leader is ready too."""
        return self._ready()

    @property
    def leading(self) -> bool:
        return self.elector is None or self.elector.leading

    # --- running ----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> bool:
        """Passes until `stop` is set or leadership is lost (then False). The caller
        releases the Lease, after flushing what it may still write."""
        if self.elector is not None and not stop.is_set():
            campaign = self.elector.campaign
            lease = threading.Thread(target=campaign, args=(stop, self._led), daemon=True)
            lease.start()
        while not stop.is_set() and not self._lost():
            self.heartbeat()
            self._wait(stop)
            if stop.is_set() or self._lost() or not self.leading or not self.ready():
                continue  # no pass on a cache that has not synced
            try:
                self.run_pass()
            except LeadershipLost as error:
                log.warning("pass stopped at a write", why=str(error))
            except Exception as error:  # the loop never dies of one pass
                log.error("pass failed", error=f"{type(error).__name__}: {error}"[:300])
        return not self._lost()

    def _lost(self) -> bool:
        return self.elector is not None and self.elector.lost.is_set()

    def _wait(self, stop: threading.Event) -> None:
        if self._failures:
            backoff = self.options.first_backoff * 2 ** (self._failures - 1)
            stop.wait(min(backoff, self.options.interval))
            return
        timeout = self.options.interval if self.leading else RETRY
        if self._wake.wait(timeout):
            stop.wait(self.options.debounce)  # gather the burst; later events do not extend it
        self._wake.clear()

    def _led(self) -> None:
        """The elector started or stopped leading: a new leader passes at once, and a
        loop that lost the Lease notices without waiting out its interval."""
        metrics.LEADER.set(1 if self.leading else 0)
        self.wake()

    def run_pass(self, *, full: bool = False) -> PassResult:
        """One pass with its metrics and its summary line; raises if it could not run."""
        started = time.monotonic()
        self._in_pass = True
        self.heartbeat()
        try:
            self.cache = self._refresh() or self.cache
            result = run_once(
                self.cluster,
                self.cache,
                self.settings,
                dry_run=self.options.dry_run,
                full=full,
                fence=self.fence.check,
                memory=self.memory,
            )
        except Exception:
            self._failed()
            raise
        finally:
            self._in_pass = False
            self.heartbeat()
        duration = time.monotonic() - started
        metrics.PASS_DURATION.observe(duration)
        self._count(result)
        for refusal in result.refusals:
            self._refused(refusal)
        if result.ok:
            self._failures = 0
            metrics.LAST_SUCCESSFUL_PASS.set(time.time())
            metrics.CONSECUTIVE_FAILED_PASSES.set(0)
        else:
            self._failed()
        _summary(result, duration)
        return result

    def _refused(self, refusal: Refusal) -> None:
        """Counted, logged, and an Event on the controller's own object when it has one."""
        metrics.MASS_DELETE_REFUSED.labels(refusal.kind).inc()
        log.error(
            "mass deletion refused",
            kind=refusal.kind,
            deleting=refusal.deleting,
            owned=refusal.owned,
            max_share=float(refusal.max_share),
            dry_run=self.options.dry_run,
        )
        if self.controller_object is not None and not self.options.dry_run:
            self.cluster.event(
                self.controller_object, refusal.reason, refusal.message, warning=True
            )

    def _failed(self) -> None:
        self._failures += 1
        metrics.CONSECUTIVE_FAILED_PASSES.set(self._failures)
        self.cache.invalidate_all()

    def _count(self, result: PassResult) -> None:
        report = result.report
        outcomes = (
            [(c, "ok") for c in report.applied]
            + [(c, "failed") for c, _ in report.failed]
            + [(c, "held") for c in report.held]
        )
        for change, outcome in outcomes:
            provider, kind = _labels(change)
            action = _action(change)
            metrics.CHANGES.labels(provider, kind, action, outcome).inc()
            if outcome == "ok" and change.desired in self._converged:
                metrics.DRIFT_CORRECTED.labels(provider, kind).inc()
            _log_change(change, action, outcome)
        if result.ok and result.desired is not None:
            self._converged = {*result.desired.records, *result.desired.rules}
        metrics.ROUTES.clear()
        for status in result.statuses.values():
            for condition in status.get("conditions") or []:
                metrics.ROUTES.labels(condition["type"], condition["reason"]).inc()


def _labels(change: Change) -> tuple[str, str]:
    subject = change.subject
    if isinstance(subject, DnsRecord):
        return "vultr", subject.type
    return "edgio", "rule"


def _action(change: Change) -> str:
    released = isinstance(change.desired, CdnRule) and change.desired.owner is None
    return "release" if change.action is Action.UPDATE and released else change.action.value


def _log_change(change: Change, action: str, outcome: str) -> None:
    subject = change.subject
    if isinstance(subject, DnsRecord):
        log.info("dns change", action=action, result=outcome, name=subject.fqdn, type=subject.type)
        return
    owner = change.current if change.current is not None else change.desired
    route = ""
    if isinstance(owner, CdnRule) and owner.owner is not None:
        route = ownership.route_of(owner.owner.resource)
    log.info(
        "cdn change",
        action=action,
        result=outcome,
        route=route,
        rule=f"{subject.shortname}/{subject.published_host}{subject.published_path}",
    )


def _summary(result: PassResult, duration: float) -> None:
    ready = sum(
        1
        for status in result.statuses.values()
        for c in status.get("conditions") or []
        if c["type"] == "Ready" and c["status"] == "True"
    )
    logger = log.bind()  # bound once: the lazy proxy binds anew on every call
    for key, status in sorted(result.statuses.items()):
        conditions = status.get("conditions") or []
        first = conditions[0] if conditions else {}
        logger.debug("route", route=key, ready=first.get("status"), reason=first.get("reason"))
    log.info(
        "pass",
        routes=len(result.statuses),
        ready=ready,
        changes=len(result.plan.changes),
        applied=len(result.report.applied),
        failed=len(result.report.failed),
        held=len(result.report.held),
        skipped=len(result.plan.skipped),
        listing_problems=sorted(result.listing_problems),
        dry_run=result.dry_run,
        ok=result.ok,
        duration=round(duration, 3),
    )
