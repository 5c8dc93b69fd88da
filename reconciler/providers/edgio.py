"""Edgio Delivery rules through the Configuration API (`svcinst/delivery`).

Our own small client rather than llnw-sdk-python: we need typed errors, pacing, retries
that never duplicate a rule, and a mapping to :class:`CdnRule` with the ownership marker
carried as an option. Every call is HMAC-signed by :class:`LlnwAuth`.

A rule is one service instance with one protocol set per published protocol (Edgio
allows two), alike but for `publishedProtocol`. Our marker is looked for in every set (a
portal edit can put another set in front of ours), and the rule's source fields are read
through the set that carries it (else the first). Every set is read: when they are not
all alike (a portal edit to one of them), the rule keeps them all in `protocol_sets`, so
it lists as drift and a write puts back what the route wants. An instance that
cannot be read at all (no protocol set, a port that is not a number, a `null` option)
is skipped as foreign and reported in the listing's `unreadable`; it never fails the
listing.

Listing pages by number (`size`, `page`), which shifts when a rule is created or deleted
between two fetches; a repeated uuid, or a `total` (when the server gives one) that
moves or is not reached, marks the walk as changed, and it is taken once more.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast
from urllib.parse import quote

import requests

from reconciler.model import (
    WEB_PROTOCOLS,
    CdnOption,
    CdnRule,
    OwnerMarker,
    ProtocolSet,
    WebProtocol,
    dns_name,
    url_path,
)
from reconciler.providers.base import (
    Conflict,
    Listing,
    NotFound,
    OutcomeUnknown,
    ServerError,
    Unreadable,
)
from reconciler.providers.signing import LlnwAuth
from reconciler.providers.transport import (
    Budget,
    HttpTransport,
    RetryPolicy,
    Walk,
    fingerprint,
    json_or_none,
    raw_message,
)
from reconciler.registry import ownership

PROVIDER = "edgio"
DEFAULT_BASE_URL = "https://apis.llnw.com/config-api/v1"
INSTANCES = "svcinst/delivery"
PAGE_SIZE = 100
DEFAULT_POLICY = RetryPolicy()


def server_message(response: requests.Response) -> str:
    """The server's own words: `errors[0]` (SmartPurge shape), else `message`/`error`."""
    payload = json_or_none(response)
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            parts = dict.fromkeys(str(first[k]) for k in ("message", "description") if first.get(k))
            if parts:
                return ": ".join(parts)[:300]
        for key in ("message", "error"):
            if isinstance(payload.get(key), str):
                return str(payload[key])[:300]
    return raw_message(response)


def normal_path(path: str) -> str:
    """A URL path as the service stores it: leading "/" added, empty becomes "/"."""
    return path if path.startswith("/") else "/" + path


class EdgioCdn:
    """A :class:`~reconciler.providers.base.CdnProvider` for Edgio Delivery."""

    def __init__(
        self,
        user: str,
        shared_key_hex: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        rate: float = 1 / 1.2,
        burst: int = 5,
        policy: RetryPolicy = DEFAULT_POLICY,
        timeout: float = 30.0,
        service_profile: str = "LLNW-Generic",
        progress: Callable[[], None] = lambda: None,
        fence: Callable[[], None] = lambda: None,
        writer: str = "",
    ):
        self.user = user
        self.service_profile = service_profile
        self._transport = HttpTransport(
            PROVIDER,
            base_url,
            rate=rate,
            burst=burst,
            policy=policy,
            timeout=timeout,
            auth=LlnwAuth(user, shared_key_hex),
            credential_id=fingerprint(PROVIDER, user, shared_key_hex),
            secrets=(shared_key_hex,),
            progress=progress,
            fence=fence,
            message=server_message,
            writer=writer,
        )

    def __repr__(self) -> str:
        return f"EdgioCdn(user={self.user!r}, base_url={self._transport.base_url!r})"

    def list_rules(self, shortname: str) -> Listing[CdnRule]:
        """Every rule of the account (foreign ones included), each uuid once.

        A walk that sees the collection change is taken once more; if that one moves
        too, the listing has ``complete=False`` and the pass must not delete. Instances
        that cannot be read are skipped and listed in ``unreadable``.
        """
        budget = self._transport.budget()
        walk = self._walk(shortname, budget)
        if walk.changed:
            walk = self._walk(shortname, budget)
        return walk.listing()

    def _walk(self, shortname: str, budget: Budget) -> Walk[CdnRule]:
        """Pages until one brings nothing new, or until the total when one is given: a
        short page proves nothing, since a server may cap the page size."""
        walk: Walk[CdnRule] = Walk(lambda rule: rule.id)
        total: int | None = None
        for number in itertools.count(1):
            results, page_total = self._transport.fetch(
                "list_rules",
                "GET",
                f"{INSTANCES}/shortname/{_segment(shortname)}",
                _list_results,
                params={"size": PAGE_SIZE, "page": number},
                budget=budget,
            )
            if number == 1:
                total = page_total
            elif page_total != total:
                walk.changed = True
            new = walk.add_page(_read_rule(instance) for instance in results)
            if not new or (total is not None and walk.count >= total):
                break
        walk.check_total(total)
        return walk

    def get_rule(self, uuid: str) -> CdnRule:
        payload = self._transport.request_json("get_rule", "GET", f"{INSTANCES}/{_segment(uuid)}")
        return _rule("get_rule", payload)

    def find_rule(self, shortname: str, host: str, path: str) -> CdnRule | None:
        """The rule publishing `host` + `path` (the natural key), if any."""
        return self._find(shortname, host, path, self._transport.budget())

    def create_rule(self, rule: CdnRule) -> CdnRule:
        """POST the rule. Retried only after answers that prove nothing was written (429,
        408, no connection); after one that may hide a write it raises
        :class:`OutcomeUnknown` rather than post again.

        A 409 whose holder carries our exact marker (a create of ours that landed after
        the listing, or a rule the listing missed while pages shifted) is that rule: it
        is brought to `rule` and returned. Anyone else's, or an unmarked one, stays a
        Conflict: a rule is never adopted without our marker."""
        data = _encode(self._payload(rule))
        budget = self._transport.budget()
        try:
            payload = self._transport.create("create_rule", INSTANCES, data, budget=budget)
        except Conflict:
            existing = self._find(rule.shortname, rule.published_host, rule.published_path, budget)
            if existing is None or rule.owner is None or existing.owner != rule.owner:
                raise
            return existing if existing == rule else self._update(existing, rule, budget)
        read = _read_rule(payload)
        if isinstance(read, Unreadable):
            raise OutcomeUnknown(ServerError(PROVIDER, "create_rule", read.problem))
        return read

    def update_rule(self, current: CdnRule, desired: CdnRule) -> CdnRule:
        """PUT is a full replace; the body is the Go SDK's `{uuid, body, accounts}`."""
        return self._update(current, desired, self._transport.budget())

    def _update(self, current: CdnRule, desired: CdnRule, budget: Budget) -> CdnRule:
        uuid = _id(current, "update")
        data = _encode({"uuid": uuid, **self._payload(desired)})
        payload = self._transport.request_json(
            "update_rule", "PUT", f"{INSTANCES}/{_segment(uuid)}", data=data, budget=budget
        )
        return _rule("update_rule", payload)

    def delete_rule(self, rule: CdnRule) -> None:
        """Already gone counts as done: a 410, or a 404 while the account's rules can be
        listed. A 404 because the account or the API path is wrong is an error."""
        uuid = _id(rule, "delete")
        budget = self._transport.budget()
        try:
            self._transport.request(
                "delete_rule", "DELETE", f"{INSTANCES}/{_segment(uuid)}", budget=budget
            )
        except NotFound as error:
            if error.status == 410:
                return
            self._transport.request(
                "delete_rule",
                "GET",
                f"{INSTANCES}/shortname/{_segment(rule.shortname)}",
                params={"size": 1, "page": 1},
                budget=budget,
            )

    def _find(self, shortname: str, host: str, path: str, budget: Budget) -> CdnRule | None:
        path = normal_path(path)
        results, _ = self._transport.fetch(
            "find_rule",
            "GET",
            f"{INSTANCES}/shortname/{_segment(shortname)}/searchAuto",
            _find_results,
            params={"body.publishedHostname": host, "body.publishedUrlPath": path},
            budget=budget,
        )
        for instance in results:
            rule = _read_rule(instance)
            if isinstance(rule, Unreadable):
                continue
            if rule.key[1:] == (dns_name(host), url_path(path)):
                return rule
        return None

    def _payload(self, rule: CdnRule) -> dict[str, Any]:
        marker = () if rule.owner is None else (ownership.marker_option(rule.owner),)
        protocol_sets = [_protocol_set(item, marker) for item in rule.sets]
        body = {
            "serviceKey": {"name": "delivery"},
            "serviceProfileName": self.service_profile,
            "publishedHostname": rule.published_host,
            "publishedUrlPath": rule.published_path,
            "sourceHostname": rule.source_host,
            "sourceUrlPath": rule.source_path,
            "protocolSets": protocol_sets,
        }
        return {"body": body, "accounts": [{"shortname": rule.shortname}]}


def _protocol_set(item: ProtocolSet, marker: tuple[CdnOption, ...]) -> dict[str, Any]:
    """One set on the wire, with our marker (when the rule is ours) among its options."""
    options = (*item.options, *marker)
    body: dict[str, Any] = {
        "publishedProtocol": item.published_protocol,
        "sourceProtocol": item.source_protocol,
        "sourcePort": item.source_port,
        "options": [{"name": o.name, "parameters": list(o.parameters)} for o in options],
    }
    if item.published_port is not None:
        body["publishedPort"] = item.published_port
    return body


def _segment(value: str) -> str:
    return quote(value, safe="")


def _id(rule: CdnRule, action: str) -> str:
    if not rule.id:
        raise ValueError(
            f"cannot {action} Edgio rule {rule.published_host}{rule.published_path}: "
            "it has no uuid (it was not read from Edgio)"
        )
    return rule.id


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _results(operation: str, payload: Any) -> tuple[list[Any], int | None]:
    """The `results` of a list or search answer, and its `total` when it has one."""
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list):
        raise ServerError(PROVIDER, operation, "unexpected response: no 'results' list")
    total = payload.get("total")
    return results, total if isinstance(total, int) and not isinstance(total, bool) else None


def _list_results(payload: Any) -> tuple[list[Any], int | None]:
    return _results("list_rules", payload)


def _find_results(payload: Any) -> tuple[list[Any], int | None]:
    return _results("find_rule", payload)


def _rule(operation: str, payload: Any) -> CdnRule:
    read = _read_rule(payload)
    if isinstance(read, Unreadable):
        raise ServerError(PROVIDER, operation, f"unexpected response: {read.problem}")
    return read


def _read_rule(instance: Any) -> CdnRule | Unreadable:
    """A delivery instance as a CdnRule, or what was wrong with it."""
    try:
        return _to_rule(instance)
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as error:
        uuid = instance.get("uuid") if isinstance(instance, dict) else None
        detail = f"{type(error).__name__} {error}"[:120]
        return Unreadable(
            PROVIDER,
            uuid if isinstance(uuid, str) else None,
            f"malformed delivery instance ({detail})",
        )


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} is not a string")
    return value


def _protocol(value: Any, name: str) -> WebProtocol:
    """Edgio speaks http and https only; anything else is a rule we cannot read."""
    if value not in WEB_PROTOCOLS:
        raise ValueError(f"{name} is not http or https")
    return cast(WebProtocol, value)


def _protocol_sets(sets: Any) -> tuple[OwnerMarker | None, int, tuple[ProtocolSet, ...]]:
    """Our marker, which set the rule is read through (the one carrying a marker, else
    the first), and every set as listed."""
    if not isinstance(sets, list) or not sets:
        raise ValueError("no protocol sets")
    read = [(*ownership.split_marker(_options(item)), item) for item in sets]
    listed = tuple(
        ProtocolSet(
            _protocol(item["publishedProtocol"], "publishedProtocol"),
            _protocol(item["sourceProtocol"], "sourceProtocol"),
            _port(item.get("sourcePort")),
            options,
            _port(item.get("publishedPort"), "publishedPort"),
        )
        for _, options, item in read
    )
    index = next((i for i, (marker, _, _) in enumerate(read) if marker is not None), 0)
    return read[index][0], index, listed


def _alike(listed: tuple[ProtocolSet, ...], main: ProtocolSet) -> bool:
    """Whether every set is `main` on its own published protocol, as we write them."""
    same = replace(main, published_port=None)
    return len({s.published_protocol for s in listed}) == len(listed) and all(
        replace(s, published_protocol=main.published_protocol) == same for s in listed
    )


def _to_rule(instance: Any) -> CdnRule:
    """A delivery instance as a CdnRule, our marker split out of its options."""
    body = instance["body"]
    owner, index, listed = _protocol_sets(body["protocolSets"])
    main = listed[index]
    published = {s.published_protocol for s in listed}
    status, revision = instance.get("status"), instance.get("revision")
    state = status.get("state") if isinstance(status, dict) else None
    version = revision.get("versionNumber") if isinstance(revision, dict) else None
    return CdnRule(
        shortname=_text(
            instance.get("shortname") or instance["accounts"][0]["shortname"], "shortname"
        ),
        published_host=_text(body["publishedHostname"], "publishedHostname"),
        published_path=normal_path(_text(body.get("publishedUrlPath") or "", "publishedUrlPath")),
        source_host=_text(body["sourceHostname"], "sourceHostname"),
        source_port=main.source_port,
        source_path=normal_path(_text(body.get("sourceUrlPath") or "", "sourceUrlPath")),
        published_protocols=tuple(p for p in WEB_PROTOCOLS if p in published),
        source_protocol=main.source_protocol,
        options=main.options,
        owner=owner,
        protocol_sets=() if _alike(listed, main) else listed,
        id=_text(instance["uuid"], "uuid"),
        state=state if isinstance(state, str) else None,
        version=version if isinstance(version, int) and not isinstance(version, bool) else None,
    )


def _options(protocol_set: Any) -> tuple[CdnOption, ...]:
    return tuple(_to_option(o) for o in protocol_set.get("options") or ())


def _to_option(option: Any) -> CdnOption:
    """Parameters keep their JSON types: Edgio declares each argument Int or String.
    Anything else (a `null`, a float, a boolean) cannot be written back as it was read,
    so the rule is unreadable rather than quietly changed (a null is not "None")."""
    parameters = option.get("parameters") or ()
    if not isinstance(parameters, list | tuple):
        raise TypeError("option parameters are not a list")
    for parameter in parameters:
        if isinstance(parameter, bool) or not isinstance(parameter, int | str):
            raise ValueError(f"option parameter {parameter!r} is neither a string nor an integer")
    return CdnOption(_text(option["name"], "option name"), tuple(parameters))


def _port(value: Any, name: str = "sourcePort") -> int | None:
    """A port as an integer; a JSON number with an integral value (8080.0) is one."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} {value!r} is not an integer")
    return value
