"""Checks and mappings of single field values, shared by Ingresses and EdgioRoutes.

Both ways into the controller (an Ingress, or an EdgioRoute written by hand) must
refuse the same bad values with the same words, so the rules live here once.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Sequence
from typing import Any

from reconciler.errors import FieldError
from reconciler.model import WEB_PROTOCOLS, CdnOption, WebProtocol, dns_name, url_path
from reconciler.registry.ownership import MARKER_OPTION, OWNER_HEADER, TXT_PREFIX

_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$)({_LABEL}\.)+[a-z]([-a-z0-9]{{0,61}}[a-z0-9])?$")
_SHORTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_EDGIO_HOST = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)\.s\.llnwi\.net$")
_OPTION_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# What the API server refuses in Exact and Prefix paths (and we in every path): paths
# that are not normalised, or hide a '/' in an escape.
_UNNORMALISED = ("//", "/./", "/../", "%2f", "%2F")
_UNNORMALISED_ENDINGS = ("/.", "/..")
# Regular expression and glob syntax: ImplementationSpecific paths that other
# controllers read as patterns, and that Edgio would publish literally.
_PATTERN_CHARACTERS = frozenset("*()[]{}|^$+\\")
# The ownership TXT of an origin is `a-<name>`: the prefix must fit in the first label
# (63 characters) and in the name (253).
_MAX_ORIGIN_LABEL = 63 - len(TXT_PREFIX)
_MAX_ORIGIN_NAME = 253 - len(TXT_PREFIX)


def alternatives(allowed: Sequence[str]) -> str:
    """`a, b or c`: how every message lists the values a field takes."""
    return " or ".join(filter(None, (", ".join(allowed[:-1]), allowed[-1])))


def choice_problem(value: object, allowed: Sequence[str]) -> str | None:
    """The one wording for a bad value of every enum-valued field, spec or annotation."""
    if value in allowed:
        return None
    return f"unsupported value {value!r}: use {alternatives(allowed)}"


def normalise_host(host: str) -> str:
    """A host as a user typed it, in the one normal form names are compared in."""
    return dns_name(host.strip())


@functools.lru_cache(maxsize=4096)
def host_problem(host: str) -> str | None:
    """Cached: every route of a pass names one of a few hosts, and `ip_address` raising
    ValueError for each of them cost more than the rest of the check."""
    if not host:
        return "must be set: Edgio publishes rules by hostname"
    if host.startswith("*"):
        return "wildcard hosts cannot be published: Edgio needs one fully qualified name per rule"
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return "an IP address cannot be a published hostname at Edgio"
    if not _HOSTNAME.match(host):
        return "must be a fully qualified DNS name (letters, digits, '-' and '.')"
    return None


def origin_problem(host: str) -> str | None:
    if not _HOSTNAME.match(host):
        return "must be a fully qualified DNS name in a zone the controller manages"
    if len(host.split(".")[0]) > _MAX_ORIGIN_LABEL or len(host) > _MAX_ORIGIN_NAME:
        return (
            f"is too long for its ownership record {TXT_PREFIX}<name>: the first label may "
            f"have at most {_MAX_ORIGIN_LABEL} characters and the name {_MAX_ORIGIN_NAME}"
        )
    return None


def shortname_problem(shortname: str) -> str | None:
    if not _SHORTNAME.match(shortname):
        return "must be an Edgio shortname: lower-case letters, digits and '-'"
    return None


def shortname_from_host(host: str) -> str | None:
    """Edgio-assigned hosts name their account: `<shortname>.s.llnwi.net`."""
    match = _EDGIO_HOST.match(host)
    return match.group(1) if match else None


def path_problem(path: str) -> str | None:
    if not path.startswith("/"):
        return "must be an absolute path starting with '/'"
    if any(char in path for char in "?# \t\n"):
        return "must not contain a query, a fragment or white space"
    return None


def published_path_problem(path: str, path_type: str) -> str | None:
    """What Edgio cannot publish as the Ingress means it: never widened silently."""
    if problem := path_problem(path):
        return problem
    if any(part in path for part in _UNNORMALISED) or path.endswith(_UNNORMALISED_ENDINGS):
        return (
            "must be a normalised path: no '//', '/./', '/../' or encoded '/' (%2F), "
            "and no '/.' or '/..' at the end"
        )
    if path_type == "Exact" and path.endswith("/"):
        return (
            "cannot be published as an Exact path: Edgio treats a path ending in '/' as a "
            "directory and would publish every path below it; use Prefix, or drop the '/'"
        )
    if path_type == "ImplementationSpecific" and _PATTERN_CHARACTERS & set(path):
        return (
            "looks like a regular expression or a glob: Edgio matches paths literally, "
            "as prefixes; use a plain path"
        )
    return None


def edgio_serves_https(host: str) -> bool:
    """Edgio holds the certificate of its own `<shortname>.s.llnwi.net` names."""
    return _EDGIO_HOST.match(host) is not None


def default_protocols(host: str, tls: bool) -> tuple[WebProtocol, ...]:
    """Both protocols where Edgio can serve https (a TLS host or its own name), else http."""
    return WEB_PROTOCOLS if tls or edgio_serves_https(host) else ("http",)


def parse_protocols(value: Any) -> tuple[tuple[WebProtocol, ...], str | None]:
    """`http`, `https` or `http,https` (text or a list), in :data:`WEB_PROTOCOLS` order."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        return (), f"must list {alternatives(WEB_PROTOCOLS)}, or both"
    names = [str(item).strip() for item in items]
    if len(set(names)) != len(names) or not set(names) <= set(WEB_PROTOCOLS):
        return (), f"unsupported value {value!r}: use http, https or http,https"
    return tuple(p for p in WEB_PROTOCOLS if p in names), None


def tls_covers(patterns: frozenset[str] | None, host: str) -> bool:
    """Whether a tls section covers `host`: None is an entry without hosts (all of
    them); a wildcard `*.shop.com` covers exactly one more label."""
    if patterns is None or host in patterns:
        return True
    first, dot, rest = host.partition(".")
    return bool(first and dot and f"*.{rest}" in patterns)


def published_path(path: str, path_type: str) -> str:
    """Edgio treats a path ending in '/' as a directory prefix and any other as a file.
    The path is published in normal form (:func:`url_path`): equivalent spellings are
    one path, and two routes claiming it conflict."""
    path = url_path(path)
    if path_type == "Exact" or path.endswith("/"):
        return path
    return path + "/"


def parse_options(value: Any, field: str) -> tuple[tuple[CdnOption, ...], list[FieldError]]:
    """Edgio options from an annotation (JSON text) or a spec (already a list)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            return (), [FieldError(field, f"must be a JSON list of options: {error.msg}")]
    if not isinstance(value, list):
        return (), [FieldError(field, 'must be a list like [{"name": "...", "parameters": [...]}]')]
    options: list[CdnOption] = []
    errors: list[FieldError] = []
    for index, item in enumerate(value):
        option, problem = _option(item)
        if problem:
            errors.append(FieldError(f"{field}[{index}]", problem))
        elif option is not None:
            options.append(option)
    return tuple(options), errors


def _option(item: Any) -> tuple[CdnOption | None, str | None]:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        return None, "must be an object with a string 'name'"
    name = item["name"]
    if not _OPTION_NAME.match(name):
        return None, f"name {name!r} is not an Edgio option name (lower case and '_')"
    parameters = item.get("parameters", [])
    if not isinstance(parameters, list) or not all(
        isinstance(p, str) or (isinstance(p, int) and not isinstance(p, bool)) for p in parameters
    ):
        return None, "parameters must be a list of strings and integers"
    if name == MARKER_OPTION and parameters and str(parameters[0]).lower() == OWNER_HEADER.lower():
        return None, f"the {OWNER_HEADER} header is reserved for the controller's ownership marker"
    return CdnOption(name, tuple(parameters)), None


def option_to_spec(option: CdnOption) -> dict[str, Any]:
    return {"name": option.name, "parameters": list(option.parameters)}
