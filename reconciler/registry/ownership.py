"""Ownership markers, in the external-dns TXT-registry style.

The controller proves ownership from the external system itself, so that it survives
the loss of all cluster state: a TXT record next to each managed DNS name, and a
request header option on each Edgio rule. Both carry the same text::

    heritage=edgio-ingress,edgio-ingress/owner=<owner-id>,edgio-ingress/resource=<what>

Anything that does not parse strictly, or names another heritage, is foreign: a key
given twice (`heritage=external-dns,heritage=edgio-ingress` must not read as ours), a
part without `=`, a missing owner. A TXT record counts as a claim only at a name with
the ownership prefix (see :func:`claimed_name`).

Names are compared in one form only, :func:`reconciler.model.dns_name` (case folded,
root dot dropped): a name is claimed, occupied or in use whatever its spelling.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model import CdnOption, DnsRecord, OwnerMarker, dns_name

HERITAGE = "edgio-ingress"
OWNER_HEADER = "X-Edgio-Ingress-Owner"
MARKER_OPTION = "req_send_header"
TXT_PREFIX = "a-"
# The marker resource of the TXT beside an origin name: the A record set is shared by
# every route that uses that origin, so it belongs to no single route.
ORIGIN_RESOURCE = "origin"


def render(marker: OwnerMarker) -> str:
    return (
        f"heritage={HERITAGE},{HERITAGE}/owner={marker.owner},{HERITAGE}/resource={marker.resource}"
    )


def parse(text: str) -> OwnerMarker | None:
    """Read a marker; None for anything that is not ours in form (foreign)."""
    labels: dict[str, str] = {}
    for part in text.strip().strip('"').split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key or key in labels:
            return None
        labels[key] = value.strip()
    if labels.get("heritage") != HERITAGE:
        return None
    owner = labels.get(f"{HERITAGE}/owner", "")
    if not owner:
        return None
    return OwnerMarker(owner=owner, resource=labels.get(f"{HERITAGE}/resource", ""))


ROUTE_RESOURCE_PREFIX = "edgioroute/"


def route_resource(route_key: str) -> str:
    """The marker resource of the rules of the route `namespace/name`."""
    return ROUTE_RESOURCE_PREFIX + route_key


def route_of(resource: str) -> str:
    """The inverse of :func:`route_resource`: `namespace/name` (else the text as it is)."""
    return resource.removeprefix(ROUTE_RESOURCE_PREFIX)


@dataclass(frozen=True, slots=True)
class Scope:
    """The namespaces an install watches (`--namespace`); none named: all of them.

    An install judges only what it can see. A rule whose marker names a route in a
    namespace it does not watch is not its to update or delete, even under its own
    owner id: another install with the same owner id may watch that namespace, and to
    this one the route would merely look deleted. The shared origin records belong to
    no route; between installs the owner id decides (see :func:`owns`).
    """

    namespaces: frozenset[str] = frozenset()

    def covers(self, resource: str) -> bool:
        """Whether the route or object a marker's `resource` names is one we watch."""
        if not self.namespaces or resource == ORIGIN_RESOURCE:
            return True
        if not resource.startswith(ROUTE_RESOURCE_PREFIX):
            return False  # a resource of a kind we do not know the namespace of
        namespace, _, _ = route_of(resource).partition("/")
        return namespace in self.namespaces


EVERYWHERE = Scope()


def owns(marker: OwnerMarker | None, owner: str, scope: Scope = EVERYWHERE) -> bool:
    """Whether an object carrying `marker` is ours to update or delete: our owner id,
    and a resource inside what this install watches."""
    return marker is not None and marker.owner == owner and scope.covers(marker.resource)


def txt_name(name: str) -> str:
    """The name of the TXT record that marks A records of `name` (relative to the zone).

    The type prefix goes on the first label, as external-dns's new format does, so the
    marker never shares a name with a CNAME someone else may own.
    """
    return TXT_PREFIX + name


def marked_name(txt_record_name: str) -> str | None:
    """The inverse of :func:`txt_name`: the name a TXT record would mark (in normal
    form: `A-Origin` marks `origin`), or None."""
    name = dns_name(txt_record_name)
    if not name.startswith(TXT_PREFIX):
        return None
    return name[len(TXT_PREFIX) :]


def origin_of(record: DnsRecord) -> str:
    """The fully qualified origin name a record serves, in normal form: an A record
    its own name, a TXT marker the name it marks."""
    zone, name = record.at
    if record.type == "TXT":
        name = marked_name(name) or name
    return f"{name}.{zone}" if name else zone


def claimed_name(record_name: str, record_type: str, data: str, owner: str) -> str | None:
    """The name a DNS record claims for `owner`: a TXT at `a-<name>` carrying our marker
    with that owner id. Our marker text anywhere else claims nothing."""
    name = marked_name(record_name) if record_type == "TXT" else None
    marker = parse(data) if name is not None else None
    return name if marker is not None and marker.owner == owner else None


def marker_option(marker: OwnerMarker) -> CdnOption:
    return CdnOption(MARKER_OPTION, (OWNER_HEADER, render(marker)))


def split_marker(
    options: tuple[CdnOption, ...],
) -> tuple[OwnerMarker | None, tuple[CdnOption, ...]]:
    """Separate our marker option from the user's options of a listed rule."""
    marker: OwnerMarker | None = None
    rest: list[CdnOption] = []
    for option in options:
        if (
            marker is None
            and option.name == MARKER_OPTION
            and len(option.parameters) == 2
            and str(option.parameters[0]).lower() == OWNER_HEADER.lower()
        ):
            marker = parse(str(option.parameters[1]))
            if marker is not None:
                continue
        rest.append(option)
    return marker, tuple(rest)
