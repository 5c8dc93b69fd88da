"""Plain values the whole controller speaks: routes, DNS records, CDN rules and plans.

Everything here is frozen and compares by value, so desired and actual state can be
diffed as sets. Provider identifiers (record ids, rule uuids) and server-side state are
excluded from comparison: two records are "the same" when they would serve the same
answer, whoever created them and whatever id the provider gave them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal, get_args

PathType = Literal["Exact", "Prefix", "ImplementationSpecific"]
PATH_TYPES: tuple[PathType, ...] = get_args(PathType)
# Not `Protocol`: that name is typing's, and the provider seams use it.
WebProtocol = Literal["http", "https"]
WEB_PROTOCOLS: tuple[WebProtocol, ...] = get_args(WebProtocol)
# Edgio's `status.state` of a rule whose current version the edge serves.
PUBLISHED_STATE = "COMPLETED"


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
    for a CDN rule). Parsing and rendering live in :mod:`reconciler.ownership`.
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

    zone: str
    name: str  # relative to the zone; "" is the apex
    type: str  # "A" | "TXT" (others are listed but never written)
    data: str  # an address, or the TXT value without its surrounding quotes
    ttl: int
    id: str | None = field(default=None, compare=False)

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.zone}" if self.name else self.zone


@dataclass(frozen=True, slots=True)
class CdnRule:
    """One Edgio delivery rule (a "service instance"): published host + path -> origin.

    `owner` is our marker when the rule carries one; the provider adapter stores it in
    the rule's options on the wire, so `options` here never contains it.

    `published_protocols` are the rule's protocol sets (Edgio allows two), in
    :data:`WEB_PROTOCOLS` order. `state` and `version` are what Edgio reports: an update
    is accepted as ``PENDING`` and the edge keeps serving the previous version until it is
    ``COMPLETED``.
    """

    shortname: str
    published_host: str
    published_path: str
    source_host: str
    source_port: int | None
    source_path: str = "/"
    published_protocols: tuple[WebProtocol, ...] = ("http",)
    source_protocol: WebProtocol = "http"
    options: tuple[CdnOption, ...] = ()
    owner: OwnerMarker | None = None
    id: str | None = field(default=None, compare=False)
    state: str | None = field(default=None, compare=False)
    version: int | None = field(default=None, compare=False)
    # The natural key: Edgio rejects a second rule with the same host (compared
    # case-insensitively, as DNS names are) and path. Computed once, not per use: a
    # pass looks it up several times for each of tens of thousands of rules.
    key: tuple[str, str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = (self.shortname, self.published_host.lower(), self.published_path)
        object.__setattr__(self, "key", key)

    @property
    def published_protocol(self) -> WebProtocol:
        """The first protocol set's (kept for readers written before there were two)."""
        return self.published_protocols[0]

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


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something the plan deliberately did not change, and why (shown to users)."""

    subject: DnsRecord | CdnRule
    reason: str  # CamelCase, e.g. "ForeignRecord", "PolicyForbidsDelete"
    message: str


@dataclass(frozen=True, slots=True)
class Plan:
    """An ordered list of changes plus what was held back. Empty changes = converged."""

    changes: tuple[Change, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.changes
