"""Server-side Table output of the Kubernetes API emulator (what ``kubectl get`` prints)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from edgio_sandbox.kube.table import (
    JsonPathError,
    default_columns,
    human_duration,
    parse_jsonpath,
    to_table,
)

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)

ROUTE = {
    "apiVersion": "cdn.edgio.io/v1alpha1",
    "kind": "EdgioRoute",
    "metadata": {
        "name": "shop",
        "namespace": "default",
        "creationTimestamp": (NOW - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "labels": {"app.kubernetes.io/name": "shop"},
    },
    "spec": {
        "shortname": "exampleco",
        "rules": [{"host": "a.example", "path": "/"}, {"host": "b.example", "path": "/x"}],
        "weight": 2.0,
        "enabled": True,
    },
    "status": {
        "conditions": [
            {"type": "DnsReady", "status": "True"},
            {"type": "Ready", "status": "False"},
        ]
    },
}

PRINTER_COLUMNS = [
    {"name": "Shortname", "type": "string", "jsonPath": ".spec.shortname"},
    {"name": "Host", "type": "string", "jsonPath": ".spec.rules[*].host"},
    {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    },
    {"name": "Weight", "type": "integer", "jsonPath": ".spec.weight", "priority": 1},
    {"name": "Enabled", "type": "boolean", "jsonPath": ".spec.enabled"},
    {"name": "Missing", "type": "string", "jsonPath": ".status.observedGeneration"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def test_table_shape_follows_meta_v1() -> None:
    table = to_table([ROUTE], default_columns(), "42", continue_token="next", now=NOW)
    assert table["kind"] == "Table"
    assert table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "42", "continue": "next"}
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert set(table["columnDefinitions"][0]) == {
        "name",
        "type",
        "format",
        "description",
        "priority",
    }
    assert table["columnDefinitions"][0]["format"] == "name"
    (row,) = table["rows"]
    assert row["cells"] == ["shop", "3m"]
    assert row["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": ROUTE["metadata"],
    }


def test_printer_columns_follow_the_apiextensions_convertor() -> None:
    table = to_table([ROUTE], PRINTER_COLUMNS, "7", now=NOW)
    names = [c["name"] for c in table["columnDefinitions"]]
    assert names == ["Name", *(c["name"] for c in PRINTER_COLUMNS)]
    assert table["columnDefinitions"][4]["priority"] == 1
    assert table["columnDefinitions"][1]["description"] == (
        "Custom resource definition column (in JSONPath format): .spec.shortname"
    )
    assert "continue" not in table["metadata"]
    # the first value found; null when nothing is (kubectl prints <none>)
    assert table["rows"][0]["cells"] == [
        "shop",
        "exampleco",
        "a.example",
        "False",
        2,
        True,
        None,
        "3m",
    ]


def test_cells_are_typed_by_their_column() -> None:
    obj = {"metadata": {"name": "n"}, "v": {"n": 3, "s": "text", "b": False, "l": [1, "a"]}}
    columns = [
        {"name": "NumberAsString", "type": "string", "jsonPath": ".v.n"},
        {"name": "ListAsString", "type": "string", "jsonPath": ".v.l"},
        {"name": "TextAsNumber", "type": "number", "jsonPath": ".v.s"},
        {"name": "Number", "type": "number", "jsonPath": ".v.n"},
        {"name": "BoolAsInteger", "type": "integer", "jsonPath": ".v.b"},
        {"name": "BadDate", "type": "date", "jsonPath": ".v.s"},
    ]
    (row,) = to_table([obj], columns, "1", now=NOW)["rows"]
    assert row["cells"] == ["n", "3", '[1,"a"]', None, 3.0, None, "<invalid>"]


@pytest.mark.parametrize(
    ("seconds", "age"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (5, "5s"),
        (119, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 5 * 60, "3h5m"),
        (47 * 3600, "47h"),
        (2 * 86400, "2d"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (30 * 86400, "30d"),
        (3 * 365 * 86400 + 10 * 86400, "3y10d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_ages_read_like_kubectl(seconds: int, age: str) -> None:
    assert human_duration(seconds) == age


@pytest.mark.parametrize(
    ("path", "found"),
    [
        (".metadata.name", ["shop"]),
        ("{.metadata.name}", ["shop"]),
        (".spec.rules[0].host", ["a.example"]),
        (".spec.rules[-1].path", ["/x"]),
        (".spec.rules[*].host", ["a.example", "b.example"]),
        (".spec.rules.*.path", ["/", "/x"]),
        (".metadata.labels['app.kubernetes.io/name']", ["shop"]),
        ('.status.conditions[?(@.type=="DnsReady")].status', ["True"]),
        (".status.conditions[?(@.type!='Ready')].type", ["DnsReady"]),
        (".status.conditions[?(@.status)].type", ["DnsReady", "Ready"]),
        (".spec.rules[5].host", []),
        (".spec.nothing.deeper", []),
    ],
)
def test_jsonpath_subset(path: str, found: list[Any]) -> None:
    assert parse_jsonpath(path).find(ROUTE) == found


@pytest.mark.parametrize("path", ["spec", ".spec[", ".a[?(@.x=~/re/)]", ".a..b"])
def test_unsupported_jsonpath_is_an_error(path: str) -> None:
    with pytest.raises(JsonPathError):
        parse_jsonpath(path)
