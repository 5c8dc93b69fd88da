"""Ingress -> EdgioRoute: selection, every rule and path, pathTypes, annotations, errors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.api import CONTROLLER_NAME
from reconciler.derive.fields import published_path
from reconciler.derive.ingress import (
    class_controllers,
    derive_route,
    is_edgio_ingress,
)
from reconciler.derive.routes import route_from_object
from reconciler.errors import InvalidObject
from reconciler.model import BackendRef, RouteRule

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def ingress(
    rules: list[dict[str, Any]] | None = None,
    *,
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "labels": {"cdn": "edgio"} if labels is None else labels,
            "annotations": annotations or {},
        },
        "spec": dict(spec),
    }
    if rules is not None:
        body["spec"]["rules"] = rules
    return body


def path(p: str = "/", path_type: str = "Prefix", port: Any = "http", svc: str = "web") -> dict:
    key = "number" if isinstance(port, int) else "name"
    return {
        "path": p,
        "pathType": path_type,
        "backend": {"service": {"name": svc, "port": {key: port}}},
    }


def rule(host: str = "exampleco.s.llnwi.net", *paths: dict[str, Any]) -> dict[str, Any]:
    return {"host": host, "http": {"paths": list(paths) or [path()]}}


def spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    return derive_route(obj).manifest["spec"]


def errors_of(obj: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidObject) as raised:
        derive_route(obj)
    assert raised.value.key == "shop/web"
    return [str(error) for error in raised.value.errors]


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / name).read_text())


# --- the seed ---------------------------------------------------------------------------


def test_seed_matching_variant() -> None:
    manifest = derive_route(load("pywai-edgio-ingress-matching.yaml")).manifest
    assert manifest["apiVersion"] == "cdn.edgio.io/v1alpha1"
    assert manifest["kind"] == "EdgioRoute"
    assert manifest["metadata"]["name"] == "pywai-inline-ingress"
    assert manifest["metadata"]["namespace"] == "default"
    assert manifest["spec"]["shortname"] == "exampleco"
    assert manifest["spec"]["rules"] == [
        {
            "host": "exampleco.s.llnwi.net",
            "path": "/fred",
            "pathType": "Exact",
            "publishedProtocols": ["http", "https"],
            "backend": {"service": {"name": "pywai-inline-service", "port": {"name": "http"}}},
        }
    ]


def test_seed_as_printed_derives_its_missing_backend_verbatim() -> None:
    """The missing Service is found at reconcile time, where it becomes a condition."""
    rules = spec_of(load("pywai-edgio-ingress.yaml"))["rules"]
    assert rules[0]["backend"]["service"] == {
        "name": "external-pywai-inline-service",
        "port": {"name": "pywai-port"},
    }


def test_owner_reference_when_the_ingress_has_a_uid() -> None:
    obj = ingress([rule()])
    obj["metadata"]["uid"] = "1234"
    metadata = derive_route(obj).manifest["metadata"]
    assert metadata["ownerReferences"] == [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "name": "web",
            "uid": "1234",
            "controller": True,
        }
    ]
    assert metadata["labels"] == {"cdn.edgio.io/derived-from": "ingress"}


# --- every rule and path ----------------------------------------------------------------


def test_several_rules_and_paths_are_all_derived() -> None:
    obj = ingress(
        [
            rule("exampleco.s.llnwi.net", path("/a", "Exact"), path("/b", "Prefix", 8080)),
            rule("www.example.com", path("/", "Prefix", svc="front")),
        ]
    )
    got = [(r["host"], r["path"], r["pathType"]) for r in spec_of(obj)["rules"]]
    assert got == [
        ("exampleco.s.llnwi.net", "/a", "Exact"),
        ("exampleco.s.llnwi.net", "/b", "Prefix"),
        ("www.example.com", "/", "Prefix"),
    ]


@pytest.mark.parametrize(
    ("path_type", "given", "published"),
    [
        ("Exact", "/fred", "/fred"),
        ("Prefix", "/fred", "/fred/"),
        ("Prefix", "/fred/", "/fred/"),
        ("Prefix", "/", "/"),
        ("ImplementationSpecific", "/fred", "/fred/"),
    ],
)
def test_path_types_map_to_edgio_paths(path_type: str, given: str, published: str) -> None:
    route = route_from_object(
        derive_route(ingress([rule("a.example.com", path(given, path_type))])).manifest
    )
    (only,) = route.rules
    assert only.path_type == path_type
    assert published_path(only.path, only.path_type) == published


@pytest.mark.parametrize(
    ("port", "expected"), [("http", {"name": "http"}), (8080, {"number": 8080})]
)
def test_port_by_name_and_by_number(port: Any, expected: dict[str, Any]) -> None:
    (derived,) = spec_of(ingress([rule("a.example.com", path("/", port=port))]))["rules"]
    assert derived["backend"]["service"]["port"] == expected
    route = route_from_object(
        derive_route(ingress([rule("a.example.com", path("/", port=port))])).manifest
    )
    assert route.rules[0].backend == BackendRef("web", port)


def test_uppercase_host_is_lowered() -> None:
    (derived,) = spec_of(ingress([rule("WWW.Example.COM")]))["rules"]
    assert derived["host"] == "www.example.com"


def test_empty_path_is_the_root_prefix() -> None:
    obj = ingress([rule("a.example.com", path("", "ImplementationSpecific"))])
    (derived,) = spec_of(obj)["rules"]
    assert derived["path"] == "/"


def test_tls_hosts_are_published_on_https() -> None:
    obj = ingress(
        [rule("a.example.com"), rule("b.example.com")],
        tls=[{"hosts": ["a.example.com"], "secretName": "a-cert"}],
    )
    derived = derive_route(obj)
    protocols = [r["publishedProtocols"] for r in derived.manifest["spec"]["rules"]]
    assert protocols == [["http", "https"], ["http"]]
    assert [str(w) for w in derived.warnings] == [
        "spec.tls[0].secretName: ignored: Edgio serves published hosts with certificates it manages"
    ]


def test_annotations_fill_the_spec() -> None:
    obj = ingress(
        [rule("www.example.com")],
        annotations={
            "cdn.edgio.io/shortname": "acme",
            "cdn.edgio.io/origin-hostname": "Nodes.Example.com",
            "cdn.edgio.io/origin-protocol": "https",
            "cdn.edgio.io/origin-path": "/app/",
            "cdn.edgio.io/options": '[{"name": "refresh_absmin", "parameters": [3600]}]',
            "cdn.edgio.io/deletion-policy": "Orphan",
        },
    )
    spec = spec_of(obj)
    assert spec["shortname"] == "acme"
    assert spec["origin"] == {"hostname": "nodes.example.com", "protocol": "https", "path": "/app/"}
    assert spec["cdn"] == {"options": [{"name": "refresh_absmin", "parameters": [3600]}]}
    assert spec["deletionPolicy"] == "Orphan"


def test_route_from_derived_object_round_trips() -> None:
    manifest = derive_route(ingress([rule("a.example.com", path("/x", "Exact", 80))])).manifest
    route = route_from_object(manifest)
    assert route.key == "shop/web"
    assert route.rules == (
        RouteRule("a.example.com", "/x", "Exact", BackendRef("web", 80), ("http",)),
    )


# --- selection ------------------------------------------------------------------------------

CLASSES = class_controllers(
    [
        {
            "kind": "IngressClass",
            "metadata": {"name": "edgio"},
            "spec": {"controller": CONTROLLER_NAME},
        },
        {
            "kind": "IngressClass",
            "metadata": {"name": "nginx"},
            "spec": {"controller": "k8s.io/ingress-nginx"},
        },
    ]
)


@pytest.mark.parametrize(
    ("labels", "annotations", "class_name", "selected"),
    [
        ({"cdn": "edgio"}, {}, None, True),
        ({}, {"kubernetes.io/ingress.class": "edgio"}, None, True),
        ({}, {}, "edgio", True),
        ({}, {}, "nginx", False),
        ({}, {}, "unknown", False),
        ({"cdn": "cloudflare"}, {}, None, False),
        ({}, {}, None, False),
    ],
)
def test_selection(
    labels: dict[str, str], annotations: dict[str, str], class_name: str | None, selected: bool
) -> None:
    obj = ingress([rule()], labels=labels, annotations=annotations)
    if class_name:
        obj["spec"]["ingressClassName"] = class_name
    assert is_edgio_ingress(obj, CLASSES) is selected


# --- errors: every problem named, never an exception other than InvalidObject -------------

SERVICE = {"service": {"name": "web", "port": {"name": "http"}}}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (
            ingress([rule("*.example.com")]),
            "spec.rules[0].host: wildcard hosts cannot be published: "
            "Edgio needs one fully qualified name per rule",
        ),
        (
            ingress([rule("192.0.2.10")]),
            "spec.rules[0].host: an IP address cannot be a published hostname at Edgio",
        ),
        (
            ingress([{"http": {"paths": [path()]}}]),
            "spec.rules[0].host: must be set: Edgio publishes rules by hostname",
        ),
        (
            ingress([{"host": "a.example.com"}]),
            "spec.rules[0].http.paths: must list at least one path to publish",
        ),
        (
            ingress(defaultBackend=SERVICE),
            "spec.defaultBackend: a default backend alone publishes nothing: "
            "Edgio needs a host and a path",
        ),
        (ingress([]), "spec.rules: must have at least one rule with a host"),
        (
            ingress([rule("a.example.com", path("", "Exact"))]),
            "spec.rules[0].http.paths[0].path: '' must be an absolute path starting with '/'",
        ),
        (
            ingress([rule("a.example.com", {"path": "/", "backend": SERVICE})]),
            "spec.rules[0].http.paths[0].pathType: must be set: use Exact, Prefix or "
            "ImplementationSpecific",
        ),
        (
            ingress(
                [
                    rule(
                        "a.example.com",
                        {"path": "/", "pathType": "Prefix", "backend": {"resource": {}}},
                    )
                ]
            ),
            "spec.rules[0].http.paths[0].backend.service: must name a Service: "
            "only Service backends can be published",
        ),
        (
            ingress([rule("a.example.com", path("/x", "Prefix"), path("/x/", "Prefix"))]),
            "spec.rules[0].http.paths[1].path: publishes a.example.com/x/ again "
            "(already at spec.rules[0].http.paths[0])",
        ),
        (
            ingress([rule("a.s.llnwi.net"), rule("b.s.llnwi.net")]),
            "metadata.annotations[cdn.edgio.io/shortname]: the hosts name several Edgio "
            "accounts (a, b); set this annotation to choose one",
        ),
    ],
    ids=[
        "wildcard-host",
        "ip-host",
        "no-host",
        "no-paths",
        "default-backend-only",
        "no-rules",
        "exact-empty-path",
        "no-path-type",
        "resource-backend",
        "duplicate-path",
        "two-shortnames",
    ],
)
def test_invalid_ingress(obj: dict[str, Any], expected: str) -> None:
    assert errors_of(obj) == [expected]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "shortname",
            "Bad_Name",
            "'Bad_Name' must be an Edgio shortname: lower-case letters, digits and '-'",
        ),
        (
            "origin-hostname",
            "not a host",
            "'not a host' must be a fully qualified DNS name in a zone the controller manages",
        ),
        ("origin-protocol", "ftp", "unsupported value 'ftp': use http or https"),
        ("origin-path", "app", "'app' must be an absolute path starting with '/'"),
        (
            "options",
            "{not json",
            "must be a JSON list of options: Expecting property name enclosed in double quotes",
        ),
        ("options", '{"name": "x"}', 'must be a list like [{"name": "...", "parameters": [...]}]'),
        ("deletion-policy", "Keep", "unsupported value 'Keep': use Delete or Orphan"),
        (
            "orgin-hostname",
            "x.example.com",
            "unknown annotation; known ones are cdn.edgio.io/shortname, "
            "cdn.edgio.io/origin-hostname, cdn.edgio.io/origin-protocol, cdn.edgio.io/origin-path, "
            "cdn.edgio.io/options, cdn.edgio.io/deletion-policy, "
            "cdn.edgio.io/published-protocols, cdn.edgio.io/adopt, cdn.edgio.io/edge-hostname",
        ),
        (
            "edge-hostname",
            "not a host",
            "'not a host' must be a fully qualified DNS name (the Edgio name the hosts are "
            "CNAMEd to)",
        ),
    ],
)
def test_invalid_annotation(key: str, value: str, expected: str) -> None:
    obj = ingress([rule()], annotations={f"cdn.edgio.io/{key}": value})
    assert errors_of(obj) == [f"metadata.annotations[cdn.edgio.io/{key}]: {expected}"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ('[{"parameters": []}]', "[0]: must be an object with a string 'name'"),
        (
            '[{"name": "Bad-Name"}]',
            "[0]: name 'Bad-Name' is not an Edgio option name (lower case and '_')",
        ),
        (
            '[{"name": "x", "parameters": [true]}]',
            "[0]: parameters must be a list of strings and integers",
        ),
        (
            '[{"name": "req_send_header", "parameters": ["X-Edgio-Ingress-Owner", "me"]}]',
            "[0]: the X-Edgio-Ingress-Owner header is reserved for the controller's "
            "ownership marker",
        ),
    ],
)
def test_invalid_options(options: str, expected: str) -> None:
    obj = ingress([rule()], annotations={"cdn.edgio.io/options": options})
    assert errors_of(obj) == [f"metadata.annotations[cdn.edgio.io/options]{expected}"]


def test_all_problems_are_reported_together() -> None:
    obj = ingress(
        [rule("*.example.com"), rule("a.example.com", path("rel", "Prefix"))],
        annotations={"cdn.edgio.io/origin-protocol": "ftp"},
    )
    assert len(errors_of(obj)) == 3


def test_derivation_does_not_modify_its_input() -> None:
    obj = ingress([rule("WWW.example.com")], tls=[{"hosts": ["www.example.com"]}])
    before = copy.deepcopy(obj)
    derive_route(obj)
    assert obj == before
