"""Every case of the corpus: the exact reason on the right object, the valid route still
converges, and nothing that was published is deleted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from edgio_sandbox.kube import KubeEmulator
from tests.badinput.cases import CASES, GOOD_NOT_READY, Case, ingress, service
from tests.badinput.harness import Harness, harness
from tests.support import CRD_FILE

PASSES = 2  # a problem must be stable, not a first-pass accident


def node(name: str, address: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "ExternalIP", "address": address}],
        },
    }


def publish_the_good_route(h: Harness) -> None:
    for obj in (
        service("web-svc"),
        node("n1", "203.0.113.1"),
        node("n2", "203.0.113.2"),
        ingress("good", "/good"),
    ):
        h.cluster.add(obj)
    result = h.run()
    assert result.ok, result.report
    assert h.cluster.conditions("default/good")["Ready"]["status"] == "True"


def test_the_corpus_is_large_and_its_ids_unique() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case) -> None:
    with harness() as h:
        publish_the_good_route(h)
        rules, records = h.rule_ids(), h.record_ids()
        for obj in case.objects:
            h.cluster.add(obj)
        if case.hook is not None:
            case.hook(h)
        for _ in range(PASSES):
            h.run()
        said = h.cluster.said(case.kind, case.subject)
        matching = [message for reason, message in said if reason == case.reason]
        assert matching, f"{case.kind} {case.subject} said {said}"
        assert any(case.message in message for message in matching), matching
        ready = h.cluster.conditions("default/good")["Ready"]
        if case.id not in GOOD_NOT_READY:
            assert ready["status"] == "True", ready
        assert h.deletes() == 0
        assert rules <= h.rule_ids() and records <= h.record_ids()


@pytest.mark.slow
def test_the_corpus_edgioroutes_pass_the_schema(tmp_path: Path) -> None:
    """The EdgioRoutes of the corpus are what users can really store: the CRD admits them,
    so only the controller stands between them and Edgio."""
    routes = [o for case in CASES for o in case.objects if o["kind"] == "EdgioRoute"]
    assert len(routes) >= 6
    with KubeEmulator() as kube:
        kubeconfig = str(kube.kubeconfig(tmp_path / "kubeconfig"))
        kubectl = [str(Path(sys.executable).parent / "kubectl"), "--kubeconfig", kubeconfig]
        subprocess.run([*kubectl, "apply", "-f", str(CRD_FILE)], check=True, capture_output=True)
        result = subprocess.run(
            [*kubectl, "create", "--dry-run=server", "-f", "-"],
            input=yaml.safe_dump_all(routes),
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("created (server dry run)") == len(routes)
