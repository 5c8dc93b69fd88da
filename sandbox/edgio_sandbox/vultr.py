"""A stateful emulator of the Vultr DNS API v2, strict enough for the official client.

It reproduces what `docs/vultr-dns-api.md` records about the live service and about
vultr-python-client 1.0.2, because a controller that works against a strict emulator
works against the lenient real thing, never the other way round:

- exact success codes (domain create 200, record create 201, updates and deletes 204
  with no body) and ``Content-Type: application/json`` exactly, or the client rejects
  the answer;
- ``{"error": ..., "status": N}`` error bodies, 401 without the right Bearer key, 404 for
  unknown zones and records;
- opaque cursor paging (``per_page`` 100 by default, at most 500, ``""`` links at the
  ends); cursors are keyset-based so a page never skips records when others change;
  since Vultr does not document its cursors, the odd but legal ways they may behave
  can be switched on: pages that overlap (`page_overlap`), a smaller page than asked
  (`page_cap`), and fresh cursors to empty pages forever (`endless_pages`);
- per-client-IP rate limiting (429 past ``rate_limit`` requests in any 1 s window, with no
  Retry-After unless asked, as Vultr documents none);
- the record rules that shape a controller's algorithm: relative names (``""`` = apex),
  TXT data sent in quotes and returned in quotes, one TTL per name/type set, ``priority``
  always an integer (-1 where it has no meaning).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import random
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from edgio_sandbox.httpbase import EmulatorServer, HttpError, Request, Response

RECORD_TYPES = frozenset({"A", "AAAA", "CNAME", "NS", "MX", "SRV", "TXT", "CAA", "SSHFP"})
PRIORITY_TYPES = frozenset({"MX", "SRV"})
HOSTNAME_TYPES = frozenset({"CNAME", "NS", "MX"})
DEFAULT_TTL = 300
DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 500
MAX_TTL = 2**31 - 1

_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_RECORD_FIELDS = frozenset({"name", "data", "ttl", "priority"})

Json = dict[str, Any]
Handler = Callable[[Request, dict[str, str]], Response]


def _error(status: int, message: str) -> HttpError:
    return HttpError(Response.json(status, {"error": message, "status": status}))


def _bad(message: str) -> HttpError:
    return _error(400, message)


def _no_content() -> Response:
    return Response(204)


@dataclass
class _Record:
    seq: int
    id: str
    type: str
    name: str
    data: str  # TXT values are held without their quotes
    ttl: int
    priority: int

    def as_json(self) -> Json:
        data = f'"{self.data}"' if self.type == "TXT" else self.data
        return {
            "id": self.id,
            "type": self.type,
            "name": self.name,
            "data": data,
            "priority": self.priority,
            "ttl": self.ttl,
        }


@dataclass
class _Zone:
    seq: int
    domain: str
    date_created: str
    dns_sec: str = "disabled"
    nsprimary: str = "ns1.vultr.com"
    email: str = "dnsadm@vultr.com"
    records: dict[str, _Record] = field(default_factory=dict)

    def as_json(self) -> Json:
        return {"domain": self.domain, "date_created": self.date_created, "dns_sec": self.dns_sec}


# -- validation, shared by the API and the direct (test) methods --------------------------


def _check_hostname(value: str, what: str) -> str:
    labels = value.rstrip(".").split(".")
    if len(value) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise _bad(f"Invalid {what}: {value}")
    return value.rstrip(".")


def _check_domain(value: object) -> str:
    if not isinstance(value, str) or "." not in value.strip("."):
        raise _bad("Invalid domain: a domain name such as example.com is required")
    return _check_hostname(value, "domain").lower()


def _check_name(zone: str, name: object) -> str:
    """Names are relative to the zone; anything that looks absolute is refused, so a
    client that sends full names is caught here rather than by a confused zone."""
    if not isinstance(name, str):
        raise _bad("Record name must be a string")
    if name == "":
        return name
    if name in ("@", zone) or name.endswith(".") or name.endswith(f".{zone}"):
        raise _bad(f'Record name must be relative to the zone ("" for the apex): {name}')
    labels = name.split(".")
    rest = labels[1:] if labels[0] == "*" else labels
    if not all(_LABEL.fullmatch(label) for label in rest) or len(name) + len(zone) >= 253:
        raise _bad(f"Invalid record name: {name}")
    return name


def _check_txt(data: str, require_quotes: bool) -> str:
    """Vultr's TXT rules: trimmed, quoted at both ends or not at all, no inner quotes."""
    value = data.strip()
    quoted = len(value) >= 2 and value.startswith('"') and value.endswith('"')
    if quoted:
        value = value[1:-1]
    elif require_quotes or value.startswith('"') or value.endswith('"'):
        raise _bad("Record data must be enclosed in quotes")
    if '"' in value:
        raise _bad("Quotes may only appear at the beginning and end of the data")
    return value


def _check_data(type_: str, data: object, require_quotes: bool = True) -> str:
    if not isinstance(data, str):
        raise _bad("Record data must be a string")
    if type_ == "TXT":
        return _check_txt(data, require_quotes)
    if not data.strip():
        raise _bad("Record data must not be empty")
    if type_ in ("A", "AAAA"):
        kind = ipaddress.IPv4Address if type_ == "A" else ipaddress.IPv6Address
        try:
            kind(data)
        except ValueError:
            raise _bad(f"Invalid IP address for {type_} record: {data}") from None
        return data
    if type_ in HOSTNAME_TYPES:
        return _check_hostname(data, f"{type_} target")
    return data


def _check_int(value: object, what: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _bad(f"Invalid {what}: must be an integer from {low} to {high}")
    return value


def _check_type(value: object) -> str:
    if not isinstance(value, str) or value.upper() not in RECORD_TYPES:
        raise _bad(f"Invalid record type: {value}; one of {', '.join(sorted(RECORD_TYPES))}")
    return value.upper()


def _priority(type_: str, value: object) -> int:
    if value is not None:
        value = _check_int(value, "priority", 0, 65535)
    if type_ not in PRIORITY_TYPES:
        return -1
    return value if isinstance(value, int) else 0


# -- paging -------------------------------------------------------------------------------


def _cursor(direction: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{direction}:{seq}".encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        direction, _, seq = raw.partition(":")
        if direction in ("next", "prev"):
            return direction, int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise _bad("Invalid cursor")


def _per_page(request: Request) -> int:
    raw = request.param("per_page")
    if raw is None or raw == "":
        return DEFAULT_PER_PAGE
    try:
        value = int(raw)
    except ValueError:
        raise _bad("Invalid per_page: must be an integer") from None
    if value < 1:
        raise _bad("Invalid per_page: must be at least 1")
    return min(value, MAX_PER_PAGE)


@dataclass
class Paging:
    """How list endpoints page. The defaults are the well-behaved service; the rest are
    legal answers a client must survive, since Vultr does not document its cursors."""

    overlap: int = 0  # each later page starts this many items before its cursor
    cap: int | None = None  # a page holds at most this many, whatever per_page says
    endless: bool = False  # past the end, empty pages, each with a fresh next cursor


def _page(
    request: Request, key: str, items: list[tuple[int, Json]], paging: Paging | None = None
) -> Response:
    """One page of `items` (sorted by seq). Cursors name a seq, not an offset, so a page
    boundary stays put when items before it are added or removed."""
    paging = paging or Paging()
    per_page = min(_per_page(request), paging.cap or MAX_PER_PAGE)
    start = cursor_seq = 0
    cursor = request.param("cursor")
    if cursor:
        direction, cursor_seq = _read_cursor(cursor)
        index = next((i for i, (s, _) in enumerate(items) if s >= cursor_seq), len(items))
        start = index if direction == "next" else max(0, index - per_page)
        if direction == "next" and paging.overlap:
            start = max(0, start - paging.overlap)
    chunk = items[start : start + per_page]
    end = start + len(chunk)
    if end < len(items):
        following = _cursor("next", items[end][0])
    elif paging.endless:  # a cursor past everything, new every time
        following = _cursor("next", max(items[-1][0] if items else 0, cursor_seq) + 1)
    else:
        following = ""
    links = {
        "next": following,
        "prev": _cursor("prev", items[start][0]) if 0 < start < len(items) else "",
    }
    body = {key: [item for _, item in chunk], "meta": {"total": len(items), "links": links}}
    return Response.json(200, body)


# -- small helpers ------------------------------------------------------------------------


class _direct:
    """Turns the API's 400 answers into ValueError for the direct (Python) methods."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, tb: object) -> None:
        if isinstance(error, HttpError):
            raise ValueError(_message(error)) from None


def _message(error: HttpError) -> str:
    return str(json.loads(error.response.body)["error"])


def _check_domain_direct(zone: str) -> str:
    with _direct():
        return _check_domain(zone)


def _template_regex(template: str) -> str:
    return re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)


def _body(request: Request) -> Json:
    try:
        body = json.loads(request.body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _bad("Request body must be valid JSON") from None
    if not isinstance(body, dict):
        raise _bad("Request body must be a JSON object")
    return body


def _check_dnssec(value: object) -> str:
    if value not in ("enabled", "disabled"):
        raise _bad(f'Invalid dns_sec: {value}; "enabled" or "disabled"')
    return str(value)


def _check_ip(value: object) -> str:
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise _bad(f"Invalid ip: {value}") from None


def _dnssec_lines(domain: str, dns_sec: str) -> list[str]:
    """Stable, plausible DNSKEY/DS lines; none while DNSSEC is off."""
    if dns_sec != "enabled":
        return []
    digest = hashlib.sha256(domain.encode()).digest()
    key = base64.b64encode(digest * 2).decode()
    tag = int.from_bytes(digest[:2], "big")
    return [
        f"{domain} IN DNSKEY 257 3 13 {key}",
        f"{domain} IN DS {tag} 13 2 {digest.hex().upper()}",
    ]


class _RateWindow:
    """At most `limit` requests served per client in any sliding 1 s window."""

    def __init__(self, limit: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self._clock = clock
        self._served: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, client: str) -> bool:
        now = self._clock()
        with self._lock:
            served = self._served.setdefault(client, deque())
            while served and served[0] <= now - 1.0:
                served.popleft()
            if len(served) >= self.limit:
                return False
            served.append(now)
            return True


class VultrEmulator(EmulatorServer):
    """The Vultr DNS v2 API on loopback; the unmodified official client works against it."""

    name = "vultr"

    _TEMPLATES: tuple[tuple[str, str, str], ...] = (
        ("GET", "/v2/domains", "_list_domains"),
        ("POST", "/v2/domains", "_create_domain"),
        ("GET", "/v2/domains/{domain}", "_get_domain"),
        ("PUT", "/v2/domains/{domain}", "_update_domain"),
        ("DELETE", "/v2/domains/{domain}", "_delete_domain"),
        ("GET", "/v2/domains/{domain}/soa", "_get_soa"),
        ("PATCH", "/v2/domains/{domain}/soa", "_update_soa"),
        ("GET", "/v2/domains/{domain}/dnssec", "_get_dnssec"),
        ("GET", "/v2/domains/{domain}/records", "_list_records"),
        ("POST", "/v2/domains/{domain}/records", "_create_record"),
        ("GET", "/v2/domains/{domain}/records/{id}", "_get_record"),
        ("PATCH", "/v2/domains/{domain}/records/{id}", "_update_record"),
        ("DELETE", "/v2/domains/{domain}/records/{id}", "_delete_record"),
    )

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        zones: Iterable[str] = ("example.com",),
        rate_limit: float | None = 30.0,
        retry_after: int | str | None = None,
        paging: Paging | None = None,
        clock: Callable[[], float] = time.monotonic,
        seed: int = 0,
    ):
        super().__init__(host, port, seed=seed)
        self.api_key = api_key if api_key is not None else secrets.token_hex(18).upper()
        self.retry_after = retry_after
        self.paging = paging or Paging()
        self._window = _RateWindow(rate_limit, clock) if rate_limit is not None else None
        self._ids = random.Random(seed)
        self._seq = 0
        self._zones: dict[str, _Zone] = {}
        self._lock = threading.RLock()
        self._routes: list[tuple[str, str, re.Pattern[str], Handler]] = [
            (method, template, re.compile(_template_regex(template)), getattr(self, handler))
            for method, template, handler in self._TEMPLATES
        ]
        for zone in zones:
            self._add_zone(_check_domain_direct(zone))

    # -- for tests, the demo and other emulators' wiring ----------------------------------

    @property
    def api_url(self) -> str:
        return f"{self.url}/v2"

    def info(self) -> dict[str, str]:
        return {"vultr": self.api_url, "vultr_api_key": self.api_key, "zone": self._first_zone()}

    def env(self) -> dict[str, str]:
        return {
            "VULTR_API_URL": self.api_url,
            "VULTR_API_KEY": self.api_key,
            "EDGIO_INGRESS_DNS_ZONE": self._first_zone(),
        }

    def records(self, zone: str) -> list[Json]:
        """The zone's records as the API would return them (TXT data in quotes)."""
        with self._lock:
            return [record.as_json() for record in self._zone_direct(zone).records.values()]

    def seed_record(
        self,
        zone: str,
        name: str,
        type: str,
        data: str,
        ttl: int = DEFAULT_TTL,
        priority: int | None = None,
    ) -> str:
        """Add a record as if made in the Vultr portal (TXT quotes optional); its id."""
        with self._lock, _direct():
            record = self._new_record(
                self._zone_direct(zone),
                {"name": name, "type": type, "data": data, "ttl": ttl, "priority": priority},
                require_quotes=False,
            )
            return record.id

    def edit_record(self, zone: str, record_id: str, **fields: Any) -> None:
        """Change a record out of band (drift); the API's rules still apply."""
        unknown = set(fields) - _RECORD_FIELDS
        if unknown:
            raise ValueError(f"edit_record: unknown fields {sorted(unknown)}")
        with self._lock, _direct():
            zone_state = self._zone_direct(zone)
            self._patch(zone_state, self._record_direct(zone_state, record_id), fields, False)

    def remove_record(self, zone: str, record_id: str) -> None:
        with self._lock:
            zone_state = self._zone_direct(zone)
            self._record_direct(zone_state, record_id)
            del zone_state.records[record_id]

    # -- HTTP -----------------------------------------------------------------------------

    def route_label(self, request: Request) -> str:
        for _, template, pattern, _ in self._routes:
            if pattern.fullmatch(request.path):
                return template
        return request.path

    def handle(self, request: Request) -> Response:
        if self._window is not None and not self._window.admit(request.client):
            return self._throttled()
        if not self._authorized(request):
            raise _error(401, "Invalid API token.")
        allowed = False
        for method, _, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            allowed = True
            if method == request.method:
                params = {key: unquote(value) for key, value in match.groupdict().items()}
                with self._lock:
                    return handler(request, params)
        if allowed:
            raise _error(405, f"Method {request.method} not allowed on {request.path}")
        raise _error(404, "Not found")

    def _throttled(self) -> Response:
        response = Response.json(429, {"error": "Rate limit exceeded", "status": 429})
        if self.retry_after is not None:
            response.headers["Retry-After"] = str(self.retry_after)
        return response

    def _authorized(self, request: Request) -> bool:
        expected = f"Bearer {self.api_key}".encode()
        given = request.headers.get("Authorization", "").encode()
        return hmac.compare_digest(expected, given)

    # -- domains --------------------------------------------------------------------------

    def _list_domains(self, request: Request, params: dict[str, str]) -> Response:
        items = [(zone.seq, zone.as_json()) for zone in self._zones.values()]
        return _page(request, "domains", items)

    def _create_domain(self, request: Request, params: dict[str, str]) -> Response:
        body = _body(request)
        domain = _check_domain(body.get("domain"))
        if domain in self._zones:
            raise _bad(f"Domain already exists: {domain}")
        dns_sec = _check_dnssec(body.get("dns_sec", "disabled"))
        ip = body.get("ip")
        address = _check_ip(ip) if ip not in (None, "") else None
        zone = self._add_zone(domain)
        zone.dns_sec = dns_sec
        if address is not None:
            self._default_records(zone, address)
        return Response.json(200, {"domain": zone.as_json()})

    def _get_domain(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json(200, {"domain": self._zone(params).as_json()})

    def _update_domain(self, request: Request, params: dict[str, str]) -> Response:
        zone = self._zone(params)
        body = _body(request)
        if "dns_sec" not in body:
            raise _bad("dns_sec is required")
        zone.dns_sec = _check_dnssec(body["dns_sec"])
        return _no_content()

    def _delete_domain(self, request: Request, params: dict[str, str]) -> Response:
        del self._zones[self._zone(params).domain]
        return _no_content()

    def _get_soa(self, request: Request, params: dict[str, str]) -> Response:
        zone = self._zone(params)
        return Response.json(200, {"dns_soa": {"nsprimary": zone.nsprimary, "email": zone.email}})

    def _update_soa(self, request: Request, params: dict[str, str]) -> Response:
        zone = self._zone(params)
        body = _body(request)
        nsprimary, email = body.get("nsprimary"), body.get("email")
        if nsprimary is not None:
            if not isinstance(nsprimary, str):
                raise _bad("nsprimary must be a string")
            zone.nsprimary = _check_hostname(nsprimary, "nsprimary")
        if email is not None:
            if not isinstance(email, str) or "@" not in email.strip("@"):
                raise _bad(f"Invalid email: {email}")
            zone.email = email
        return _no_content()

    def _get_dnssec(self, request: Request, params: dict[str, str]) -> Response:
        zone = self._zone(params)
        return Response.json(200, {"dns_sec": _dnssec_lines(zone.domain, zone.dns_sec)})

    # -- records --------------------------------------------------------------------------

    def _list_records(self, request: Request, params: dict[str, str]) -> Response:
        records = self._zone(params).records.values()
        items = [(record.seq, record.as_json()) for record in records]
        return _page(request, "records", items, self.paging)

    def _create_record(self, request: Request, params: dict[str, str]) -> Response:
        record = self._new_record(self._zone(params), _body(request), require_quotes=True)
        return Response.json(201, {"record": record.as_json()})

    def _get_record(self, request: Request, params: dict[str, str]) -> Response:
        return Response.json(200, {"record": self._record(params).as_json()})

    def _update_record(self, request: Request, params: dict[str, str]) -> Response:
        record = self._record(params)
        body = _body(request)
        if "type" in body and _check_type(body["type"]) != record.type:
            raise _bad("Unable to update record: the record type cannot be changed")
        fields = {key: body[key] for key in _RECORD_FIELDS if key in body}
        self._patch(self._zone(params), record, fields, True)
        return _no_content()

    def _delete_record(self, request: Request, params: dict[str, str]) -> Response:
        record = self._record(params)
        del self._zone(params).records[record.id]
        return _no_content()

    # -- state ----------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _add_zone(self, domain: str) -> _Zone:
        created = datetime.now(UTC).isoformat(timespec="seconds")
        zone = _Zone(self._next_seq(), domain, created)
        self._zones[domain] = zone
        return zone

    def _default_records(self, zone: _Zone, address: str) -> None:
        """What Vultr fills in when a domain is created with an IP (pulumi-vultr#141)."""
        apex_type = "A" if ipaddress.ip_address(address).version == 4 else "AAAA"
        for name, type_, data, priority in (
            ("", apex_type, address, None),
            ("*", "CNAME", zone.domain, None),
            ("", "MX", zone.domain, 10),
            ("", "NS", "ns1.vultr.com", None),
            ("", "NS", "ns2.vultr.com", None),
        ):
            body = {"name": name, "type": type_, "data": data, "priority": priority}
            self._new_record(zone, body, require_quotes=False)

    def _new_record(self, zone: _Zone, body: Json, require_quotes: bool) -> _Record:
        for key in ("name", "type", "data"):
            if key not in body or body[key] is None:
                raise _bad(f"Unable to add record: {key} is required")
        type_ = _check_type(body["type"])
        name = _check_name(zone.domain, body["name"])
        data = _check_data(type_, body["data"], require_quotes)
        ttl = body.get("ttl")
        ttl = DEFAULT_TTL if ttl is None else _check_int(ttl, "TTL", 1, MAX_TTL)
        self._check_same_ttl(zone, name, type_, ttl, None, "add")
        record = _Record(
            seq=self._next_seq(),
            id=str(uuid.UUID(int=self._ids.getrandbits(128), version=4)),
            type=type_,
            name=name,
            data=data,
            ttl=ttl,
            priority=_priority(type_, body.get("priority")),
        )
        zone.records[record.id] = record
        return record

    def _patch(self, zone: _Zone, record: _Record, fields: Json, require_quotes: bool) -> None:
        """Validate every field before applying any: a refused PATCH changes nothing."""
        name = record.name
        if fields.get("name") is not None:
            name = _check_name(zone.domain, fields["name"])
        data = record.data
        if fields.get("data") is not None:
            data = _check_data(record.type, fields["data"], require_quotes)
        ttl = record.ttl
        if fields.get("ttl") is not None:
            ttl = _check_int(fields["ttl"], "TTL", 1, MAX_TTL)
        priority = record.priority
        if fields.get("priority") is not None:
            priority = _priority(record.type, fields["priority"])
        self._check_same_ttl(zone, name, record.type, ttl, record.id, "update")
        record.name, record.data, record.ttl, record.priority = name, data, ttl, priority

    @staticmethod
    def _check_same_ttl(
        zone: _Zone, name: str, type_: str, ttl: int, record_id: str | None, verb: str
    ) -> None:
        """Vultr keeps one TTL per name/type set and refuses writes that would mix them."""
        for other in zone.records.values():
            if other.name == name and other.type == type_ and other.id != record_id:
                if other.ttl != ttl:
                    raise _bad(
                        f"Unable to {verb} record: TTL {ttl} differs from the TTL {other.ttl} "
                        f"of the existing {type_} records named {name!r}"
                    )
                return

    def _zone(self, params: dict[str, str]) -> _Zone:
        zone = self._zones.get(params["domain"].lower())
        if zone is None:
            raise _error(404, f"Domain not found: {params['domain']}")
        return zone

    def _record(self, params: dict[str, str]) -> _Record:
        record = self._zone(params).records.get(params["id"])
        if record is None:
            raise _error(404, f"Record not found: {params['id']}")
        return record

    def _zone_direct(self, zone: str) -> _Zone:
        try:
            return self._zones[zone.lower()]
        except KeyError:
            raise KeyError(f"no zone {zone!r} in the Vultr emulator") from None

    @staticmethod
    def _record_direct(zone: _Zone, record_id: str) -> _Record:
        try:
            return zone.records[record_id]
        except KeyError:
            raise KeyError(f"no record {record_id!r} in zone {zone.domain!r}") from None

    def _first_zone(self) -> str:
        with self._lock:
            return next(iter(self._zones), "")
