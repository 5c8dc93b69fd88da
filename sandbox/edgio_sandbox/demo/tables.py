"""Compact tables of what Vultr and Edgio hold, and the controller's log as a story.

The emulators are read directly (what the Vultr UI and the Edgio portal would show), so
the tables say what the outside world holds, not what the controller believes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

OWNER_FIELD = re.compile(r"edgio-ingress/(owner|resource)=([^,\"]+)")


def table(header: Sequence[str], rows: Iterable[Sequence[str]], indent: str = "  ") -> str:
    """Columns as wide as their widest cell, like `kubectl get`."""
    body = [list(header), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in body) for i in range(len(header))]
    lines = ["   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in body]
    return "\n".join(indent + line.rstrip() for line in lines)


def _ownership(text: str) -> str:
    """What an ownership marker names (`origin`, `edgioroute/ns/name`), or `-` for an
    object someone else owns."""
    fields = dict(OWNER_FIELD.findall(text))
    if "owner" not in fields:
        return "-"
    return f"edgio-ingress: {fields.get('resource', '')}"


def zone_table(zone: str, records: Iterable[dict[str, Any]]) -> str:
    """NAME TYPE DATA OWNED-BY; a name is ours when its `a-<name>` TXT says so."""
    records = sorted(records, key=lambda r: (r["name"], r["type"], r["data"]))
    owned = {
        r["name"].removeprefix("a-"): _ownership(r["data"])
        for r in records
        if r["type"] == "TXT" and r["name"].startswith("a-")
    }
    rows = []
    for record in records:
        data = record["data"]
        marker = record["type"] == "TXT" and "heritage=edgio-ingress" in data
        owner = owned.get(record["name"], "-") if record["type"] != "TXT" else _ownership(data)
        rows.append(
            [record["name"] or "@", record["type"], "(ownership marker)" if marker else data, owner]
        )
    return f"  Vultr zone {zone}:\n" + table(["NAME", "TYPE", "DATA", "OWNER"], rows, "    ")


def marker_of(body: dict[str, Any]) -> str:
    """The ownership marker a rule carries (a `req_send_header` option), or ''."""
    options = [*(body.get("options") or [])]
    for protocols in body.get("protocolSets") or []:
        options.extend(protocols.get("options") or [])
    for option in options:
        for parameter in option.get("parameters") or []:
            if isinstance(parameter, str) and "heritage=edgio-ingress" in parameter:
                return parameter
    return ""


def rule_row(instance: dict[str, Any]) -> list[str]:
    body = instance["body"]
    protocols = (body.get("protocolSets") or [{}])[0]
    port = protocols.get("sourcePort")
    source = f"{body.get('sourceHostname')}{':' + str(port) if port else ''}"
    return [
        f"{protocols.get('publishedProtocol', 'http')}://{body['publishedHostname']}"
        f"{body.get('publishedUrlPath', '/')}",
        source,
        instance["status"]["state"],
        str(instance["revision"]["versionNumber"]),
        _ownership(marker_of(body)),
    ]


def rules_table(shortname: str, instances: Iterable[dict[str, Any]]) -> str:
    rows = sorted((rule_row(i) for i in instances), key=lambda row: row[0])
    header = ["PUBLISHED", "SOURCE", "STATE", "VERSION", "OWNER"]
    return f"  Edgio account {shortname}:\n" + table(header, rows, "    ")


def story(lines: Iterable[dict[str, Any]]) -> list[str]:
    """The controller's log lines that tell what it did: every EdgioRoute it wrote, every
    write it asked of Vultr or Edgio, every change held back or failed, every warning, and
    the summary of each pass that changed something (quiet passes and listings are left
    out)."""
    return [
        "  | " + (line["raw"] if "raw" in line else _fields(line)) for line in lines if _told(line)
    ]


def _told(line: dict[str, Any]) -> bool:
    event = line.get("event", "")
    if "raw" in line or line.get("level") in ("warning", "error"):
        return True
    if event == "provider call":
        return not str(line.get("operation", "")).startswith(("list_", "get_"))
    if event == "route write":
        return True
    if event in ("dns change", "cdn change"):
        return line.get("result") != "ok"  # what went through is told by its call
    return event == "pass" and bool(line.get("changes") or line.get("failed"))


def _fields(line: dict[str, Any]) -> str:
    """`event key=value ...` without the timestamp, as `--log-format console` prints."""
    skip = {"event", "timestamp", "level"}
    level = line.get("level", "info")
    rest = " ".join(
        f"{k}={v}" for k, v in line.items() if k not in skip and v not in ("", [], None)
    )
    prefix = f"[{level}] " if level != "info" else ""
    return f"{prefix}{line.get('event', '')} {rest}".rstrip()
