"""The bad-input corpus as data: what a user (or the cluster) can get wrong, and exactly
what the controller must say about it, on which object.

Each case adds its objects beside a valid, already published route (`good`) and may
break something around them (`hook`). The runner asserts the expected reason and message,
that `good` stays Ready, and that nothing published is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.badinput.harness import HOST, Harness

Obj = dict[str, Any]
Hook = Callable[[Harness], None]


@dataclass(frozen=True)
class Case:
    id: str
    objects: tuple[Obj, ...]
    kind: str  # the object that must carry the reason: "Ingress" or "EdgioRoute"
    subject: str  # its namespace/name
    reason: str
    message: str  # must appear in the message of an Event or condition with that reason
    hook: Hook | None = None  # breaks something outside the objects before the passes


# --- object builders ------------------------------------------------------------------


def ingress(
    name: str,
    path: str | None = "/x",
    *,
    namespace: str = "default",
    host: str | None = HOST,
    service: str = "web-svc",
    port: Obj | None = None,
    path_type: str = "Exact",
    annotations: dict[str, str] | None = None,
    spec: Obj | None = None,
) -> Obj:
    backend = {"service": {"name": service, "port": port if port is not None else {"name": "http"}}}
    rule: Obj = {"http": {"paths": [{"path": path, "pathType": path_type, "backend": backend}]}}
    if path is None:
        rule["http"]["paths"][0].pop("path")
    if host is not None:
        rule["host"] = host
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"cdn": "edgio"},
            "annotations": annotations or {},
        },
        "spec": spec if spec is not None else {"rules": [rule]},
    }


def service(name: str, *, kind: str = "NodePort", ports: list[Obj] | None = None) -> Obj:
    default = [{"name": "http", "port": 80, "targetPort": 8000, "nodePort": 30090}]
    spec: Obj = {"type": kind, "ports": default if ports is None else ports}
    if kind == "ExternalName":
        spec = {"type": kind, "externalName": "db.example.net"}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def route(name: str, **spec: Any) -> Obj:
    rules = spec.pop("rules", None)
    if rules is None:
        backend = {"service": {"name": "web-svc", "port": {"name": "http"}}}
        rules = [{"host": HOST, "path": f"/{name}", "pathType": "Exact", "backend": backend}]
    return {
        "apiVersion": "cdn.edgio.io/v1alpha1",
        "kind": "EdgioRoute",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"rules": rules, **spec},
    }


def route_with_paths(name: str, path_type: str, *paths: str) -> Obj:
    """An EdgioRoute publishing each path on HOST, all to the same backend."""
    backend = {"service": {"name": "web-svc", "port": {"name": "http"}}}
    rules = [{"host": HOST, "path": p, "pathType": path_type, "backend": backend} for p in paths]
    return route(name, rules=rules)


def many_paths(count: int) -> Obj:
    backend = {"service": {"name": "web-svc", "port": {"name": "http"}}}
    paths = [{"path": f"/p{i}", "pathType": "Exact", "backend": backend} for i in range(count)]
    return ingress("many", spec={"rules": [{"host": HOST, "http": {"paths": paths}}]})


ORIGIN = "cdn.edgio.io/origin-hostname"


def annotated(name: str, key: str, value: str) -> Obj:
    return ingress(name, annotations={f"cdn.edgio.io/{key}": value})


# --- hooks: what breaks outside the objects -------------------------------------------------


def wrong_vultr_key(h: Harness) -> None:
    h.vultr_key = "WRONGKEYWRONGKEYWRONGKEYWRONGKEY0000"


def wrong_edgio_key(h: Harness) -> None:
    h.edgio_key = "00" * 32


def zone_missing_in_vultr(h: Harness) -> None:
    h.zones("example.com", "missing.example")


def edgio_rejects_one_create(h: Harness) -> None:
    error = {"errors": [{"message": "invalid request", "code": 1001, "description": "no"}]}
    error["errors"][0]["description"] = "body.protocolSets[0].options[0] is not allowed here"
    h.edgio.faults.add(
        method="POST",
        path="/svcinst/delivery$",
        status=400,
        times=1,
        body=json.dumps(error).encode(),
    )


def ingress_case(id: str, obj: Obj, message: str, reason: str = "InvalidSpec") -> Case:
    key = f"{obj['metadata'].get('namespace', 'default')}/{obj['metadata']['name']}"
    return Case(id, (obj,), "Ingress", key, reason, message)


def route_case(id: str, objects: tuple[Obj, ...], reason: str, message: str, name: str) -> Case:
    return Case(id, objects, "EdgioRoute", f"default/{name}", reason, message)


OPTION_MARKER = json.dumps(
    [{"name": "req_send_header", "parameters": ["X-Edgio-Ingress-Owner", "heritage=x"]}]
)

CASES: tuple[Case, ...] = (
    # --- annotations ---------------------------------------------------------------------
    ingress_case(
        "unknown-annotation", annotated("a1", "origin-protocl", "https"), "unknown annotation"
    ),
    ingress_case(
        "bad-origin-protocol",
        annotated("a2", "origin-protocol", "ftp"),
        "unsupported value 'ftp': use http or https",
    ),
    ingress_case(
        "bad-deletion-policy",
        annotated("a3", "deletion-policy", "Keep"),
        "unsupported value 'Keep': use Delete or Orphan",
    ),
    ingress_case(
        "options-not-json",
        annotated("a4", "options", "[{name: x}"),
        "must be a JSON list of options",
    ),
    ingress_case(
        "options-not-a-list",
        annotated("a5", "options", '{"name": "x"}'),
        'must be a list like [{"name": "...", "parameters": [...]}]',
    ),
    ingress_case(
        "option-bad-name",
        annotated("a6", "options", '[{"name": "Refresh-Min"}]'),
        "name 'Refresh-Min' is not an Edgio option name",
    ),
    ingress_case(
        "option-bad-parameters",
        annotated("a7", "options", '[{"name": "refresh_absmin", "parameters": [1.5]}]'),
        "parameters must be a list of strings and integers",
    ),
    ingress_case(
        "option-forges-owner-marker",
        annotated("a8", "options", OPTION_MARKER),
        "the X-Edgio-Ingress-Owner header is reserved",
    ),
    ingress_case(
        "option-without-name",
        annotated("a9", "options", '[{"parameters": [1]}]'),
        "must be an object with a string 'name'",
    ),
    ingress_case(
        "origin-path-relative",
        annotated("a10", "origin-path", "static"),
        "must be an absolute path starting with '/'",
    ),
    ingress_case(
        "origin-hostname-malformed",
        annotated("a11", "origin-hostname", "not a host"),
        "must be a fully qualified DNS name in a zone the controller manages",
    ),
    ingress_case(
        "edge-hostname-is-an-own-host",
        ingress(
            "a15",
            host="www.shop.example",
            annotations={
                "cdn.edgio.io/shortname": "exampleco",
                "cdn.edgio.io/edge-hostname": "www.shop.example",
            },
        ),
        "is one of the route's own hosts: external-dns would write a CNAME of that host to itself",
    ),
    ingress_case(
        "shortname-malformed",
        annotated("a12", "shortname", "Example_Co"),
        "must be an Edgio shortname",
    ),
    Case(
        "origin-hostname-outside-zones",
        (annotated("a13", "origin-hostname", "o.example.org"),),
        "EdgioRoute",
        "default/a13",
        "InvalidSpec",
        "'o.example.org' is in none of the managed DNS zones (example.com)",
    ),
    Case(
        "origin-hostname-zone-apex",
        (annotated("a14", "origin-hostname", "example.com"),),
        "EdgioRoute",
        "default/a14",
        "InvalidSpec",
        "'example.com' is the apex of the managed",
    ),
    Case(
        "origin-hostname-is-a-published-host",
        (ingress("a15", host="www.example.com", annotations={ORIGIN: "www.example.com"}),),
        "EdgioRoute",
        "default/a15",
        "InvalidSpec",
        "spec.origin.hostname: 'www.example.com' is also a published host of this route",
    ),
    # --- hosts -----------------------------------------------------------------------------
    ingress_case(
        "wildcard-host", ingress("h1", host="*.example.com"), "wildcard hosts cannot be published"
    ),
    ingress_case(
        "ipv4-host",
        ingress("h2", host="192.0.2.10"),
        "an IP address cannot be a published hostname at Edgio",
    ),
    ingress_case(
        "host-with-underscore",
        ingress("h3", host="bad_host.example.com"),
        "must be a fully qualified DNS name",
    ),
    ingress_case(
        "rule-without-host",
        ingress("h4", host=None),
        "must be set: Edgio publishes rules by hostname",
    ),
    ingress_case(
        "hosts-in-two-accounts",
        ingress(
            "h5",
            spec={
                "rules": [
                    {
                        "host": "one.s.llnwi.net",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {"name": "web-svc", "port": {"name": "http"}}
                                    },
                                }
                            ]
                        },
                    },
                    {
                        "host": "two.s.llnwi.net",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {"name": "web-svc", "port": {"name": "http"}}
                                    },
                                }
                            ]
                        },
                    },
                ]
            },
        ),
        "the hosts name several Edgio accounts (one, two)",
    ),
    Case(
        "host-outside-allowed-domains",
        (ingress("h6", host="shop.notmine.net"),),
        "EdgioRoute",
        "default/h6",
        "ProviderRejected",
        "'shop.notmine.net' is not in a domain configured for exampleco",
    ),
    # --- rules and paths ---------------------------------------------------------------------
    ingress_case(
        "default-backend-only",
        ingress(
            "p1",
            spec={"defaultBackend": {"service": {"name": "web-svc", "port": {"name": "http"}}}},
        ),
        "spec.defaultBackend",
    ),
    ingress_case(
        "no-rules", ingress("p2", spec={"rules": []}), "must have at least one rule with a host"
    ),
    ingress_case(
        "rule-without-paths",
        ingress("p3", spec={"rules": [{"host": HOST}]}),
        "must list at least one path to publish",
    ),
    ingress_case(
        "relative-path",
        ingress("p4", path="fred"),
        "'fred' must be an absolute path starting with '/'",
    ),
    ingress_case(
        "path-with-query",
        ingress("p5", path="/a?b=1"),
        "must not contain a query, a fragment or white space",
    ),
    ingress_case(
        "unknown-path-type", ingress("p6", path_type="Regex"), "unsupported value 'Regex'"
    ),
    ingress_case(
        "same-path-twice",
        ingress(
            "p7",
            spec={
                "rules": [
                    {
                        "host": HOST,
                        "http": {
                            "paths": [
                                {
                                    "path": "/twice",
                                    "pathType": "Exact",
                                    "backend": {
                                        "service": {"name": "web-svc", "port": {"name": "http"}}
                                    },
                                }
                            ]
                            * 2
                        },
                    }
                ]
            },
        ),
        f"publishes {HOST}/twice again",
    ),
    ingress_case(
        "port-name-and-number",
        ingress("p8", port={"name": "http", "number": 80}),
        "must give exactly one of name or number",
    ),
    ingress_case(
        "port-number-out-of-range",
        ingress("p9", port={"number": 70000}),
        "70000 is not a port number",
    ),
    Case(
        "thousand-paths",
        (many_paths(1000),),
        "EdgioRoute",
        "default/many",
        "Published",
        "1000 rule(s) published at Edgio",
    ),
    # --- backends -----------------------------------------------------------------------------
    Case(
        "missing-service",
        (ingress("b1", service="nowhere"),),
        "EdgioRoute",
        "default/b1",
        "BackendNotFound",
        "nowhere not found",
    ),
    Case(
        "wrong-port-name",
        (ingress("b2", port={"name": "https"}),),
        "EdgioRoute",
        "default/b2",
        "BackendPortNotFound",
        "'https'",
    ),
    Case(
        "wrong-port-number",
        (ingress("b3", port={"number": 8443}),),
        "EdgioRoute",
        "default/b3",
        "BackendPortNotFound",
        "8443",
    ),
    Case(
        "clusterip-service",
        (service("cip", kind="ClusterIP"), ingress("b4", service="cip")),
        "EdgioRoute",
        "default/b4",
        "BackendNotNodePort",
        "ClusterIP",
    ),
    Case(
        "externalname-service",
        (service("ext", kind="ExternalName"), ingress("b5", service="ext")),
        "EdgioRoute",
        "default/b5",
        "BackendNotNodePort",
        "ExternalName",
    ),
    Case(
        "nodeport-not-allocated",
        (
            service("noalloc", ports=[{"name": "http", "port": 80}]),
            ingress("b6", service="noalloc"),
        ),
        "EdgioRoute",
        "default/b6",
        "BackendPortNotFound",
        "has no nodePort",
    ),
    Case(
        "service-without-ports",
        (service("noports", ports=[]), ingress("b7", service="noports")),
        "EdgioRoute",
        "default/b7",
        "BackendPortNotFound",
        "'http'",
    ),
    # --- claims -------------------------------------------------------------------------------
    Case(
        "same-host-and-path-in-another-namespace",
        (
            service("web-svc") | {"metadata": {"name": "web-svc", "namespace": "shop"}},
            ingress("c1", "/good", namespace="shop"),
        ),
        "EdgioRoute",
        "shop/c1",
        "Conflict",
        "default/good",
    ),
    Case(
        # RFC 3986 section 6.2.2: %67 is "g" and %6F is "o", so this is the URL of /good.
        "equivalent-spelling-of-a-published-path",
        (ingress("c3", "/%67%6Fod"),),
        "EdgioRoute",
        "default/c3",
        "Conflict",
        "default/good",
    ),
    Case(
        "user-route-takes-the-ingress-name",
        (route("c2"), ingress("c2", "/c2-from-ingress")),
        "Ingress",
        "default/c2",
        "NameTaken",
        "default/c2",
    ),
    # --- EdgioRoutes written directly that pass the schema --------------------------------------
    route_case(
        # The CRD refuses two rules with one host and path; these two differ as written
        # but both publish the directory /r1/ at Edgio.
        "route-rule-twice",
        (route_with_paths("r1", "Prefix", "/r1", "/r1/"),),
        "InvalidSpec",
        f"publishes {HOST}/r1/ twice",
        "r1",
    ),
    route_case(
        # One path in two spellings: percent-encoded UTF-8 with lower-case hex, and as typed.
        "route-path-twice-in-two-spellings",
        (route_with_paths("r1e", "Exact", "/caf%c3%a9", "/café"),),
        "InvalidSpec",
        f"publishes {HOST}/caf%C3%A9 twice",
        "r1e",
    ),
    route_case(
        "route-origin-outside-zones",
        (route("r2", origin={"hostname": "origin.example.net"}),),
        "InvalidSpec",
        "'origin.example.net' is in none of the managed DNS zones",
        "r2",
    ),
    route_case(
        "route-origin-at-zone-apex",
        (route("r3", origin={"hostname": "example.com"}),),
        "InvalidSpec",
        "'example.com' is the apex of the managed DNS zones",
        "r3",
    ),
    route_case(
        "route-origin-is-a-published-host",
        (
            route(
                "r6",
                origin={"hostname": "shop.example.com"},
                rules=[
                    {
                        "host": "shop.example.com",
                        "path": "/r6",
                        "pathType": "Exact",
                        "backend": {"service": {"name": "web-svc", "port": {"name": "http"}}},
                    }
                ],
            ),
        ),
        "InvalidSpec",
        "'shop.example.com' is also a published host of this route",
        "r6",
    ),
    route_case(
        "route-option-forges-owner-marker",
        (route("r4", cdn={"options": json.loads(OPTION_MARKER)}),),
        "InvalidSpec",
        "the X-Edgio-Ingress-Owner header is reserved",
        "r4",
    ),
    route_case(
        "route-missing-service",
        (
            route(
                "r5",
                rules=[
                    {
                        "host": HOST,
                        "path": "/r5",
                        "pathType": "Exact",
                        "backend": {"service": {"name": "gone", "port": {"number": 80}}},
                    }
                ],
            ),
        ),
        "BackendNotFound",
        "gone not found",
        "r5",
    ),
    # --- the providers -------------------------------------------------------------------------
    Case(
        "wrong-vultr-key",
        (ingress("v1", "/v1"),),
        "EdgioRoute",
        "default/good",
        "ProviderAuthFailed",
        "",
        hook=wrong_vultr_key,
    ),
    Case(
        "wrong-edgio-key",
        (ingress("e1", "/e1"),),
        "EdgioRoute",
        "default/good",
        "ProviderAuthFailed",
        "",
        hook=wrong_edgio_key,
    ),
    Case(
        "zone-missing-in-vultr",
        (annotated("z1", "origin-hostname", "origin.missing.example"),),
        "EdgioRoute",
        "default/z1",
        "ProviderNotFound",
        "HTTP 404: Domain not found: missing.example",
        hook=zone_missing_in_vultr,
    ),
    Case(
        "edgio-400-for-one-rule",
        (ingress("x1", "/x1"),),
        "EdgioRoute",
        "default/x1",
        "ProviderRejected",
        "is not allowed here",
        hook=edgio_rejects_one_create,
    ),
)

# Cases after which `good` cannot be Ready: the provider it needs refuses us.
GOOD_NOT_READY = frozenset({"wrong-vultr-key", "wrong-edgio-key"})
