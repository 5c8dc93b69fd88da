"""`edgio-sandbox up` as users run it: a subprocess that prints where things are."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.sandbox.process import started

BIN = Path(sys.executable).parent
COMMANDS = {
    "sandbox up": [str(BIN / "edgio-sandbox"), "up"],
    "python -m": [sys.executable, "-m", "edgio_sandbox.kube", "--port", "0"],
}


@pytest.mark.parametrize(
    ("command", "stop"),
    [("sandbox up", signal.SIGTERM), ("sandbox up", signal.SIGINT), ("python -m", signal.SIGTERM)],
)
def test_serves_until_signalled(tmp_path: Path, command: str, stop: signal.Signals) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    with started([*COMMANDS[command], "--kubeconfig", str(kubeconfig)]) as (process, info):
        assert info["kubeconfig"] == str(kubeconfig)
        assert info["kube"].startswith("http://127.0.0.1:")
        api_client = config.new_client_from_config(config_file=str(kubeconfig))
        assert api_client.configuration.host == info["kube"]
        namespaces = client.CoreV1Api(api_client).list_namespace()
        assert "default" in {item.metadata.name for item in namespaces.items}
        api_client.close()
        process.send_signal(stop)
        assert process.wait(timeout=10) == 0


def test_default_kubeconfig_is_temporary() -> None:
    with started(COMMANDS["sandbox up"]) as (process, info):
        assert Path(info["kubeconfig"]).is_file()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert not Path(info["kubeconfig"]).exists()
