"""In-memory Vultr DNS and Edgio stores, faithful to the rules the core must respect.

They implement the provider Protocols of ``reconciler.providers.base`` the way our HTTP
clients present the real services, so the pure core can be driven without servers:

- Vultr: record ids; one TTL per name and type (a create or update that would mix two is
  refused with a validation error, as Vultr answers 400); TXT data travels quoted and
  unquoted TXT is refused at the wire, as Vultr does; a delete of a gone record is done.
- Edgio: uuids and version numbers; a second rule with the same host (compared
  case-insensitively) and path is refused with a conflict (409); a create or update is
  accepted as ``PENDING`` and the edge keeps serving the previously published version
  (``live``) until :meth:`MemoryEdgio.publish`, which makes it ``COMPLETED``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

from reconciler.model import CdnRule, DnsRecord
from reconciler.providers.base import Conflict, NotFound, ValidationFailed

VULTR = "vultr"
EDGIO = "edgio"


@dataclass
class WireRecord:
    """A record as Vultr stores it: TXT data with its quotes."""

    zone: str
    name: str
    type: str
    data: str
    ttl: int


def quoted(record: DnsRecord) -> str:
    return f'"{record.data}"' if record.type == "TXT" else record.data


@dataclass
class MemoryVultr:
    records: dict[str, WireRecord] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def list_records(self, zone: str) -> list[DnsRecord]:
        return [
            DnsRecord(r.zone, r.name, r.type, _unquote(r), r.ttl, id=record_id)
            for record_id, r in sorted(self.records.items())
            if r.zone == zone
        ]

    def create_record(self, record: DnsRecord) -> DnsRecord:
        return self.put(
            None, WireRecord(record.zone, record.name, record.type, quoted(record), record.ttl)
        )

    def update_record(self, current: DnsRecord, desired: DnsRecord) -> DnsRecord:
        stored = self.records.get(current.id or "")
        if stored is None:
            raise NotFound(VULTR, "update_record", "record not found", 404)
        if stored.type != desired.type:
            raise ValidationFailed(VULTR, "update_record", "type cannot change", 400)
        wire = WireRecord(desired.zone, desired.name, desired.type, quoted(desired), desired.ttl)
        return self.put(current.id, wire)

    def delete_record(self, record: DnsRecord) -> None:
        self.records.pop(record.id or "", None)

    def put(self, record_id: str | None, wire: WireRecord) -> DnsRecord:
        """Store a record as the API would, or refuse it as the API would."""
        if wire.type == "TXT" and not (
            len(wire.data) >= 2 and wire.data[0] == wire.data[-1] == '"'
        ):
            raise ValidationFailed(VULTR, "write", "Record data must be enclosed in quotes", 400)
        for other_id, other in self.records.items():
            same_set = (other.zone, other.name, other.type) == (wire.zone, wire.name, wire.type)
            if other_id != record_id and same_set and other.ttl != wire.ttl:
                raise ValidationFailed(VULTR, "write", "TTL differs from the record set's", 400)
        record_id = record_id or f"r{next(self._ids):04d}"
        self.records[record_id] = wire
        return DnsRecord(wire.zone, wire.name, wire.type, _unquote(wire), wire.ttl, id=record_id)

    def a_count(self, zone: str, name: str) -> int:
        return sum(
            1 for r in self.records.values() if (r.zone, r.name, r.type) == (zone, name, "A")
        )


def _unquote(record: WireRecord) -> str:
    if record.type == "TXT" and len(record.data) >= 2 and record.data[0] == record.data[-1] == '"':
        return record.data[1:-1]
    return record.data


@dataclass
class StoredRule:
    rule: CdnRule  # the latest version, with id, state and version
    live: CdnRule | None = None  # the version the edge serves (the last one published)


@dataclass
class MemoryEdgio:
    rules: dict[str, StoredRule] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def list_rules(self, shortname: str) -> list[CdnRule]:
        return [s.rule for _, s in sorted(self.rules.items()) if s.rule.shortname == shortname]

    def create_rule(self, rule: CdnRule) -> CdnRule:
        self._refuse_duplicate(rule, None)
        uuid = f"u{next(self._ids):04d}"
        stored = replace(rule, id=uuid, state="PENDING", version=1)
        self.rules[uuid] = StoredRule(stored)
        return stored

    def update_rule(self, current: CdnRule, desired: CdnRule) -> CdnRule:
        stored = self.rules.get(current.id or "")
        if stored is None:
            raise NotFound(EDGIO, "update_rule", "unknown uuid", 404)
        self._refuse_duplicate(desired, current.id)
        version = (stored.rule.version or 0) + 1
        stored.rule = replace(desired, id=current.id, state="PENDING", version=version)
        return stored.rule

    def delete_rule(self, rule: CdnRule) -> None:
        self.rules.pop(rule.id or "", None)  # the client counts a 404 as done

    def publish(self) -> None:
        for stored in self.rules.values():
            stored.rule = replace(stored.rule, state="COMPLETED")
            stored.live = stored.rule

    def _refuse_duplicate(self, rule: CdnRule, uuid: str | None) -> None:
        for other_id, other in self.rules.items():
            if other_id != uuid and other.rule.key == rule.key:
                raise Conflict(EDGIO, "write", "a rule with this host and path exists", 409)
