"""Dry runs write nothing; policies hold; settings errors are one line and exit 2."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.controller.conftest import BIN, ORIGIN, World, converged, ingress
from tests.support import eventually

pytestmark = pytest.mark.slow


def test_dry_run_and_plan_write_nothing(world: World) -> None:
    world.seed_cluster()
    world.apply(ingress())
    world.start("--dry-run", "--interval", "0.5s")
    world.wait_passes(2)
    assert world.rules() == {} and world.a_records() == []
    assert world.route() is None  # not even the derived route
    result = subprocess.run(
        [str(BIN / "edgio-ingress"), "plan"], env=world.env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ACTION", "PROVIDER", "OBJECT", "BEFORE", "AFTER", "WHY"]
    assert any(line.startswith("create  edgio") and "/fred" in line for line in lines)
    assert any(f"A {ORIGIN}" in line for line in lines)
    as_json = subprocess.run(
        [str(BIN / "edgio-ingress"), "plan", "-o", "json"],
        env=world.env,
        capture_output=True,
        text=True,
    )
    document = json.loads(as_json.stdout)
    assert {c["action"] for c in document["changes"]} == {"create"}
    assert document["routes"]["default/web"]["reason"] == "OriginNotReady"
    assert world.rules() == {} and world.a_records() == [] and world.route() is None


def test_plan_says_why_it_skips_a_foreign_rule(world: World) -> None:
    world.seed_cluster()
    world.edgio.seed_instance(
        "exampleco",
        {
            "publishedHostname": "exampleco.s.llnwi.net",
            "publishedUrlPath": "/fred",
            "sourceHostname": "legacy.example.net",
            "protocolSets": [{"publishedProtocol": "http", "sourceProtocol": "http"}],
        },
    )
    world.apply(ingress())
    result = subprocess.run(
        [str(BIN / "edgio-ingress"), "plan"], env=world.env, capture_output=True, text=True
    )
    skip = next(line for line in result.stdout.splitlines() if line.startswith("skip"))
    assert "ForeignRule" in skip and "/fred" in skip


def test_upsert_only_never_deletes(world: World) -> None:
    world.seed_cluster(nodes=3)
    world.apply(ingress(paths=("/fred", "/wilma")))
    world.start("--interval", "60s", "--policy", "upsert-only")
    eventually(lambda: converged(world), timeout=20)
    world.kubectl("cordon", "n1")
    world.apply(ingress(paths=("/fred",)))
    world.kube.seed(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "n4"},
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "ExternalIP", "address": "203.0.113.4"}],
            },
        }
    )
    eventually(lambda: "203.0.113.4" in world.a_records())
    world.wait_passes(1)
    assert sorted(world.rules()) == ["/fred", "/wilma"]
    assert "203.0.113.1" in world.a_records()
    world.kubectl("delete", "ingress", "web")
    eventually(lambda: world.route() is None)  # the finalizer does not wait for a delete
    assert sorted(world.rules()) == ["/fred", "/wilma"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"VULTR_API_KEY": ""}, "error: VULTR_API_KEY is not set"),
        ({"EDGIO_API_SHARED_KEY": "not-hex"}, "error: EDGIO_API_SHARED_KEY: not a hexadecimal key"),
        ({"EDGIO_INGRESS_DNS_ZONE": ""}, "error: --zone is not set"),
        ({"EDGIO_API_URL": "ftp://x"}, "error: EDGIO_API_URL: 'ftp://x' is not an http(s) URL"),
    ],
)
def test_a_missing_or_malformed_setting_is_one_line_and_exit_2(
    world: World, change: dict[str, str], message: str
) -> None:
    result = world.once(env={**world.env, **change})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(message)


def test_a_bad_flag_value_exits_2(world: World) -> None:
    result = world.once("--interval", "soon")
    assert result.returncode == 2 and "--interval" in result.stderr


@pytest.mark.emulator_only("stops the API server, which the real tier shares between tests")
def test_an_unreachable_cluster_exits_1(world: World) -> None:
    world.kube.stop()
    result = world.once()
    assert result.returncode == 1
    assert result.stderr.startswith("error:")
