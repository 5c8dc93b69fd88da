"""Ingresses + stored routes -> route writes: derive, update, sweep, never clobber."""

from __future__ import annotations

import copy
from typing import Any

from reconciler import api
from reconciler.plan.routeset import Verdict, WriteAction, is_sweep, route_set, sweep_verdict
from tests.support import ingress_manifest


def ingress(name: str = "web", path: str = "/fred", **labels: str) -> dict[str, Any]:
    metadata = {"uid": f"uid-{name}", "labels": {"cdn": "edgio", **labels}}
    return ingress_manifest(name, [path], "svc", {"number": 80}, metadata=metadata)


def stored(manifest: dict[str, Any]) -> dict[str, Any]:
    """A written route as the API server stores it: defaults, metadata."""
    route = copy.deepcopy(manifest)
    route["metadata"].update({"uid": "r1", "resourceVersion": "7", "generation": 1})
    return route


def test_a_new_ingress_gets_a_derived_route_with_our_finalizer() -> None:
    (write,) = route_set([ingress()], [], []).writes
    assert write.action is WriteAction.CREATE
    metadata = write.route["metadata"]
    assert metadata["finalizers"] == [api.FINALIZER]
    assert metadata["labels"] == {api.DERIVED_LABEL: api.DERIVED_FROM_INGRESS}
    assert metadata["ownerReferences"][0]["uid"] == "uid-web"


def test_an_unchanged_route_is_not_written_and_a_changed_one_is_replaced() -> None:
    (created,) = route_set([ingress()], [], []).writes
    route = stored(created.route)
    assert route_set([ingress()], [], [route]).writes == ()
    (update,) = route_set([ingress(path="/wilma")], [], [route]).writes
    assert update.action is WriteAction.UPDATE
    assert update.route["metadata"]["resourceVersion"] == "7"
    assert update.route["spec"]["rules"][0]["path"] == "/wilma"


def test_the_sweep_deletes_routes_whose_ingress_is_gone_or_not_ours() -> None:
    (created,) = route_set([ingress()], [], []).writes
    route = stored(created.route)
    (gone,) = route_set([], [], [route]).writes
    assert gone.action is WriteAction.DELETE
    not_ours = ingress()
    not_ours["metadata"]["labels"] = {}
    assert route_set([not_ours], [], [route]).writes[0].action is WriteAction.DELETE
    assert is_sweep(gone)


def test_the_api_server_has_the_last_word_on_a_sweep() -> None:
    """The cache only nominates: the Ingress as read now decides."""
    released = ingress()
    released["metadata"]["labels"] = {}
    assert sweep_verdict(None, []) is Verdict.GONE
    assert sweep_verdict(ingress(), []) is Verdict.HELD
    assert sweep_verdict(released, []) is Verdict.RELEASED
    by_class = {**released, "spec": {**released["spec"], "ingressClassName": "edgio"}}
    edgio_class = {"metadata": {"name": "edgio"}, "spec": {"controller": api.CONTROLLER_NAME}}
    assert sweep_verdict(by_class, [edgio_class]) is Verdict.HELD
    assert sweep_verdict(by_class, []) is Verdict.RELEASED


def test_a_user_route_is_finalized_never_overwritten_and_a_clash_is_told() -> None:
    user = {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND,
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"rules": []},
    }
    result = route_set([ingress()], [], [user])
    (write,) = result.writes
    assert write.action is WriteAction.FINALIZE
    assert write.route["spec"] == {"rules": []}
    (note,) = result.notes
    assert note.reason == api.Reason.NAME_TAKEN


def test_an_invalid_ingress_keeps_its_route_and_is_reported() -> None:
    (created,) = route_set([ingress()], [], []).writes
    broken = ingress()
    broken["metadata"]["annotations"] = {"cdn.edgio.io/bogus": "1"}
    result = route_set([broken], [], [stored(created.route)])
    assert result.writes == ()
    assert "default/web" in result.invalid
    assert [n.reason for n in result.notes] == [api.Reason.INVALID_SPEC]
