"""No credential in anything the controller lets out: its debug log, its exceptions, the
`plan` table and JSON, route status and Events. The end-to-end scenarios run at debug
level with both right and wrong credentials and provider failures; everything captured is
scanned for each key whole, lower- and upper-cased, and for any ten-character piece."""

from __future__ import annotations

import json
import secrets
import subprocess

import pytest

from tests.controller.conftest import BIN, World, converged, ingress
from tests.support import eventually

pytestmark = pytest.mark.slow
PIECE = 10


def leaks(text: str, key: str) -> list[str]:
    """Every form of `key` found in `text`: whole or any PIECE-long slice, any case."""
    haystack = text.lower()
    key = key.lower()
    return sorted(
        {key[i : i + PIECE] for i in range(len(key) - PIECE + 1) if key[i : i + PIECE] in haystack}
    )


def command(world: World, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(BIN / "edgio-ingress"), *args, "--log-level", "debug"],
        env=env or world.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout + result.stderr


def test_no_credential_leaves_the_controller(world: World) -> None:
    keys = {
        "vultr": world.vultr.api_key,
        "edgio": world.edgio.shared_key_hex,
        "wrong vultr": "WRONGKEY" + secrets.token_hex(12).upper(),
        "wrong edgio": secrets.token_hex(32),
    }
    wrong = {**world.env, "VULTR_API_KEY": keys["wrong vultr"]}
    wrong_edgio = {**world.env, "EDGIO_API_SHARED_KEY": keys["wrong edgio"]}
    captured: list[str] = []

    world.seed_cluster()
    world.apply(ingress("web"), ingress("broken", paths=("/broken",), service="nowhere"))
    world.start("--log-level", "debug", "--interval", "1s")
    eventually(lambda: converged(world), timeout=40)
    world.edgio.faults.add(status=500, rate=0.5, times=20)  # retries and failures, logged
    world.vultr.faults.add(status=503, rate=0.5, times=20)
    world.apply(ingress("web", paths=("/fred", "/more")))
    eventually(lambda: "/more" in world.rules(), timeout=40)
    world.stop_all()
    captured.append(world.processes[0][1].read_text())
    captured.append(command(world, "plan"))
    captured.append(command(world, "plan", "-o", "json"))
    captured.append(command(world, "run", "--once", "--no-leader-elect", env=wrong))
    captured.append(command(world, "run", "--once", "--no-leader-elect", env=wrong_edgio))
    captured.append(command(world, "plan", env=wrong))
    captured.append(command(world, "run", "--once", "--dry-run", "--no-leader-elect", env=wrong))
    routes = world.kube.list("cdn.edgio.io/v1alpha1", "EdgioRoute")
    assert any(
        c["reason"] == "ProviderAuthFailed"
        for r in routes
        for c in (r.get("status") or {}).get("conditions") or []
    )
    captured.append(json.dumps(routes))
    captured.append(json.dumps(world.kube.list("v1", "Event")))
    captured.append(json.dumps(world.kube.list("networking.k8s.io/v1", "Ingress")))
    everything = "\n".join(captured)
    assert "ProviderAuthFailed" in everything and '"level": "debug"' in everything
    for name, key in keys.items():
        assert leaks(everything, key) == [], f"the {name} key leaks"
