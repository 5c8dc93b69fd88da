"""Label and field selectors of the Kubernetes API emulator."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgio_sandbox.kube.selectors import (
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)

relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

WEB = {"app": "web", "tier": "frontend", "cdn": "edgio"}
DB = {"app": "db", "tier": "backend"}
BARE: dict[str, str] = {}


@pytest.mark.parametrize(
    ("selector", "web", "db", "bare"),
    [
        ("", True, True, True),
        ("app=web", True, False, False),
        ("app==web", True, False, False),
        ("app!=web", False, True, True),  # != also matches objects without the key
        ("app in (web,db)", True, True, False),
        ("app notin (web)", False, True, True),  # notin too
        ("cdn", True, False, False),
        ("!cdn", False, True, True),
        ("app=web,tier=frontend", True, False, False),
        ("app in (web, db), !cdn", False, True, False),
        ("  tier  =  backend  ", False, True, False),
        ("app=", False, False, False),
        ("app in (web,)", True, False, False),
        ("example.com/role-a!=x", True, True, True),
    ],
)
def test_label_selector_semantics(selector: str, web: bool, db: bool, bare: bool) -> None:
    parsed = parse_label_selector(selector)
    assert (parsed.matches(WEB), parsed.matches(DB), parsed.matches(BARE)) == (web, db, bare)


def test_empty_value_matches_an_empty_label() -> None:
    assert parse_label_selector("app=").matches({"app": ""})
    assert parse_label_selector("app in (,x)").matches({"app": ""})


def test_numeric_comparisons() -> None:
    selector = parse_label_selector("replicas>2,replicas<10")
    assert selector.matches({"replicas": "5"})
    assert not selector.matches({"replicas": "2"})
    assert not selector.matches({"replicas": "many"})
    assert not selector.matches({})


@pytest.mark.parametrize(
    "selector",
    [
        "app=web,",
        "app in web",
        "app in ()",
        "app in (web",
        "app = web = x",
        "!",
        "!app=web",
        "app>x",
        "-bad=1",
        "app=-bad",
        "Example.com/app=1",
        "a" * 64 + "=1",
        "app=" + "v" * 64,
        "in=1",
        "(app)",
        "app web",
    ],
)
def test_label_selector_syntax_errors(selector: str) -> None:
    with pytest.raises(SelectorError, match="label selector"):
        parse_label_selector(selector)


label_names = st.from_regex(r"[a-z]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
# As in labels.Parse, `in` and `notin` are words a value may be but a key may not.
label_keys = label_names.filter(lambda name: name not in ("in", "notin"))
label_sets = st.dictionaries(label_keys, label_names | st.just(""), max_size=4)


@relaxed
@given(label_sets, label_keys, st.lists(label_names, min_size=1, max_size=3))
def test_in_and_notin_are_complements(labels: dict[str, str], key: str, values: list[str]) -> None:
    listed = ",".join(values)
    inside = parse_label_selector(f"{key} in ({listed})").matches(labels)
    outside = parse_label_selector(f"{key} notin ({listed})").matches(labels)
    assert inside != outside
    assert inside == (labels.get(key) in values)


@relaxed
@given(label_sets, label_keys, label_names)
def test_equality_and_inequality_are_complements(
    labels: dict[str, str], key: str, value: str
) -> None:
    equal = parse_label_selector(f"{key}={value}").matches(labels)
    assert equal != parse_label_selector(f"{key}!={value}").matches(labels)
    assert parse_label_selector(key).matches(labels) != parse_label_selector(f"!{key}").matches(
        labels
    )


# --- field selectors -----------------------------------------------------------------------

ALLOWED = ("metadata.name", "metadata.namespace", "involvedObject.kind", "type", "spec.ready")
EVENT = {
    "metadata": {"name": "e1", "namespace": "default"},
    "involvedObject": {"kind": "EdgioRoute", "name": "shop"},
    "type": "Warning",
    "spec": {"ready": True},
}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("metadata.name=e1", True),
        ("metadata.name==e1", True),
        ("metadata.name!=e1", False),
        ("metadata.namespace=default,involvedObject.kind=EdgioRoute", True),
        ("involvedObject.kind=Ingress", False),
        ("type!=Normal", True),
        ("spec.ready=true", True),
        ("metadata.namespace=", False),
    ],
)
def test_field_selector_semantics(selector: str, matches: bool) -> None:
    assert parse_field_selector(selector, ALLOWED).matches(EVENT) is matches


def test_missing_field_compares_as_empty() -> None:
    cluster_scoped = {"metadata": {"name": "node-1"}}
    assert parse_field_selector("metadata.namespace=", ALLOWED).matches(cluster_scoped)
    assert parse_field_selector("metadata.namespace!=default", ALLOWED).matches(cluster_scoped)


def test_escaped_values() -> None:
    obj = {"metadata": {"name": "a,b=c\\d"}}
    assert parse_field_selector(r"metadata.name=a\,b\=c\\d", ALLOWED).matches(obj)


def test_unsupported_field_is_named_like_kube_apiserver() -> None:
    with pytest.raises(SelectorError) as caught:
        parse_field_selector("spec.type=NodePort", ("metadata.name", "metadata.namespace"))
    assert str(caught.value) == "field label not supported: spec.type"


@pytest.mark.parametrize("selector", ["metadata.name", "metadata.name=a=b", r"metadata.name=\x"])
def test_field_selector_syntax_errors(selector: str) -> None:
    with pytest.raises(SelectorError):
        parse_field_selector(selector, ALLOWED)
