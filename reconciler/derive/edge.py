"""The Edgio name a published custom host is CNAMEd to: its account's edge name.

This is what an Ingress shows in `status.loadBalancer.ingress[].hostname`, and
external-dns's Ingress source turns that field into `<rule host> CNAME <hostname>`. So
it must be the name Edgio answers for the account (by default `<shortname>.s.llnwi.net`,
or the name configured per account with `--edge-hostname`, or per route with the
`cdn.edgio.io/edge-hostname` annotation), and never one of the route's own custom
hosts: `www.shop.com CNAME www.shop.com` takes the site off DNS. A published host that
is itself a provider-assigned name (`exampleco.s.llnwi.net`) is already the name Edgio
answers, and shows as itself.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping

from reconciler.model import dns_name

# Edgio's own names: `<shortname>.s.llnwi.net` and `<account>.vo.llnwd.net`.
PROVIDER_DOMAINS = (".s.llnwi.net", ".vo.llnwd.net")
_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_NAME = re.compile(rf"^(?=.{{1,253}}$)({_LABEL}\.)+[a-z]([-a-z0-9]{{0,61}}[a-z0-9])?$")


def provider_assigned(host: str) -> bool:
    """Whether `host` is a name Edgio assigned (and answers for) itself."""
    host = dns_name(host)
    return any(host.endswith(domain) and len(host) > len(domain) for domain in PROVIDER_DOMAINS)


def default_edge_hostname(shortname: str) -> str:
    return f"{shortname}.s.llnwi.net"


def edge_hostname_problem(name: str, hosts: Collection[str] = ()) -> str | None:
    """Why `name` cannot be an edge name (of a route publishing `hosts`), or None."""
    if not _NAME.match(name):
        return "must be a fully qualified DNS name (the Edgio name the hosts are CNAMEd to)"
    if dns_name(name) in {dns_name(host) for host in hosts} and not provider_assigned(name):
        return (
            "is one of the route's own hosts: external-dns would write a CNAME of that "
            "host to itself"
        )
    return None


def edge_hostname(shortname: str, chosen: str | None, hosts: Collection[str]) -> str:
    """The account's edge name for a route: the chosen one (annotation, else flag) unless
    it is one of the route's own custom hosts, else `<shortname>.s.llnwi.net`."""
    if chosen and edge_hostname_problem(chosen, hosts) is None:
        return chosen
    return default_edge_hostname(shortname)


def shown_hostnames(published: Iterable[tuple[str, str]], names: Mapping[str, str]) -> list[str]:
    """The hostnames an Ingress shows for its published `(host, shortname)` pairs: the
    account's edge name (`names`, by shortname) for a custom host, a provider-assigned
    host itself."""
    return sorted(
        {
            host
            if provider_assigned(host)
            else names.get(shortname, "") or default_edge_hostname(shortname)
            for host, shortname in published
        }
    )
