"""Vultr DNS (API v2) behind the `DnsProvider` seam, on `requests`.

Our own small client rather than vultr-python-client: that one has no timeouts by
default, no retries we control, pins that hold back the rest of the stack, and needs a
workaround just to send its key (see the README, "Why our own clients").

What Vultr makes us care about, from docs/vultr-dns-api.md:
- listing has no filters, so a pass lists the whole zone, 500 records a page, following
  opaque ``meta.links.next`` cursors until they are ``""``, the page is empty or
  ``meta.total`` records are in hand; whether cursors stay stable while records change
  is not documented, so a listing that sees the zone change is taken again once (see
  :meth:`VultrDns.list_records`);
- TXT data goes out wrapped in double quotes and comes back wrapped; the model holds it
  bare, so one pair is added on the way out and stripped on the way in;
- a POST is not idempotent: when its answer is lost the record may exist anyway, so a
  create is never posted again after such an answer (:class:`OutcomeUnknown`);
- more than 30 requests/s per IP draws 429s, so every call is paced by a token bucket
  shared by every client of the same endpoint and key.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import requests

from reconciler.model import DnsRecord
from reconciler.providers.base import Listing, NotFound, OutcomeUnknown, ServerError, Unreadable
from reconciler.providers.transport import (
    Budget,
    HttpTransport,
    RetryPolicy,
    Walk,
    fingerprint,
    json_or_none,
    raw_message,
)

PROVIDER = "vultr"
DEFAULT_BASE_URL = "https://api.vultr.com/v2"
PER_PAGE = 500
WRITABLE_TYPES = frozenset({"A", "TXT"})
DEFAULT_POLICY = RetryPolicy()


class _BearerToken(requests.auth.AuthBase):
    """The only holder of the API key, so nothing else can print it by accident."""

    def __init__(self, api_key: str):
        self._api_key = api_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._api_key}"
        return request

    def __repr__(self) -> str:
        return "_BearerToken(<redacted>)"


def _check_api_key(api_key: str) -> str:
    """Keys often come from Secret files with a trailing newline; anything else odd is
    refused here, because a bad header value would otherwise surface in an error."""
    key = api_key.strip()
    if not key or not key.isascii() or not key.isprintable() or " " in key:
        raise ValueError("VultrDns: api_key is empty or holds spaces or control characters")
    return key


def _error_message(response: requests.Response) -> str:
    """Vultr explains a refusal in ``{"error": ...}``; fall back to the raw text. (The
    transport cuts anything that looks like the key out of either.)"""
    payload = json_or_none(response)
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        return str(payload["error"])[:300]
    return raw_message(response)


def _check_writable(record: DnsRecord, operation: str) -> None:
    where = f"VultrDns.{operation}: record {record.fqdn!r}"
    if record.type not in WRITABLE_TYPES:
        raise ValueError(f"{where}: type {record.type!r} is not written (only A and TXT)")
    if record.type == "TXT" and '"' in record.data:
        raise ValueError(f"{where}: TXT data must not contain double quotes")
    if record.ttl < 1:
        raise ValueError(f"{where}: ttl must be a positive number of seconds")


def _wire_data(record: DnsRecord) -> str:
    return f'"{record.data}"' if record.type == "TXT" else record.data


def _unquote(data: str) -> str:
    if len(data) >= 2 and data[0] == data[-1] == '"':
        return data[1:-1]
    return data


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def _require_id(record: DnsRecord, operation: str) -> str:
    if not record.id:
        raise ValueError(f"VultrDns.{operation}: record {record.fqdn!r} has no id (list it first)")
    return record.id


def _unexpected(operation: str, detail: str) -> ServerError:
    return ServerError(PROVIDER, operation, f"unexpected response: {detail}")


def _parse_record(zone: str, item: object) -> DnsRecord:
    if not isinstance(item, dict):
        raise TypeError("record is not an object")
    type_, data, ttl = item["type"], item["data"], item["ttl"]
    if not isinstance(type_, str) or not isinstance(data, str):
        raise TypeError("type and data must be strings")
    if isinstance(ttl, bool) or not isinstance(ttl, int):
        raise TypeError(f"ttl {ttl!r} is not an integer")
    if not isinstance(item["id"], str) or not item["id"] or not isinstance(item["name"], str):
        raise TypeError("id and name must be strings")
    return DnsRecord(
        zone=zone,
        name=item["name"],
        type=type_,
        data=_unquote(data) if type_ == "TXT" else data,
        ttl=ttl,
        id=item["id"],
    )


def _read_record(zone: str, item: object) -> DnsRecord | Unreadable:
    """A listed record, or what was wrong with it: one odd record must not fail a pass."""
    try:
        return _parse_record(zone, item)
    except (KeyError, TypeError, ValueError) as error:
        record_id = item.get("id") if isinstance(item, dict) else None
        return Unreadable(
            PROVIDER,
            record_id if isinstance(record_id, str) else None,
            f"record in {zone} not readable ({type(error).__name__} {error})"[:200],
        )


@dataclass
class _Page:
    items: list[object]
    total: int | None
    next_cursor: str


def _read_page(payload: Any) -> _Page:
    if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
        raise _unexpected("list_records", "no 'records' list")
    meta = payload.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    links = meta.get("links") if isinstance(meta.get("links"), dict) else {}
    total = meta.get("total")
    cursor = links.get("next") if isinstance(links, dict) else None
    return _Page(
        payload["records"],
        total if isinstance(total, int) and not isinstance(total, bool) else None,
        cursor if isinstance(cursor, str) else "",
    )


class VultrDns:
    """A `DnsProvider` for one Vultr account; every client of the same endpoint and key
    in the process shares one rate limiter."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        rate: float = 20.0,
        burst: int = 5,
        policy: RetryPolicy = DEFAULT_POLICY,
        timeout: float = 10.0,
        progress: Callable[[], None] = lambda: None,
        fence: Callable[[], None] = lambda: None,
        writer: str = "",
    ):
        key = _check_api_key(api_key)
        self._transport = HttpTransport(
            PROVIDER,
            base_url,
            rate=rate,
            burst=burst,
            policy=policy,
            timeout=timeout,
            auth=_BearerToken(key),
            credential_id=fingerprint(PROVIDER, key),
            secrets=(key,),
            progress=progress,
            fence=fence,
            message=_error_message,
            writer=writer,
        )

    def __repr__(self) -> str:
        return f"VultrDns(base_url={self._transport.base_url!r})"

    def list_records(self, zone: str) -> Listing[DnsRecord]:
        """Every record of the zone, of every type (foreign ones included), each id once.

        A walk that sees the zone change (a record repeated, fewer records than
        ``meta.total``, a total that moves) is taken once more; if that one moves too,
        the listing comes back with ``complete=False`` and the pass must not delete.
        Records that cannot be read are skipped and listed in ``unreadable``.
        """
        budget = self._transport.budget()
        walk = self._walk(zone, budget)
        if walk.changed:
            walk = self._walk(zone, budget)
        return walk.listing()

    def _walk(self, zone: str, budget: Budget) -> Walk[DnsRecord]:
        """One walk through the pages: until the cursor ends, a page brings nothing new,
        or ``meta.total`` records are in hand (a server may hand out fresh cursors to
        empty pages forever)."""
        walk: Walk[DnsRecord] = Walk(lambda record: record.id)
        params: dict[str, Any] = {"per_page": PER_PAGE}
        total: int | None = None
        seen: set[str] = set()
        for number in itertools.count():
            page = self._transport.fetch(
                "list_records",
                "GET",
                self._records_path(zone),
                _read_page,
                params=params,
                budget=budget,
            )
            if number == 0:
                total = page.total
            elif page.total != total:
                walk.changed = True
            new = walk.add_page(_read_record(zone, item) for item in page.items)
            if page.next_cursor in seen:
                walk.changed = True  # a cursor that comes round again
            if (
                not new
                or not page.next_cursor
                or page.next_cursor in seen
                or (total is not None and walk.count >= total)
            ):
                break
            seen.add(page.next_cursor)
            params = {"per_page": PER_PAGE, "cursor": page.next_cursor}
        walk.check_total(total)
        return walk

    def create_record(self, record: DnsRecord) -> DnsRecord:
        """Create one record. Retried only after answers that prove nothing was written
        (429, 408, no connection); after one that may hide a write it raises
        :class:`OutcomeUnknown` rather than post again, and the next listing decides."""
        _check_writable(record, "create_record")
        payload = _encode(
            {
                "name": record.name,
                "type": record.type,
                "data": _wire_data(record),
                "ttl": record.ttl,
            }
        )
        answer = self._transport.create("create_record", self._records_path(record.zone), payload)
        created = answer.get("record") if isinstance(answer, dict) else None
        read = _read_record(record.zone, created)
        if isinstance(read, Unreadable):
            raise OutcomeUnknown(_unexpected("create_record", read.problem))
        return read

    def update_record(self, current: DnsRecord, desired: DnsRecord) -> DnsRecord:
        """PATCH name, data and ttl in place; Vultr cannot change a record's type."""
        record_id = _require_id(current, "update_record")
        if (desired.at[0], desired.type) != (current.at[0], current.type):
            raise ValueError(
                f"VultrDns.update_record: record {current.fqdn!r} cannot change zone or type"
            )
        _check_writable(desired, "update_record")
        payload = _encode({"name": desired.name, "data": _wire_data(desired), "ttl": desired.ttl})
        self._transport.request(
            "update_record", "PATCH", self._record_path(current.zone, record_id), data=payload
        )
        return replace(desired, id=record_id)

    def delete_record(self, record: DnsRecord) -> None:
        """Delete by id. Already gone counts as done (410, or a 404 while the zone is
        there); a 404 because the zone or the API path is wrong is an error."""
        path = self._record_path(record.zone, _require_id(record, "delete_record"))
        budget = self._transport.budget()
        try:
            self._transport.request("delete_record", "DELETE", path, budget=budget)
        except NotFound as error:
            if error.status == 410:
                return
            self._transport.request(
                "delete_record", "GET", f"domains/{quote(record.zone, safe='')}", budget=budget
            )

    @staticmethod
    def _records_path(zone: str) -> str:
        return f"domains/{quote(zone, safe='')}/records"

    def _record_path(self, zone: str, record_id: str) -> str:
        return f"{self._records_path(zone)}/{quote(record_id, safe='')}"
