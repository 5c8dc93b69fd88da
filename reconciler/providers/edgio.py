"""Edgio Delivery rules through the Configuration API (`svcinst/delivery`).

Our own small client rather than llnw-sdk-python: we need typed errors, pacing, retries
that never duplicate a rule, and a mapping to :class:`CdnRule` with the ownership marker
carried as an option. Every call is HMAC-signed by :class:`LlnwAuth`.

A rule is one service instance with one protocol set; a listed instance with two sets
is read through its first one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import quote

import requests

from reconciler import ownership
from reconciler.model import WEB_PROTOCOLS, CdnOption, CdnRule, WebProtocol
from reconciler.providers.base import NotFound, ProviderError
from reconciler.providers.signing import LlnwAuth
from reconciler.providers.transport import HttpTransport, RetryPolicy, json_or_none, raw_message

PROVIDER = "edgio"
DEFAULT_BASE_URL = "https://apis.llnw.com/config-api/v1"
INSTANCES = "svcinst/delivery"
PAGE_SIZE = 100
DEFAULT_POLICY = RetryPolicy()

Call = Callable[..., requests.Response]


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
            message=server_message,
        )

    def __repr__(self) -> str:
        return f"EdgioCdn(user={self.user!r}, base_url={self._transport.base_url!r})"

    def list_rules(self, shortname: str) -> list[CdnRule]:
        """Every rule of the account, paged until a short page (there is no total)."""
        rules: list[CdnRule] = []
        page = 1
        while True:
            response = self._transport.request(
                "list_rules",
                "GET",
                f"{INSTANCES}/shortname/{_segment(shortname)}",
                params={"size": PAGE_SIZE, "page": page},
            )
            batch = _rules("list_rules", response)
            rules.extend(batch)
            if len(batch) < PAGE_SIZE:
                return rules
            page += 1

    def get_rule(self, uuid: str) -> CdnRule:
        response = self._transport.request("get_rule", "GET", f"{INSTANCES}/{_segment(uuid)}")
        return _rule("get_rule", response)

    def find_rule(self, shortname: str, host: str, path: str) -> CdnRule | None:
        """The rule publishing `host` + `path` (the natural key), if any."""
        return self._find(shortname, host, path, self._transport.request)

    def create_rule(self, rule: CdnRule) -> CdnRule:
        """POST once; on a retry, first look for the rule, since a POST whose answer was
        lost may have been applied, and a second POST would duplicate or conflict. Only a
        rule with our marker counts as ours: anyone else's gets the server's 409."""
        data = _encode(self._payload(rule))
        for attempt in self._transport.retrying():
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    existing = self._find(
                        rule.shortname, rule.published_host, rule.published_path, self._send
                    )
                    if existing is not None and existing.owner == rule.owner:
                        return existing
                response = self._send("create_rule", "POST", INSTANCES, data=data)
                return _rule("create_rule", response)
        raise AssertionError("unreachable: tenacity reraises the last error")

    def update_rule(self, current: CdnRule, desired: CdnRule) -> CdnRule:
        """PUT is a full replace; the body is the Go SDK's `{uuid, body, accounts}`."""
        uuid = _id(current, "update")
        data = _encode({"uuid": uuid, **self._payload(desired)})
        response = self._transport.request(
            "update_rule", "PUT", f"{INSTANCES}/{_segment(uuid)}", data=data
        )
        return _rule("update_rule", response)

    def delete_rule(self, rule: CdnRule) -> None:
        """Already gone (404) is success: that is what a retried delete finds."""
        uuid = _id(rule, "delete")
        try:
            self._transport.request("delete_rule", "DELETE", f"{INSTANCES}/{_segment(uuid)}")
        except NotFound:
            return

    def _send(self, operation: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self._transport.send(operation, method, path, **kwargs)

    def _find(self, shortname: str, host: str, path: str, call: Call) -> CdnRule | None:
        path = normal_path(path)
        response = call(
            "find_rule",
            "GET",
            f"{INSTANCES}/shortname/{_segment(shortname)}/searchAuto",
            params={"body.publishedHostname": host, "body.publishedUrlPath": path},
        )
        for rule in _rules("find_rule", response):
            if rule.published_host.lower() == host.lower() and rule.published_path == path:
                return rule
        return None

    def _payload(self, rule: CdnRule) -> dict[str, Any]:
        options = rule.options
        if rule.owner is not None:
            options = (*options, ownership.marker_option(rule.owner))
        protocol_set = {
            "publishedProtocol": rule.published_protocol,
            "sourceProtocol": rule.source_protocol,
            "sourcePort": rule.source_port,
            "options": [{"name": o.name, "parameters": list(o.parameters)} for o in options],
        }
        body = {
            "serviceKey": {"name": "delivery"},
            "serviceProfileName": self.service_profile,
            "publishedHostname": rule.published_host,
            "publishedUrlPath": rule.published_path,
            "sourceHostname": rule.source_host,
            "sourceUrlPath": rule.source_path,
            "protocolSets": [protocol_set],
        }
        return {"body": body, "accounts": [{"shortname": rule.shortname}]}


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


def _json(operation: str, response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ProviderError(
            PROVIDER, operation, "answer is not JSON", response.status_code
        ) from None


def _rules(operation: str, response: requests.Response) -> list[CdnRule]:
    payload = _json(operation, response)
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list):
        raise ProviderError(PROVIDER, operation, "answer has no 'results' list")
    return [_to_rule(operation, instance) for instance in results]


def _rule(operation: str, response: requests.Response) -> CdnRule:
    return _to_rule(operation, _json(operation, response))


def _protocol(value: Any) -> WebProtocol:
    """Edgio speaks http and https only; anything else is a rule we cannot read."""
    if value not in WEB_PROTOCOLS:
        raise ValueError(f"protocol {value!r}")
    return cast(WebProtocol, value)


def _to_rule(operation: str, instance: Any) -> CdnRule:
    """A delivery instance as a CdnRule, our marker split out of its options."""
    try:
        body = instance["body"]
        protocol_set = body["protocolSets"][0]
        options = tuple(_to_option(o) for o in protocol_set.get("options") or ())
        owner, options = ownership.split_marker(options)
        return CdnRule(
            shortname=str(instance.get("shortname") or instance["accounts"][0]["shortname"]),
            published_host=str(body["publishedHostname"]),
            published_path=normal_path(str(body.get("publishedUrlPath") or "")),
            source_host=str(body["sourceHostname"]),
            source_port=_port(protocol_set.get("sourcePort")),
            source_path=normal_path(str(body.get("sourceUrlPath") or "")),
            published_protocol=_protocol(protocol_set["publishedProtocol"]),
            source_protocol=_protocol(protocol_set["sourceProtocol"]),
            options=options,
            owner=owner,
            id=str(instance["uuid"]),
            state=(instance.get("status") or {}).get("state"),
            version=(instance.get("revision") or {}).get("versionNumber"),
        )
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as error:
        detail = f"{type(error).__name__} {error}"[:120]
        raise ProviderError(
            PROVIDER, operation, f"malformed delivery instance ({detail})"
        ) from None


def _to_option(option: Any) -> CdnOption:
    """Parameters keep their JSON types: Edgio declares each argument Int or String."""
    parameters = tuple(
        p if isinstance(p, int | str) else str(p) for p in option.get("parameters") or ()
    )
    return CdnOption(str(option["name"]), parameters)


def _port(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"sourcePort {value!r} is not an integer")
    return value
