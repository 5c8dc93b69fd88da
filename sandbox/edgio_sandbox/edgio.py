"""A stateful emulator of the Edgio Delivery Configuration API (delivery service instances).

It follows the contract of docs/edgio-config-api.md section 6: every request is signed
(HMAC over ``http://`` + Host header + raw target, so a client that signs anything other
than what it sent is caught), instances live in memory keyed by uuid with their version
history, writes are accepted synchronously and published after ``publish_delay``, and
bodies are validated and normalised the way the public sources say the service does.
Error bodies follow the SmartPurge ``{"errors": [...]}`` shape, the only one documented.

Listing pages by number, so a page boundary shifts when an instance is created or
deleted between two fetches, as page-number paging does. What the public sources leave
open can be switched on: a server that caps the page size below what was asked
(`max_page_size`), one that says how many there are (`list_total`), one that lists the
newest first (`newest_first`: a create between two page fetches then repeats an
instance on the next page), and instances that
the portal stored in shapes our own API calls would refuse (``seed_instance(raw=True)``).
"""

from __future__ import annotations

import copy
import hmac
import ipaddress
import json
import random
import re
import secrets
import threading
import time
import uuid as uuidlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from edgio_sandbox.httpbase import EmulatorServer, Request, Response
from edgio_sandbox.llnw_signature import (
    PRINCIPAL_HEADER,
    TIMESTAMP_HEADER,
    TOKEN_HEADER,
    expected_token,
    key_bytes,
)

API_PREFIX = "/config-api/v1"
PENDING = "PENDING"
COMPLETED = "COMPLETED"
DEFAULT_PROFILE = "LLNW-Generic"
PORTAL_USER = "control-portal"
PROTOCOLS = ("http", "https")
MAX_PAGE_SIZE = 1000
UUID_PATTERN = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)
HOSTNAME_PATTERN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$",
    re.IGNORECASE,
)
META = {"manifestVersion": "4", "serviceIdentifier": "deliverysvcinst", "serviceKey": "delivery"}

Json = dict[str, Any]


class Rejected(ValueError):
    """A request the service refuses; also raised by the direct (test) helpers."""

    def __init__(self, status: int, code: int, message: str, description: str = ""):
        super().__init__(message if not description else f"{message}: {description}")
        self.status = status
        self.code = code
        self.message = message
        self.description = description or message

    def response(self) -> Response:
        error = {
            "message": self.message,
            "code": self.code,
            "description": self.description,
            "source": "config-api",
        }
        return Response.json(self.status, {"errors": [error]})


def _invalid(description: str) -> Rejected:
    return Rejected(400, 1001, "invalid request", description)


def _unauthenticated(code: int, message: str, description: str) -> Rejected:
    return Rejected(401, code, message, description)


@dataclass(frozen=True, slots=True)
class _Version:
    number: int
    body: Json
    created_by: str
    created_ms: int


@dataclass(slots=True)
class _Instance:
    uuid: str
    shortname: str
    published_at: float  # monotonic time at which the latest version is live
    versions: list[_Version] = field(default_factory=list)

    @property
    def latest(self) -> _Version:
        return self.versions[-1]


# --- payload validation and normalisation -------------------------------------------------


def _normalise_payload(payload: Any) -> tuple[str, Json]:
    """(shortname, normalised body) of a create/update payload, or a 400 saying what is wrong."""
    if not isinstance(payload, dict):
        raise _invalid("request body must be a JSON object with 'body' and 'accounts'")
    return _shortname(payload.get("accounts")), _normalise_body(payload.get("body"))


def _shortname(accounts: Any) -> str:
    if (
        not isinstance(accounts, list)
        or len(accounts) != 1
        or not isinstance(accounts[0], dict)
        or not isinstance(accounts[0].get("shortname"), str)
        or not accounts[0]["shortname"]
    ):
        raise _invalid("accounts must be a list of exactly one {'shortname': <string>}")
    return str(accounts[0]["shortname"])


def _normalise_body(body: Any) -> Json:
    if not isinstance(body, dict):
        raise _invalid("body must be a JSON object")
    out = copy.deepcopy(body)
    service_key = out.setdefault("serviceKey", {"name": "delivery"})
    if not isinstance(service_key, dict) or service_key.get("name") != "delivery":
        raise _invalid("body.serviceKey.name must be 'delivery'")
    out["serviceProfileName"] = _text(
        out.get("serviceProfileName", DEFAULT_PROFILE), "body.serviceProfileName"
    )
    out["publishedHostname"] = _published_hostname(out.get("publishedHostname"))
    out["sourceHostname"] = _text(out.get("sourceHostname"), "body.sourceHostname")
    for key in ("publishedUrlPath", "sourceUrlPath"):
        out[key] = _path(out.get(key), f"body.{key}")
    out["protocolSets"] = _protocol_sets(out.get("protocolSets"))
    return out


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{where} must be a non-empty string")
    return value


def _published_hostname(value: Any) -> str:
    host = _text(value, "body.publishedHostname")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise _invalid("body.publishedHostname must be a fully qualified name, not an IP address")
    if not HOSTNAME_PATTERN.match(host):
        raise _invalid(f"body.publishedHostname {host!r} is not a valid hostname")
    return host


def _path(value: Any, where: str) -> str:
    """The service prepends "/" when missing and turns an empty path into "/"."""
    if value is None or value == "":
        return "/"
    if not isinstance(value, str):
        raise _invalid(f"{where} must be a string")
    return value if value.startswith("/") else "/" + value


def _protocol_sets(value: Any) -> list[Json]:
    if not isinstance(value, list) or not 1 <= len(value) <= 2:
        raise _invalid("body.protocolSets must hold 1 or 2 protocol sets")
    sets = [_protocol_set(item, f"body.protocolSets[{i}]") for i, item in enumerate(value)]
    pairs = {(s["publishedProtocol"], s["sourceProtocol"]) for s in sets}
    if len(pairs) != len(sets):
        raise _invalid("body.protocolSets: two sets with the same published/source protocols")
    return sets


def _protocol_set(value: Any, where: str) -> Json:
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be a JSON object")
    out = copy.deepcopy(value)
    for key in ("publishedProtocol", "sourceProtocol"):
        if out.get(key) not in PROTOCOLS:
            raise _invalid(f"{where}.{key} must be 'http' or 'https'")
    for key in ("publishedPort", "sourcePort"):
        if key in out:
            _port(out[key], f"{where}.{key}")
    options = out.setdefault("options", [])
    if not isinstance(options, list):
        raise _invalid(f"{where}.options must be a list")
    for i, option in enumerate(options):
        _option(option, f"{where}.options[{i}]")
    return out


def _port(value: Any, where: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise _invalid(f"{where} must be an integer port (1-65535) or null")


def _option(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be a JSON object")
    _text(value.get("name"), f"{where}.name")
    parameters = value.get("parameters", [])
    if not isinstance(parameters, list) or not all(
        isinstance(p, str | int) and not isinstance(p, bool) for p in parameters
    ):
        raise _invalid(f"{where}.parameters must be a list of strings and integers")


def _empty_body(request: Request) -> None:
    """DELETE and rollbackTo carry no body: the Go SDK sends none, the Python SDK `null`."""
    if request.body.strip() not in (b"", b"null"):
        raise _invalid(f"{request.method} takes no body (empty or null)")


def _field_matches(value: Any, wanted: str) -> bool:
    return value == wanted if isinstance(value, str) else json.dumps(value) == wanted


# --- the emulator -------------------------------------------------------------------------


class EdgioEmulator(EmulatorServer):
    """The Config API's delivery instances, in memory, behind HMAC signing."""

    name = "edgio"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        principal: str = "edgio-ingress",
        shared_key_hex: str | None = None,
        shortnames: Iterable[str] = ("exampleco",),
        publish_delay: float = 0.0,
        timestamp_window: float = 300.0,
        max_page_size: int = MAX_PAGE_SIZE,
        list_total: bool = False,
        newest_first: bool = False,
        allowed_domains: Iterable[str] = (),
        seed: int = 0,
    ):
        super().__init__(host, port, seed=seed)
        self.max_page_size = max_page_size
        self.list_total = list_total
        self.newest_first = newest_first
        self.principal = principal
        self.shared_key_hex = shared_key_hex or secrets.token_hex(32)
        key_bytes(self.shared_key_hex)  # a bad key fails here, not at the first request
        self.shortnames = tuple(shortnames)
        self.publish_delay = publish_delay
        self.timestamp_window = timestamp_window
        # An account publishes only hostnames under its configured domains; () allows all.
        self.allowed_domains = tuple(d.lower().strip(".") for d in allowed_domains)
        self._uuids = random.Random(seed)
        self._instances: dict[str, _Instance] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EdgioEmulator(url={self.url!r}, principal={self.principal!r})"

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    def info(self) -> dict[str, str]:
        return {
            "edgio": self.api_url,
            "edgio_user": self.principal,
            "edgio_shared_key": self.shared_key_hex,
            "shortname": self.shortnames[0],
        }

    def env(self) -> dict[str, str]:
        return {
            "EDGIO_API_URL": self.api_url,
            "EDGIO_API_USER": self.principal,
            "EDGIO_API_SHARED_KEY": self.shared_key_hex,
            "EDGIO_INGRESS_SHORTNAME": self.shortnames[0],
        }

    def route_label(self, request: Request) -> str:
        return UUID_PATTERN.sub("{uuid}", request.path)

    # direct access for tests and the demo (no HTTP, no signing, no access checks)

    def instances(self, shortname: str | None = None) -> list[Json]:
        with self._lock:
            return [
                self._render(instance)
                for instance in self._instances.values()
                if shortname is None or instance.shortname == shortname
            ]

    def seed_instance(self, shortname: str, body: Json, *, raw: bool = False) -> str:
        """Store an instance as if made in the portal (already published); returns its uuid.

        With `raw`, the body is stored exactly as given, unchecked: an odd instance the
        API would refuse to write but may still list (no protocol sets, a port as a
        string, a null option or parameter, ...)."""
        stored = copy.deepcopy(body) if raw else _normalise_body(body)
        with self._lock:
            return self._store(shortname, stored, PORTAL_USER, published_at=0.0).uuid

    def edit_instance(self, uuid: str, **body_fields: Any) -> None:
        """An out-of-band portal edit: a new version with some body fields replaced."""
        with self._lock:
            instance = self._find(uuid)
            body = _normalise_body({**instance.latest.body, **body_fields})
            self._add_version(instance, body, PORTAL_USER)

    def remove_instance(self, uuid: str) -> None:
        with self._lock:
            del self._instances[self._find(uuid).uuid]

    # HTTP

    def handle(self, request: Request) -> Response:
        try:
            self._authenticate(request)
            if not request.path.startswith(API_PREFIX + "/"):
                raise Rejected(404, 1004, "not found", f"no endpoint at {request.path}")
            parts = [unquote(part) for part in request.path[len(API_PREFIX) + 1 :].split("/")]
            with self._lock:
                return self._route(request, parts)
        except Rejected as rejected:
            return rejected.response()

    def _route(self, request: Request, parts: list[str]) -> Response:
        match (request.method, parts):
            case ("GET", ["health", "check"]):
                return Response.json(200, {"status": "UP"})
            case ("GET", ["utils", "status"]):
                return Response.json(200, self._status())
            case ("GET", ["svcinst", "delivery", "shortname", shortname]):
                return self._list(request, shortname, search=False)
            case ("GET", ["svcinst", "delivery", "shortname", shortname, "searchAuto"]):
                return self._list(request, shortname, search=True)
            case ("POST", ["svcinst", "delivery", "validate"]):
                return self._validate(request)
            case ("POST", ["svcinst", "delivery"]):
                return self._create(request.json())
            case ("POST", ["svcinst", "delivery", "inheritance"]):
                return self._inherit(request)
            case ("GET", ["svcinst", "delivery", uuid]):
                return self._ok(self._instance(uuid))
            case ("PUT", ["svcinst", "delivery", uuid]):
                return self._update(uuid, request.json())
            case ("DELETE", ["svcinst", "delivery", uuid]):
                return self._delete(request, uuid)
            case ("GET", ["svcinst", "delivery", uuid, "versions"]):
                instance = self._instance(uuid)
                versions = [self._render(instance, v) for v in instance.versions]
                return Response.json(200, {"results": versions})
            case ("GET", ["svcinst", "delivery", uuid, "versions", number]):
                instance = self._instance(uuid)
                return Response.json(200, self._render(instance, self._version(instance, number)))
            case ("POST", ["svcinst", "delivery", uuid, "rollbackTo", number]):
                return self._rollback(request, uuid, number)
        raise Rejected(404, 1004, "not found", f"no endpoint {request.method} {request.path}")

    def _authenticate(self, request: Request) -> None:
        principal = request.headers.get(PRINCIPAL_HEADER)
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        token = request.headers.get(TOKEN_HEADER)
        if not (principal and timestamp and token):
            raise _unauthenticated(
                1024, "user authentication failed", "missing X-LLNW-Security-* headers"
            )
        if not hmac.compare_digest(principal.encode(), self.principal.encode()):
            raise _unauthenticated(1024, "user authentication failed", "unknown principal")
        if not timestamp.isdigit() or (
            abs(time.time() - int(timestamp) / 1000) > self.timestamp_window
        ):
            raise _unauthenticated(
                1010,
                "invalid timestamp",
                f"timestamp must be epoch milliseconds within {self.timestamp_window:g} s of now",
            )
        url = f"http://{request.host}{request.target}"
        expected = expected_token(self.shared_key_hex, request.method, url, timestamp, request.body)
        if not hmac.compare_digest(expected.encode(), token.lower().encode()):
            raise _unauthenticated(1026, "invalid token", "the request signature does not match")

    def _require_access(self, shortname: str) -> None:
        if shortname not in self.shortnames:
            raise Rejected(
                403, 1025, "user authorization failed", f"no access to shortname {shortname!r}"
            )

    def _find(self, uuid: str) -> _Instance:
        instance = self._instances.get(uuid.lower())
        if instance is None:
            raise Rejected(404, 1004, "not found", f"no delivery instance {uuid}")
        return instance

    def _instance(self, uuid: str) -> _Instance:
        """An instance the caller may see: 404 if unknown, 403 if in another account."""
        instance = self._find(uuid)
        self._require_access(instance.shortname)
        return instance

    def _version(self, instance: _Instance, number: str) -> _Version:
        for version in instance.versions:
            if str(version.number) == number:
                return version
        raise Rejected(404, 1004, "not found", f"instance {instance.uuid} has no version {number}")

    def _list(self, request: Request, shortname: str, *, search: bool) -> Response:
        self._require_access(shortname)
        size = min(self._int_param(request, "size", 100, MAX_PAGE_SIZE), self.max_page_size)
        page = self._int_param(request, "page", 1, None)
        filters = self._filters(request) if search else {}
        found = [
            self._render(instance)
            for instance in self._instances.values()
            if instance.shortname == shortname
            and all(_field_matches(instance.latest.body.get(k), v) for k, v in filters.items())
        ]
        if self.newest_first:
            found.reverse()
        start = (page - 1) * size
        answer: Json = {"results": found[start : start + size]}
        if self.list_total:
            answer["total"] = len(found)
        return Response.json(200, answer)

    @staticmethod
    def _int_param(request: Request, name: str, default: int, maximum: int | None) -> int:
        raw = request.param(name)
        if raw is None:
            return default
        if not raw.isdigit() or int(raw) < 1 or (maximum is not None and int(raw) > maximum):
            limit = f" and at most {maximum}" if maximum else ""
            raise _invalid(f"query parameter {name} must be an integer of at least 1{limit}")
        return int(raw)

    @staticmethod
    def _filters(request: Request) -> dict[str, str]:
        filters: dict[str, str] = {}
        for name, values in request.params.items():
            if name in ("size", "page"):
                continue
            if not name.startswith("body.") or len(name) == len("body."):
                raise _invalid(f"unknown search field {name!r}; use body.<field>=<value>")
            filters[name.removeprefix("body.")] = values[-1]
        return filters

    def _validate(self, request: Request) -> Response:
        try:
            shortname, body = _normalise_payload(request.json())
            self._require_access(shortname)
            self._check_unique(shortname, body, None)
        except Rejected as rejected:
            if rejected.status == 403:
                raise
            return Response.json(200, {"Success": False, **json.loads(rejected.response().body)})
        return Response.json(200, {"Success": True, "errors": []})

    def _create(self, payload: Any) -> Response:
        shortname, body = _normalise_payload(payload)
        self._require_access(shortname)
        self._check_domain(shortname, body)
        published_at = time.monotonic() + self.publish_delay
        return self._ok(self._store(shortname, body, self.principal, published_at))

    def _inherit(self, request: Request) -> Response:
        """Create from a parent: the payload's body fields override the parent's."""
        parent_id = request.param("parentId")
        if not parent_id:
            raise _invalid("query parameter parentId is required")
        parent = self._instance(parent_id)
        payload = request.json()
        if not isinstance(payload, dict) or not isinstance(payload.get("body", {}), dict):
            raise _invalid("request body must be a JSON object with 'body'")
        accounts = payload.get("accounts") or [{"shortname": parent.shortname}]
        body = {**parent.latest.body, **payload.get("body", {})}
        return self._create({"accounts": accounts, "body": body})

    def _update(self, uuid: str, payload: Any) -> Response:
        instance = self._instance(uuid)
        if isinstance(payload, dict) and payload.get("uuid", instance.uuid) != instance.uuid:
            raise _invalid("uuid in the body does not match the uuid in the path")
        shortname, body = _normalise_payload(payload)
        if shortname != instance.shortname:
            raise _invalid("an instance cannot move to another account")
        self._check_domain(shortname, body)
        self._add_version(instance, body, self.principal)
        return self._ok(instance)

    def _delete(self, request: Request, uuid: str) -> Response:
        _empty_body(request)
        instance = self._instance(uuid)
        del self._instances[instance.uuid]
        return self._ok(instance)

    def _rollback(self, request: Request, uuid: str, number: str) -> Response:
        """The old content becomes current under a new version number."""
        _empty_body(request)
        instance = self._instance(uuid)
        self._add_version(instance, self._version(instance, number).body, self.principal)
        return self._ok(instance)

    def _check_domain(self, shortname: str, body: Json) -> None:
        host = body["publishedHostname"].lower()
        if self.allowed_domains and not any(
            host == d or host.endswith("." + d) for d in self.allowed_domains
        ):
            raise _invalid(
                f"body.publishedHostname {host!r} is not in a domain configured for {shortname}"
            )

    # state changes (callers hold the lock)

    def _check_unique(self, shortname: str, body: Json, uuid: str | None) -> None:
        key = _natural_key(body)
        for other in self._instances.values():
            other_key = _natural_key(other.latest.body)
            if other.uuid != uuid and other.shortname == shortname and other_key == key:
                raise Rejected(
                    409,
                    1009,
                    "conflict",
                    f"instance {other.uuid} already publishes {key[0]}{key[1]} for {shortname}",
                )

    def _store(self, shortname: str, body: Json, author: str, published_at: float) -> _Instance:
        self._check_unique(shortname, body, None)
        uuid = str(uuidlib.UUID(int=self._uuids.getrandbits(128), version=4))
        instance = _Instance(uuid=uuid, shortname=shortname, published_at=published_at)
        instance.versions.append(_Version(1, body, author, _now_ms()))
        self._instances[uuid] = instance
        return instance

    def _add_version(self, instance: _Instance, body: Json, author: str) -> None:
        self._check_unique(instance.shortname, body, instance.uuid)
        number = instance.latest.number + 1
        instance.versions.append(_Version(number, copy.deepcopy(body), author, _now_ms()))
        instance.published_at = time.monotonic() + self.publish_delay

    # rendering

    def _ok(self, instance: _Instance) -> Response:
        return Response.json(200, self._render(instance))

    def _render(self, instance: _Instance, version: _Version | None = None) -> Json:
        version = version or instance.latest
        latest = version is instance.latest
        live = not latest or time.monotonic() >= instance.published_at
        return {
            "uuid": instance.uuid,
            "isLatest": latest,
            "isEnabled": True,
            "revision": {
                "createdBy": version.created_by,
                "createdDate": version.created_ms,
                "versionNumber": version.number,
            },
            "meta": dict(META),
            "status": {"state": COMPLETED if live else PENDING},
            "accounts": [{"shortname": instance.shortname}],
            "shortname": instance.shortname,
            "body": copy.deepcopy(version.body),
        }

    @staticmethod
    def _status() -> dict[str, Any]:
        """Shaped like the SDK README's example, stringly-typed values included."""
        return {
            "version": "5.9-emulator",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "branch": "emulator",
            "commitId": "emulator",
            "mysqlConnection": {"connectionTime": "0"},
            "cfgMgmtConnection": {"available": "true"},
            "remoteComponentsConnection": {"available": "true"},
            "serviceDbConnection": {"available": "true"},
        }


def _natural_key(body: Json) -> tuple[str, str]:
    """(published host, published path); raw-seeded bodies may lack either."""
    return (str(body.get("publishedHostname", "")).lower(), str(body.get("publishedUrlPath", "")))


def _now_ms() -> int:
    return int(time.time() * 1000)
