"""The controller's settings: flags, the environment and the credentials Secret, in one place.

Flags win; then the Secret named by `--credentials-secret` (its keys are the
environment names); then the environment, under exactly the names
`edgio-sandbox up --env-file` writes. A missing or malformed setting is a `ConfigError`
whose message is one line naming it; the command prints it and exits 2.
"""

from __future__ import annotations

import argparse
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from reconciler.derive import fields
from reconciler.derive.edge import edge_hostname_problem
from reconciler.model import Policy, dns_name

ENV_NAMES = (
    "KUBECONFIG",
    "VULTR_API_URL",
    "VULTR_API_KEY",
    "EDGIO_API_URL",
    "EDGIO_API_USER",
    "EDGIO_API_SHARED_KEY",
    "EDGIO_INGRESS_DNS_ZONE",
    "EDGIO_INGRESS_SHORTNAME",
    "EDGIO_INGRESS_EDGE_HOSTNAME",
)
VULTR_DEFAULT_URL = "https://api.vultr.com/v2"
EDGIO_DEFAULT_URL = "https://apis.llnw.com/config-api/v1"
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "": 1.0}
_NAME = re.compile(r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
# The chart's values.schema.json holds the same rule for `controller.ownerId`. The owner
# id is written inside the ownership marker `heritage=...,edgio-ingress/owner=<id>,...`
# and read back by splitting on ',' and '=' and stripping blanks: any of those (or a
# quote, or '/') in it would make every marker we write unreadable as ours.
OWNER_ID_PATTERN = r"^[A-Za-z0-9._-]*$"
OWNER_ID_MAX = 63


class ConfigError(Exception):
    """One setting that is missing or malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class Credentials:
    vultr_url: str
    vultr_key: str
    edgio_url: str
    edgio_user: str
    edgio_key: str

    def __repr__(self) -> str:
        return f"Credentials(vultr_url={self.vultr_url!r}, edgio_url={self.edgio_url!r})"


@dataclass(frozen=True, slots=True)
class Config:
    credentials: Credentials
    zones: tuple[str, ...]
    shortnames: tuple[str, ...]
    origin_hostname: str
    policy: Policy
    interval: float
    resync: float
    ttl: int
    node_address_type: str
    namespaces: tuple[str, ...]
    edge_hostnames: tuple[tuple[str, str], ...] = ()  # (shortname, edge name), by shortname


def duration(text: str) -> float:
    """`90`, `90s`, `500ms`, `10m`, `1h` -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|)\s*", text)
    if not match:
        raise ValueError(f"{text!r} is not a duration (e.g. 60s, 10m)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def address(text: str) -> tuple[str, int] | None:
    """`:8080`, `127.0.0.1:8080` -> (host, port); `0` turns the server off."""
    if text.strip() in ("0", ""):
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not host:port, :port or 0")
    return host or "0.0.0.0", int(port)


def _setting(name: str, flag: object, secret: Mapping[str, str], env: Mapping[str, str]) -> str:
    if flag:
        return str(flag)
    return (secret.get(name) or env.get(name) or "").strip()


def _required(name: str, value: str, where: str = "environment or --credentials-secret") -> str:
    if not value:
        raise ConfigError(f"{name} is not set ({where})")
    return value


def _url(name: str, value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name}: {value!r} is not an http(s) URL")
    return value


def credentials(env: Mapping[str, str], secret: Mapping[str, str]) -> Credentials:
    def get(name: str) -> str:
        return _setting(name, None, secret, env)

    vultr_key = _required("VULTR_API_KEY", get("VULTR_API_KEY"))
    if not vultr_key.isascii() or not vultr_key.isprintable() or " " in vultr_key:
        raise ConfigError("VULTR_API_KEY: holds spaces or control characters")
    edgio_key = _required("EDGIO_API_SHARED_KEY", get("EDGIO_API_SHARED_KEY"))
    if len(edgio_key) % 2 or any(c not in string.hexdigits for c in edgio_key):
        raise ConfigError("EDGIO_API_SHARED_KEY: not a hexadecimal key")
    return Credentials(
        vultr_url=_url("VULTR_API_URL", get("VULTR_API_URL") or VULTR_DEFAULT_URL),
        vultr_key=vultr_key,
        edgio_url=_url("EDGIO_API_URL", get("EDGIO_API_URL") or EDGIO_DEFAULT_URL),
        edgio_user=_required("EDGIO_API_USER", get("EDGIO_API_USER")),
        edgio_key=edgio_key,
    )


def _names(
    flag_values: list[str] | None, env_value: str, normal: Callable[[str], str] = str.lower
) -> tuple[str, ...]:
    """Repeated flags, else a comma-separated environment value; blanks dropped, each name
    in `normal` form (zones as DNS names: `Example.com.` is `example.com`)."""
    values = flag_values if flag_values else env_value.split(",")
    return tuple(dict.fromkeys(normal(v.strip()) for v in values if v.strip()))


def check_owner_id(value: str | None) -> None:
    """`--owner-id` as the chart's schema allows it; unset or empty is derived later."""
    if value and (len(value) > OWNER_ID_MAX or not re.fullmatch(OWNER_ID_PATTERN, value)):
        raise ConfigError(
            f"--owner-id: {value!r} may hold only letters, digits, '.', '_' and '-', "
            f"at most {OWNER_ID_MAX} of them"
        )


def _origin_hostname(value: str) -> str:
    """The shared origin name, checked as the `origin-hostname` annotation is."""
    if problem := fields.origin_problem(value):
        raise ConfigError(f"--origin-hostname: {value!r} {problem}")
    return value


def edge_hostnames(flag_values: list[str] | None, env_value: str) -> tuple[tuple[str, str], ...]:
    """`SHORTNAME=NAME` pairs (flags, else the comma-separated environment value): the
    name each account's custom hosts are CNAMEd to, instead of `<shortname>.s.llnwi.net`."""
    found: dict[str, str] = {}
    for pair in _names(flag_values, env_value):
        shortname, sep, name = (part.strip() for part in pair.partition("="))
        problem = (
            "is not SHORTNAME=NAME"
            if not sep
            else fields.shortname_problem(shortname) or edge_hostname_problem(name)
        )
        if problem or shortname in found:
            why = problem or "names that account twice"
            raise ConfigError(f"--edge-hostname: {pair!r} {why}")
        found[shortname] = name
    return tuple(sorted(found.items()))


def resolve(args: argparse.Namespace, env: Mapping[str, str], secret: Mapping[str, str]) -> Config:
    check_owner_id(args.owner_id)
    zones = _names(args.zone, _setting("EDGIO_INGRESS_DNS_ZONE", None, secret, env), dns_name)
    if not zones:
        raise ConfigError("--zone is not set (flag or EDGIO_INGRESS_DNS_ZONE)")
    for zone in zones:
        if not _NAME.match(zone):
            raise ConfigError(f"--zone: {zone!r} is not a DNS zone name")
    shortnames = _names(args.shortname, _setting("EDGIO_INGRESS_SHORTNAME", None, secret, env))
    origin = _origin_hostname(dns_name(args.origin_hostname or f"origin.{zones[0]}"))
    if not any(origin.endswith("." + z) for z in zones):
        raise ConfigError(f"--origin-hostname: {origin!r} is not a name inside a managed --zone")
    if not 1 <= args.ttl <= 86400:
        raise ConfigError(f"--ttl: {args.ttl} is not between 1 and 86400 seconds")
    return Config(
        credentials=credentials(env, secret),
        zones=zones,
        shortnames=shortnames,
        origin_hostname=origin,
        policy=Policy(args.policy),
        interval=getattr(args, "interval", 60.0),
        resync=args.provider_resync,
        ttl=args.ttl,
        node_address_type=args.node_address_type,
        namespaces=tuple(dict.fromkeys(args.namespace or ())),
        edge_hostnames=edge_hostnames(
            args.edge_hostname, _setting("EDGIO_INGRESS_EDGE_HOSTNAME", None, secret, env)
        ),
    )


def split_secret_name(text: str, default_namespace: str) -> tuple[str, str]:
    """`name` or `namespace/name`."""
    namespace, sep, name = text.rpartition("/")
    if not name:
        raise ConfigError(f"--credentials-secret: {text!r} is not NAME or NAMESPACE/NAME")
    return (namespace if sep else default_namespace), name
