"""Vultr DNS (API v2) behind the `DnsProvider` seam, on `requests`.

Our own small client rather than vultr-python-client: that one has no timeouts by
default, no retries we control, pins that hold back the rest of the stack, and needs a
workaround just to send its key (see the README, "Why our own clients").

What Vultr makes us care about, from docs/vultr-dns-api.md:
- listing has no filters, so a pass lists the whole zone, 500 records a page, following
  opaque ``meta.links.next`` cursors until they are ``""``;
- TXT data goes out wrapped in double quotes and comes back wrapped; the model holds it
  bare, so one pair is added on the way out and stripped on the way in;
- a POST is not idempotent: when its answer is lost the record may exist anyway, so a
  retried create first looks for it instead of making a duplicate;
- more than 30 requests/s per IP draws 429s, so every call is paced by a token bucket.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import requests

from reconciler.model import DnsRecord
from reconciler.providers.base import NotFound, ServerError
from reconciler.providers.transport import (
    HttpTransport,
    MessageReader,
    RetryPolicy,
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

    def redact(self, text: str) -> str:
        return text.replace(self._api_key, "<redacted>")


def _check_api_key(api_key: str) -> str:
    """Keys often come from Secret files with a trailing newline; anything else odd is
    refused here, because a bad header value would otherwise surface in an error."""
    key = api_key.strip()
    if not key or not key.isascii() or not key.isprintable() or " " in key:
        raise ValueError("VultrDns: api_key is empty or holds spaces or control characters")
    return key


def _error_reader(token: _BearerToken) -> MessageReader:
    """Vultr explains a refusal in ``{"error": ...}``; fall back to the raw text."""

    def read(response: requests.Response) -> str:
        payload = json_or_none(response)
        if isinstance(payload, dict) and isinstance(payload.get("error"), str):
            return token.redact(payload["error"])
        return token.redact(raw_message(response))

    return read


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


def _body(response: requests.Response, operation: str) -> dict[str, Any]:
    payload = json_or_none(response)
    if not isinstance(payload, dict):
        raise _unexpected(operation, response, "the body is not a JSON object")
    return payload


def _unexpected(operation: str, response: requests.Response, detail: str) -> ServerError:
    return ServerError(PROVIDER, operation, f"unexpected response: {detail}", response.status_code)


def _parse_record(zone: str, item: object) -> DnsRecord:
    if not isinstance(item, dict):
        raise TypeError("record is not an object")
    type_ = str(item["type"])
    data = str(item["data"])
    return DnsRecord(
        zone=zone,
        name=str(item["name"]),
        type=type_,
        data=_unquote(data) if type_ == "TXT" else data,
        ttl=int(item["ttl"]),
        id=str(item["id"]),
    )


def _records(
    zone: str, items: object, operation: str, response: requests.Response
) -> list[DnsRecord]:
    try:
        if not isinstance(items, list):
            raise TypeError("records is not a list")
        return [_parse_record(zone, item) for item in items]
    except (KeyError, TypeError, ValueError) as error:
        raise _unexpected(operation, response, str(error)) from None


def _next_cursor(page: dict[str, Any]) -> str:
    meta = page.get("meta")
    links = meta.get("links") if isinstance(meta, dict) else None
    cursor = links.get("next") if isinstance(links, dict) else None
    return cursor if isinstance(cursor, str) else ""


class VultrDns:
    """A `DnsProvider` for one Vultr account; every thread using it shares its rate limiter."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        rate: float = 20.0,
        burst: int = 5,
        policy: RetryPolicy = DEFAULT_POLICY,
        timeout: float = 10.0,
    ):
        token = _BearerToken(_check_api_key(api_key))
        self._transport = HttpTransport(
            PROVIDER,
            base_url,
            rate=rate,
            burst=burst,
            policy=policy,
            timeout=timeout,
            auth=token,
            message=_error_reader(token),
        )

    def __repr__(self) -> str:
        return f"VultrDns(base_url={self._transport.base_url!r})"

    def list_records(self, zone: str) -> list[DnsRecord]:
        """Every record of the zone, of every type (foreign ones included)."""
        records: list[DnsRecord] = []
        params: dict[str, Any] = {"per_page": PER_PAGE}
        seen: set[str] = set()
        while True:
            response = self._transport.request(
                "list_records", "GET", self._records_path(zone), params=params
            )
            page = _body(response, "list_records")
            records.extend(_records(zone, page.get("records"), "list_records", response))
            cursor = _next_cursor(page)
            if not cursor:
                return records
            if cursor in seen:
                raise _unexpected("list_records", response, "the paging cursor repeats")
            seen.add(cursor)
            params = {"per_page": PER_PAGE, "cursor": cursor}

    def create_record(self, record: DnsRecord) -> DnsRecord:
        """Create one record; a retry first checks whether the lost attempt landed."""
        _check_writable(record, "create_record")
        payload = _encode(
            {
                "name": record.name,
                "type": record.type,
                "data": _wire_data(record),
                "ttl": record.ttl,
            }
        )
        for attempt in self._transport.retrying():
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    landed = self._find(record)
                    if landed is not None:
                        return landed
                response = self._transport.send(
                    "create_record", "POST", self._records_path(record.zone), data=payload
                )
                created = _body(response, "create_record").get("record")
                return _records(record.zone, [created], "create_record", response)[0]
        raise AssertionError("unreachable: tenacity reraises the last error")

    def update_record(self, current: DnsRecord, desired: DnsRecord) -> DnsRecord:
        """PATCH name, data and ttl in place; Vultr cannot change a record's type."""
        record_id = _require_id(current, "update_record")
        if (desired.zone, desired.type) != (current.zone, current.type):
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
        """Delete by id. Already gone counts as done: that is the state we wanted."""
        path = self._record_path(record.zone, _require_id(record, "delete_record"))
        try:
            self._transport.request("delete_record", "DELETE", path)
        except NotFound:
            return

    def _find(self, record: DnsRecord) -> DnsRecord | None:
        for listed in self.list_records(record.zone):
            if (listed.name, listed.type, listed.data) == (record.name, record.type, record.data):
                return listed
        return None

    @staticmethod
    def _records_path(zone: str) -> str:
        return f"domains/{quote(zone, safe='')}/records"

    def _record_path(self, zone: str, record_id: str) -> str:
        return f"{self._records_path(zone)}/{quote(record_id, safe='')}"
