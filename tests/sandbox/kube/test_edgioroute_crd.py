"""The EdgioRoute CRD of `crds/` on both servers: every constraint of its schema refuses
what it should, naming the field the way kube-apiserver names it, and a valid route gets
its defaults and loses undeclared fields.

On the real server these are the API server's own messages; the emulator must say the
same, so a user of the sandbox sees what a cluster would tell them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client import ApiException

from edgio_sandbox.kube import KubeEmulator
from tests.support import CRD_FILE

from .conftest import install_crd_with

GROUP, VERSION, PLURAL = "cdn.edgio.io", "v1alpha1", "edgioroutes"

Route = dict[str, Any]


def route() -> Route:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "EdgioRoute",
        "metadata": {"name": "shop"},
        "spec": {
            "shortname": "exampleco",
            "origin": {"hostname": "origin.example.com", "protocol": "http"},
            "rules": [
                {
                    "host": "shop.example.com",
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": {"service": {"name": "web", "port": {"number": 80}}},
                }
            ],
            "cdn": {"options": [{"name": "refresh_absmin", "parameters": [3600]}]},
        },
    }


def rule(spec: Route) -> Route:
    first: Route = spec["rules"][0]
    return first


def edit(change: Callable[[Route], None]) -> Route:
    changed = route()
    change(changed["spec"])
    return changed


def put(key: str, value: Any) -> Callable[[Route], None]:
    """Set a dotted path under spec; `rules.0.x` indexes the first rule."""

    def change(spec: Route) -> None:
        node: Any = spec
        *parents, last = key.split(".")
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value

    return change


DELETE = object()
SERVICE = "rules.0.backend.service"

# (change to a valid route, the field and the error the API server reports for it)
REFUSED: list[tuple[str, Callable[[Route], None], str]] = [
    (
        "shortname pattern",
        put("shortname", "Not_Valid"),
        'spec.shortname: Invalid value: "Not_Valid"',
    ),
    (
        "origin hostname pattern",
        put("origin.hostname", "*.example.com"),
        'spec.origin.hostname: Invalid value: "*.example.com"',
    ),
    (
        "origin hostname length",
        put("origin.hostname", "a." * 126 + "com"),
        "spec.origin.hostname: Too long",
    ),
    (
        "origin protocol enum",
        put("origin.protocol", "ftp"),
        'spec.origin.protocol: Unsupported value: "ftp"',
    ),
    ("origin path pattern", put("origin.path", "x"), 'spec.origin.path: Invalid value: "x"'),
    ("rules required", put("rules", DELETE), "spec.rules: Required value"),
    ("rules minItems", put("rules", []), "spec.rules: Invalid value: 0"),
    (
        "the same host and path twice",
        lambda spec: spec.update(rules=spec["rules"] * 2),
        'spec.rules[1]: Duplicate value: {"host":"shop.example.com","path":"/"}',
    ),
    (
        "rules maxItems",
        lambda spec: spec.update(rules=[dict(rule(spec), path=f"/{n}") for n in range(201)]),
        "spec.rules: Too many: 201",
    ),
    ("rule host required", put("rules.0.host", DELETE), "spec.rules[0].host: Required value"),
    (
        "rule host pattern",
        put("rules.0.host", "10.0.0.1"),
        'spec.rules[0].host: Invalid value: "10.0.0.1"',
    ),
    ("rule path pattern", put("rules.0.path", "fred"), 'spec.rules[0].path: Invalid value: "fred"'),
    (
        "rule pathType enum",
        put("rules.0.pathType", "Regex"),
        'spec.rules[0].pathType: Unsupported value: "Regex"',
    ),
    (
        "rule protocol enum",
        put("rules.0.publishedProtocols", ["gopher"]),
        'spec.rules[0].publishedProtocols[0]: Unsupported value: "gopher"',
    ),
    ("backend required", put("rules.0.backend", DELETE), "spec.rules[0].backend: Required value"),
    (
        "service required",
        put("rules.0.backend.service", DELETE),
        "spec.rules[0].backend.service: Required value",
    ),
    (
        "service name required",
        put(f"{SERVICE}.name", DELETE),
        "spec.rules[0].backend.service.name: Required value",
    ),
    (
        "service name pattern",
        put(f"{SERVICE}.name", "Web_1"),
        'spec.rules[0].backend.service.name: Invalid value: "Web_1"',
    ),
    (
        "port number minimum",
        put(f"{SERVICE}.port.number", 0),
        "spec.rules[0].backend.service.port.number: Invalid value: 0",
    ),
    (
        "port number maximum",
        put(f"{SERVICE}.port.number", 65536),
        "spec.rules[0].backend.service.port.number: Invalid value: 65536",
    ),
    (
        "port name length",
        put(f"{SERVICE}.port.name", "p" * 64),
        "spec.rules[0].backend.service.port.name: Too long",
    ),
    (
        "options maxItems",
        lambda spec: spec["cdn"].update(options=spec["cdn"]["options"] * 101),
        "spec.cdn.options: Too many: 101",
    ),
    (
        "option name required",
        put("cdn.options.0.name", DELETE),
        "spec.cdn.options[0].name: Required value",
    ),
    (
        "option name pattern",
        put("cdn.options.0.name", "Refresh"),
        'spec.cdn.options[0].name: Invalid value: "Refresh"',
    ),
    (
        "deletionPolicy enum",
        put("deletionPolicy", "Keep"),
        'spec.deletionPolicy: Unsupported value: "Keep"',
    ),
]


# The CRD's CEL rules (x-kubernetes-validations): (change, the server's message).
CEL_REFUSED: list[tuple[str, Callable[[Route], None], str]] = [
    (
        "a port with a name and a number",
        put(f"{SERVICE}.port", {"name": "http", "number": 80}),
        'spec.rules[0].backend.service.port: Invalid value: "object": exactly one of name and'
        " number must be set",
    ),
    (
        "a port with neither",
        put(f"{SERVICE}.port", {}),
        'spec.rules[0].backend.service.port: Invalid value: "object": exactly one of name and'
        " number must be set",
    ),
]


@pytest.fixture
def routes(api: Any) -> Any:
    install_crd_with(api, yaml.safe_load(CRD_FILE.read_text()))
    return client.CustomObjectsApi(api)


def create(routes: Any, body: Route) -> Route:
    created: Route = routes.create_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, copy.deepcopy(body)
    )
    return created


def refusal(routes: Any, body: Route) -> tuple[int, str, str]:
    with pytest.raises(ApiException) as caught:
        create(routes, body)
    status = json.loads(caught.value.body)
    return caught.value.status, status["reason"], status["message"]


def test_a_valid_route_is_stored_with_defaults_and_without_undeclared_fields(
    routes: Any,
) -> None:
    body = route()
    body["spec"]["surprise"] = True
    rule(body["spec"])["weight"] = 3
    created = create(routes, body)
    spec = created["spec"]
    assert spec["origin"]["path"] == "/"
    assert spec["deletionPolicy"] == "Delete"
    assert "publishedProtocols" not in rule(spec)  # no default: the controller picks by host
    assert "surprise" not in spec and "weight" not in rule(spec)
    assert spec["cdn"]["options"][0]["parameters"] == [3600]


@pytest.mark.parametrize(
    ("change", "expected"), [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED]
)
def test_each_constraint_refuses_with_the_servers_message(
    routes: Any, change: Callable[[Route], None], expected: str
) -> None:
    code, reason, message = refusal(routes, edit(change))
    assert (code, reason) == (422, "Invalid")
    assert message.startswith('EdgioRoute.cdn.edgio.io "shop" is invalid: ')
    assert expected in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [case[1:] for case in CEL_REFUSED],
    ids=[case[0] for case in CEL_REFUSED],
)
def test_each_cel_rule_refuses_with_its_message(
    routes: Any,
    kube: Any,
    request: pytest.FixtureRequest,
    change: Callable[[Route], None],
    expected: str,
) -> None:
    if isinstance(kube, KubeEmulator):
        request.applymarker(
            pytest.mark.xfail(strict=True, reason="the emulator does not evaluate CEL rules")
        )
    code, reason, message = refusal(routes, edit(change))
    assert (code, reason) == (422, "Invalid")
    assert expected in message


def test_distinct_rules_and_one_port_reference_pass_the_cel_rules(routes: Any) -> None:
    body = route()
    second = copy.deepcopy(rule(body["spec"]))
    second["path"] = "/other"
    second["backend"]["service"]["port"] = {"name": "http"}
    body["spec"]["rules"].append(second)
    assert len(create(routes, body)["spec"]["rules"]) == 2


def test_every_problem_is_reported_at_once(routes: Any) -> None:
    def many(spec: Route) -> None:
        spec["shortname"] = "Not_Valid"
        rule(spec)["pathType"] = "Regex"
        spec["deletionPolicy"] = "Keep"

    _, _, message = refusal(routes, edit(many))
    for field in ("spec.shortname", "spec.rules[0].pathType", "spec.deletionPolicy"):
        assert f"{field}: " in message


def test_status_is_validated_through_the_status_subresource(routes: Any) -> None:
    create(routes, route())
    bad = {"status": {"conditions": [{"type": "Ready", "status": "Maybe"}]}}
    with pytest.raises(ApiException) as caught:
        routes.patch_namespaced_custom_object_status(GROUP, VERSION, "default", PLURAL, "shop", bad)
    message = json.loads(caught.value.body)["message"]
    assert caught.value.status == 422
    assert 'status.conditions[0].status: Unsupported value: "Maybe"' in message
    assert "status.conditions[0].reason: Required value" in message
