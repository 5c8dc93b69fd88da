"""`edgio-ingress plan` output: the plan of one dry-run pass, for people or machines.

Every change is a row (action, provider, object, before, after); every object the plan
leaves alone is a `skip` row saying why. `-o json` carries the same, plus each route's
Ready condition as the pass computed it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from reconciler.controller.sync import PassResult
from reconciler.model import CdnRule, Change, DnsRecord, ProtocolSet, Skipped

COLUMNS = ("ACTION", "PROVIDER", "OBJECT", "BEFORE", "AFTER", "WHY")


def describe(subject: DnsRecord | CdnRule | None) -> str:
    """One object's content, as it would be compared: no ids, no server state."""
    if subject is None:
        return "-"
    if isinstance(subject, DnsRecord):
        return f"{subject.data} ttl={subject.ttl}"
    owner = f" owner={subject.owner.owner}" if subject.owner else " (no owner marker)"
    if not subject.protocol_sets:  # every set alike: `http,https -> http://origin:30080/`
        protocols = ",".join(subject.published_protocols)
        return f"{protocols} -> {_source(subject, subject.sets[0])}{owner}"
    return "; ".join(_protocol_set(subject, s) for s in subject.protocol_sets) + owner


def _protocol_set(rule: CdnRule, item: ProtocolSet) -> str:
    """One of a rule's protocol sets that are not alike, with what can differ."""
    port = f":{item.published_port}" if item.published_port is not None else ""
    options = f" options={','.join(o.name for o in item.options)}" if item.options else ""
    return f"{item.published_protocol}{port} -> {_source(rule, item)}{options}"


def _source(rule: CdnRule, item: ProtocolSet) -> str:
    return (
        f"{item.source_protocol}://{rule.source_host}:{item.source_port or '-'}{rule.source_path}"
    )


def name_of(subject: DnsRecord | CdnRule) -> tuple[str, str]:
    """(provider, object) for a row."""
    if isinstance(subject, DnsRecord):
        return "vultr", f"{subject.type} {subject.fqdn}"
    return "edgio", f"rule {subject.shortname}:{subject.published_host}{subject.published_path}"


def _action(change: Change) -> str:
    if isinstance(change.desired, CdnRule) and change.desired.owner is None:
        return "release"
    return change.action.value


def change_row(change: Change) -> dict[str, str]:
    provider, name = name_of(change.subject)
    return {
        "action": _action(change),
        "provider": provider,
        "object": name,
        "before": describe(change.current),
        "after": describe(change.desired),
        "why": "",
    }


def skip_row(skipped: Skipped) -> dict[str, str]:
    provider, name = name_of(skipped.subject)
    return {
        "action": "skip",
        "provider": provider,
        "object": name,
        "before": describe(skipped.subject),
        "after": "-",
        "why": f"{skipped.reason}: {skipped.message}",
    }


def as_json(result: PassResult) -> dict[str, Any]:
    routes = {}
    for key, status in sorted(result.statuses.items()):
        ready: dict[str, Any] = next(
            (c for c in status.get("conditions") or [] if c["type"] == "Ready"), {}
        )
        routes[key] = {k: ready.get(k) for k in ("status", "reason", "message")}
    return {
        "changes": [change_row(c) for c in result.plan.changes],
        "skipped": [skip_row(s) for s in result.plan.skipped],
        "routes": routes,
        "listingProblems": {k: v.message for k, v in sorted(result.listing_problems.items())},
        "refusal": " ".join(r.message for r in result.refusals) or None,
    }


def table(rows: list[dict[str, str]]) -> str:
    keys = [c.lower() for c in COLUMNS]
    widths = [max([len(c)] + [len(r[k]) for r in rows]) for c, k in zip(COLUMNS, keys, strict=True)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(row[k].ljust(w) for k, w in zip(keys, widths, strict=True)).rstrip())
    return "\n".join(lines)


def print_plan(result: PassResult, output: str = "table") -> None:
    document = as_json(result)
    if output == "json":
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    rows = document["changes"] + document["skipped"]
    print(table(rows) if rows else "nothing to change")
    for key, route in document["routes"].items():
        print(f"route {key}: Ready={route['status']} {route['reason']}: {route['message']}")
    for where, message in document["listingProblems"].items():
        print(f"not listed: {where}: {message}")
    if document["refusal"]:
        print(document["refusal"])
