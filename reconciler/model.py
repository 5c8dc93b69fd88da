"""Plain values the whole controller speaks: routes, DNS records, CDN rules and plans.

Everything here is frozen and compares by value, so desired and actual state can be
diffed as sets. Provider identifiers (record ids, rule uuids) and server-side state are
excluded from comparison: two records are "the same" when they would serve the same
answer, whoever created them and whatever id the provider gave them.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Literal, get_args
from urllib.parse import quote

PathType = Literal["Exact", "Prefix", "ImplementationSpecific"]
PATH_TYPES: tuple[PathType, ...] = get_args(PathType)
# Not `Protocol`: that name is typing's, and the provider seams use it.
WebProtocol = Literal["http", "https"]
WEB_PROTOCOLS: tuple[WebProtocol, ...] = get_args(WebProtocol)
# Edgio's `status.state` of a rule whose current version the edge serves.
PUBLISHED_STATE = "COMPLETED"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def dns_name(text: str) -> str:
    """A DNS name in the one form the controller compares names in.

    Names are case-insensitive (RFC 4343: ASCII letters only), and a trailing root dot
    names the same host (RFC 1034 section 3.1): a foreign record stored as `Origin`
    occupies `origin`, and a rule whose source is `origin.example.com.` uses
    `origin.example.com`. It lives here, at the root of the core, because the model's
    own equality and keys compare by it; :mod:`reconciler.registry.ownership` and every other
    layer call this one function rather than lower-casing by hand.
    """
    name = text.rstrip(".")
    return name.lower() if name.isascii() else name.translate(_ASCII_LOWER)


# RFC 3986: what a path may hold as it is (unreserved, sub-delims, ':', '@', '/').
_PATH_SAFE = "-._~!$&'()*+,;=:@/"
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")
_ESCAPE = re.compile(r"(%[0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def url_path(path: str) -> str:
    """A URL path in the one form paths are compared and published in (RFC 3986
    section 6.2.2): escapes of unreserved characters decoded (`%7E` is `~`), other
    escapes in upper case (`%c3` is `%C3`), and what may not stand in a path as it is
    (`é`, a stray `%`) percent-encoded as UTF-8. `/café` and `/caf%C3%A9` are then one
    path, and it is spelled as a client sends it on the wire, which is what Edgio
    compares a request with."""
    if _PLAIN_PATH.fullmatch(path):
        return path  # the usual path: nothing to decode or encode
    parts = _ESCAPE.split(path)  # text, escape, text, escape, ..., text
    for index, part in enumerate(parts):
        if index % 2:
            char = chr(int(part[1:], 16))
            parts[index] = char if char in _UNRESERVED else part.upper()
        else:
            parts[index] = quote(part, safe=_PATH_SAFE)
    return "".join(parts)


class DeletionPolicy(enum.StrEnum):
    """What happens to DNS and CDN objects when their EdgioRoute goes away."""

    DELETE = "Delete"
    ORPHAN = "Orphan"


class Policy(enum.StrEnum):
    """How much the controller may change, in the external-dns sense."""

    SYNC = "sync"
    UPSERT_ONLY = "upsert-only"
    CREATE_ONLY = "create-only"


@dataclass(frozen=True, slots=True)
class OwnerMarker:
    """Who owns an external object, carried by the external system itself.

    `owner` names the controller instance (one per cluster); `resource` names what the
    object was made for (``origin`` for the shared A record set, ``edgioroute/ns/name``
    for a CDN rule). Parsing and rendering live in :mod:`reconciler.registry.ownership`.
    """

    owner: str
    resource: str


@dataclass(frozen=True, slots=True)
class BackendRef:
    """The Service port an Ingress path sends traffic to (by name or by number)."""

    service: str
    port: str | int


@dataclass(frozen=True, slots=True)
class RouteRule:
    """One published host + path of a route, before it is resolved against the cluster."""

    host: str
    path: str
    path_type: PathType
    backend: BackendRef
    # Edgio serves a rule on at most two protocol sets: http, https or both.
    published_protocols: tuple[WebProtocol, ...] = ("http",)


@dataclass(frozen=True, slots=True)
class CdnOption:
    """One Edgio delivery option: a name and its positional parameters."""

    name: str
    parameters: tuple[str | int, ...] = ()


@dataclass(frozen=True, slots=True)
class ProtocolSet:
    """One protocol set of a listed rule as it is, our marker split out of its options.

    A rule this controller writes has one set per published protocol, all alike but for
    `published_protocol`; a portal edit can change one of them only (a port, an option,
    a `publishedPort`), which :attr:`CdnRule.protocol_sets` keeps."""

    published_protocol: WebProtocol
    source_protocol: WebProtocol
    source_port: int | None
    options: tuple[CdnOption, ...] = ()
    published_port: int | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """An EdgioRoute's spec, typed. Optional fields fall back to controller defaults."""

    namespace: str
    name: str
    rules: tuple[RouteRule, ...]
    shortname: str | None = None
    origin_hostname: str | None = None
    origin_protocol: WebProtocol | None = None
    origin_path: str = "/"
    options: tuple[CdnOption, ...] = ()
    deletion_policy: DeletionPolicy = DeletionPolicy.DELETE
    created: str = ""  # RFC 3339 creationTimestamp; the older route wins a conflict
    # Being deleted (deletionTimestamp set, our finalizer still on it): it publishes
    # nothing; with deletion policy Orphan its rules are released rather than deleted.
    deleting: bool = False
    # Take over a rule Edgio already has for one of this route's hosts and paths, when
    # that rule carries no ownership marker (see the cdn.edgio.io/adopt annotation).
    adopt: bool = False
    # The Edgio name its custom hosts are CNAMEd to, when annotated (cdn.edgio.io/edge-hostname).
    edge_hostname: str | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class DnsRecord:
    """One record in a zone. Round robin is several A records sharing name and type."""

    zone: str = field(compare=False)  # as listed or configured; compared as `at`
    name: str = field(compare=False)  # relative to the zone; "" is the apex
    type: str  # "A" | "TXT" (others are listed but never written)
    data: str  # an address, or the TXT value without its surrounding quotes
    ttl: int
    id: str | None = field(default=None, compare=False)
    # (zone, name) as DNS compares them (:func:`dns_name`): `Origin` in `Example.com.`
    # is `origin` in `example.com`. Records compare, and are indexed, by this.
    at: tuple[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", (dns_name(self.zone), dns_name(self.name)))

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.zone}" if self.name else self.zone


@dataclass(frozen=True, slots=True)
class CdnRule:
    """One Edgio delivery rule (a "service instance"): published host + path -> origin.

    `owner` is our marker when the rule carries one; the provider adapter stores it in
    the rule's options on the wire, so `options` here never contains it.

    `published_protocols` are the rule's protocol sets (Edgio allows two), in
    :data:`WEB_PROTOCOLS` order; `source_protocol`, `source_port` and `options` are the
    content of each, unless `protocol_sets` says the sets differ. `state` and `version`
    are what Edgio reports: an update is accepted as ``PENDING`` and the edge keeps
    serving the previous version until it is ``COMPLETED``.
    """

    shortname: str
    published_host: str = field(compare=False)  # compared in normal form, in `hosts`
    published_path: str
    source_host: str = field(compare=False)  # compared in normal form, in `hosts`
    source_port: int | None
    source_path: str = "/"
    published_protocols: tuple[WebProtocol, ...] = ("http",)
    source_protocol: WebProtocol = "http"
    options: tuple[CdnOption, ...] = ()
    owner: OwnerMarker | None = None
    # Every protocol set as listed, when they are not all alike (see ProtocolSet);
    # empty when the fields above describe every set, as in every rule we build. It is
    # compared: such a rule differs from what its route wants, and is written back whole.
    protocol_sets: tuple[ProtocolSet, ...] = ()
    id: str | None = field(default=None, compare=False)
    state: str | None = field(default=None, compare=False)
    version: int | None = field(default=None, compare=False)
    # The published and source hosts as DNS compares them (:func:`dns_name`).
    hosts: tuple[str, str] = field(init=False, repr=False)
    # The natural key: Edgio rejects a second rule with the same host (compared as DNS
    # names are) and path (compared as URL paths are, :func:`url_path`). Computed once,
    # not per use: a pass looks it up several times for each of tens of thousands of rules.
    key: tuple[str, str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        hosts = (dns_name(self.published_host), dns_name(self.source_host))
        object.__setattr__(self, "hosts", hosts)
        key = (self.shortname, hosts[0], url_path(self.published_path))
        object.__setattr__(self, "key", key)

    @property
    def published_protocol(self) -> WebProtocol:
        """The first protocol set's (kept for readers written before there were two)."""
        return self.published_protocols[0]

    @property
    def sets(self) -> tuple[ProtocolSet, ...]:
        """Every protocol set of the rule: as listed when they differ, else one per
        published protocol, each with the rule's content."""
        return self.protocol_sets or tuple(
            ProtocolSet(p, self.source_protocol, self.source_port, self.options)
            for p in self.published_protocols
        )

    @property
    def published(self) -> bool:
        """Whether the edge serves this very version. A provider that reports no state
        (None) publishes synchronously; any state other than COMPLETED is not live yet."""
        return self.state in (None, PUBLISHED_STATE)


@dataclass(frozen=True, slots=True)
class Holds:
    """What a plan must leave exactly as it is, because what decides it is broken.

    Bad input must never delete what is published: a Service recreated, a typo in an
    annotation or every node NotReady for a minute would otherwise take sites off the air.
    """

    names: frozenset[tuple[str, str]] = frozenset()  # (zone, name): no eligible node
    rules: frozenset[tuple[str, str, str]] = frozenset()  # rule keys whose backend is broken
    routes: frozenset[str] = frozenset()  # owner resources of routes that are invalid
    # Owner resources of routes deleted with deletion policy Orphan: their rules are
    # released (rewritten without our marker) and stay published, as someone else's.
    released: frozenset[str] = frozenset()


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    # Rewrite an object without our marker and leave it in place: it becomes foreign.
    # `current` is the listed object, `desired` the same object with `owner=None`.
    RELEASE = "release"


@dataclass(frozen=True, slots=True)
class Change:
    """One write to one provider. For updates and deletes `current` is the listed object
    (it carries the provider id); for creates and updates `desired` is what to write."""

    action: Action
    desired: DnsRecord | CdnRule | None = None
    current: DnsRecord | CdnRule | None = None

    @property
    def subject(self) -> DnsRecord | CdnRule:
        subject = self.desired if self.desired is not None else self.current
        assert subject is not None, "a change has a desired or a current object"
        return subject


class Skip(enum.Enum):
    """What kind of reason left something unchanged, for the code that reports on it to
    ask by type rather than by matching the reason's words."""

    FOREIGN = "foreign"  # not ours: another owner's record or rule holds the name or path
    FORBIDDEN = "forbidden"  # the --policy does not allow the change
    WAITING = "waiting"  # anything else: held, in use, not ready, unknown, refused


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something the plan deliberately did not change, and why (shown to users)."""

    subject: DnsRecord | CdnRule
    reason: str  # CamelCase, e.g. "ForeignRecord", "PolicyForbidsDelete"
    message: str
    kind: Skip = Skip.WAITING


@dataclass(frozen=True, slots=True)
class Plan:
    """An ordered list of changes plus what was held back. Empty changes = converged."""

    changes: tuple[Change, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.changes
