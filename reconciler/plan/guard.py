"""The mass-deletion guard: a pass that would sweep away most of what we own is refused.

The planner deletes every owned object that nothing desires any more. That is right when
a route goes, and catastrophic when the controller's view of the world is wrong: an
informer cache that came up empty, a kubeconfig that points at another cluster, or an
owner id copied from another cluster's controller all make *every* owned object look
like an orphan. Each of those shows up the same way, as deletions of owned objects that
no EdgioRoute in the cluster accounts for, so that is what this module counts.

Deletions a route accounts for are not counted: a route being deleted takes its rules
with it, an edited route drops its old paths, and an origin name still used by a route
loses the addresses of departed nodes. So deleting your last Ingress still works, while
a controller that suddenly sees no routes at all writes nothing and says why.

The same limits apply one step earlier, to the sweep of derived EdgioRoutes whose
Ingresses are no longer Edgio's (`check_sweep`): deleting a route unpublishes it, and an
IngressClass or label change that takes most Ingresses away at once looks like a mistake
before it looks like a decision. A route whose Ingress was deleted is not counted.

Pure: the plan, what was listed, and which routes and origin names the cluster has.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from reconciler.api import Reason
from reconciler.model import Action, CdnRule, DnsRecord, Plan, Skipped
from reconciler.registry import ownership

DEFAULT_MAX_SHARE = Fraction(1, 2)
Kind = Literal["records", "rules", "routes"]


@dataclass(frozen=True, slots=True)
class DeleteGuard:
    """The operator's limits: `max_share` of the owned objects, or none when `allow`.

    The share is exact, a Fraction read from the operator's decimal text: as a float,
    0.57 * 100 is 56.99..., and deleting exactly 57 of 100 would be refused."""

    max_share: Fraction = DEFAULT_MAX_SHARE
    allow: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.max_share <= 1:
            raise ValueError(f"max_share {self.max_share} is not between 0 and 1")


DEFAULT_GUARD = DeleteGuard()


@dataclass(frozen=True, slots=True)
class Accounted:
    """What the cluster accounts for: its routes' marker resources and origin names."""

    resources: frozenset[str] = frozenset()  # "edgioroute/ns/name" of every stored route
    origins: frozenset[str] = frozenset()  # origin names routes use, in normal form


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a pass was refused: `deleting` of `owned` objects of one kind, unaccounted."""

    kind: Kind
    deleting: int
    owned: int
    max_share: Fraction
    reason: str = Reason.MASS_DELETE_REFUSED

    @property
    def message(self) -> str:
        limit = (
            "all of them" if self.deleting == self.owned else f"limit {_percent(self.max_share)}"
        )
        if self.kind == "routes":
            return (
                f"mass deletion refused: the pass would delete {self.deleting} of "
                f"{self.owned} derived EdgioRoutes whose Ingresses still exist but are no "
                f"longer Edgio's ({limit}); those routes were kept and stay published. Check "
                "the IngressClasses, the `cdn: edgio` labels and the controller's flags; if "
                "the deletion is intended, run with --allow-mass-delete"
            )
        what = "DNS records" if self.kind == "records" else "Edgio rules"
        return (
            f"mass deletion refused: the pass would delete {self.deleting} of {self.owned} "
            f"owned {what} that no EdgioRoute in the cluster accounts for ({limit}); "
            "nothing was written. Check the kubeconfig, the owner id and the caches; "
            "if the deletion is intended, run with --allow-mass-delete"
        )


def _percent(share: Fraction) -> str:
    """`57%`, `57.5%`: the share as the operator gave it, not rounded to look stricter."""
    return f"{float(share * 100):g}%"


def owned_records(records: Iterable[DnsRecord], owner: str) -> list[DnsRecord]:
    """Our TXT markers and the A records at the names they mark."""
    records = list(records)
    marked = {
        (record.at[0], name)
        for record in records
        if (name := ownership.claimed_name(record.name, record.type, record.data, owner))
        is not None
    }
    return [r for r in records if _marked_by(r, marked) or r.at in marked]


def _marked_by(record: DnsRecord, marked: set[tuple[str, str]]) -> bool:
    name = ownership.marked_name(record.name) if record.type == "TXT" else None
    return name is not None and (record.at[0], name) in marked


def owned_rules(
    rules: Iterable[CdnRule], owner: str, scope: ownership.Scope = ownership.EVERYWHERE
) -> list[CdnRule]:
    """Our rules this install may judge: those of routes in namespaces it watches. Rules
    of other namespaces are no share of what a pass may delete: counted, they would let
    a namespaced install with an empty cache delete all of its own."""
    return [r for r in rules if ownership.owns(r.owner, owner, scope)]


def check(
    plan: Plan,
    records: Sequence[DnsRecord],
    rules: Sequence[CdnRule],
    owner: str,
    accounted: Accounted,
    guard: DeleteGuard = DEFAULT_GUARD,
    scope: ownership.Scope = ownership.EVERYWHERE,
) -> Refusal | None:
    """The refusal this plan earns, or None when it may be applied."""
    if guard.allow:
        return None
    deletes = [c.current for c in plan.changes if c.action is Action.DELETE]
    rule_deletes = [
        r
        for r in deletes
        if isinstance(r, CdnRule)
        and (r.owner is None or r.owner.resource not in accounted.resources)
    ]
    record_deletes = [
        r
        for r in deletes
        if isinstance(r, DnsRecord) and ownership.origin_of(r) not in accounted.origins
    ]
    owned = owned_rules(rules, owner, scope)
    return _judge("rules", len(rule_deletes), len(owned), guard) or _judge(
        "records", len(record_deletes), len(owned_records(records, owner)), guard
    )


def check_sweep(released: int, derived: int, guard: DeleteGuard = DEFAULT_GUARD) -> Refusal | None:
    """The refusal a sweep of `released` of the `derived` routes earns, if any. One route
    is always let go: taking the label off your only Ingress is plainly meant."""
    if guard.allow or released <= 1:
        return None
    return _judge("routes", released, derived, guard)


def _judge(kind: Kind, deleting: int, owned: int, guard: DeleteGuard) -> Refusal | None:
    """More than the share, or every one of them, is too many (compared exactly)."""
    if deleting == 0 or owned == 0:
        return None
    if deleting >= owned or deleting > guard.max_share * owned:
        return Refusal(kind, deleting, owned, guard.max_share)
    return None


def refused(plan: Plan, refusal: Refusal) -> Plan:
    """The plan with nothing to write: every change becomes a skip that says why."""
    skipped = tuple(Skipped(c.subject, refusal.reason, refusal.message) for c in plan.changes)
    return Plan(changes=(), skipped=plan.skipped + skipped)
