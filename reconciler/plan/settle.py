"""The desired state once the plan is known: what each route's rules really come to.

Derivation says what a route asks for; the plan may leave a rule where it is (its new
origin is not ready or not ours, a held route publishes it, a foreign rule has its host
and path). The route's outcome then says so, instead of claiming to be desired.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from reconciler import api
from reconciler.derive.desired import DesiredState, RuleOutcome, RuleState
from reconciler.model import CdnRule, Plan
from reconciler.registry import ownership

# Plan reasons that say why a route's rule is not what it asked for.
_PLAN_STATES: dict[str, RuleState] = {
    api.Reason.ORIGIN_NOT_READY: RuleState.ORIGIN_NOT_READY,
    api.Reason.ORIGIN_FOREIGN: RuleState.ORIGIN_FOREIGN,
    api.Reason.FOREIGN_RULE: RuleState.FOREIGN_RULE,
    api.Reason.CONFLICT: RuleState.CONFLICT,
}


def settle(desired: DesiredState, plan: Plan) -> DesiredState:
    """The outcomes once the plan is known: a rule the plan leaves where it is (its new
    origin is not ready or not ours, a held route publishes it, or a foreign rule has its
    host and path) says so, instead of claiming to be desired."""
    found: dict[tuple[str, tuple[str, str, str]], tuple[RuleState, str]] = {}
    for skipped in plan.skipped:
        rule, state = skipped.subject, _PLAN_STATES.get(skipped.reason)
        if state is None or not isinstance(rule, CdnRule) or rule.owner is None:
            continue
        found[(ownership.route_of(rule.owner.resource), rule.key)] = (state, skipped.message)
    if not found:
        return desired
    outcomes = tuple(
        replace(outcome, rules=tuple(_settled(outcome.key, r, found) for r in outcome.rules))
        for outcome in desired.outcomes
    )
    return replace(desired, outcomes=outcomes)


def _settled(
    route_key: str,
    outcome: RuleOutcome,
    found: Mapping[tuple[str, tuple[str, str, str]], tuple[RuleState, str]],
) -> RuleOutcome:
    if outcome.rule is None or (route_key, outcome.rule.key) not in found:
        return outcome
    state, message = found[(route_key, outcome.rule.key)]
    return replace(outcome, state=state, message=message)
