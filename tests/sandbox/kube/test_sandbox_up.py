"""`edgio-sandbox up` as users run it: a subprocess that prints where things are."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client, config

from edgio_sandbox.realkube import KUBE_VERSION
from tests.realkube import require_binaries
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


def test_real_kube_prints_the_same_line(tmp_path: Path) -> None:
    """`--real-kube`: etcd and kube-apiserver instead of the emulator, the same JSON line,
    a kubeconfig the client and kubectl use as they are (TLS verified, admin token)."""
    require_binaries()
    kubeconfig = tmp_path / "kubeconfig"
    argv = [*COMMANDS["sandbox up"], "--real-kube", "--kubeconfig", str(kubeconfig)]
    with started(argv) as (process, info):
        assert set(info) >= {"kube", "kubeconfig"}
        assert info["kube"].startswith("https://127.0.0.1:")
        api_client = config.new_client_from_config(config_file=str(kubeconfig))
        version = client.VersionApi(api_client).get_code()
        assert version.git_version == f"v{KUBE_VERSION}"
        api_client.close()
        kubectl = [str(BIN / "kubectl"), "--kubeconfig", str(kubeconfig), "get", "ns", "-o", "name"]
        names = subprocess.run(kubectl, capture_output=True, text=True, timeout=60, check=True)
        assert "namespace/kube-system" in names.stdout.split()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_run_pods_adds_nodes_and_keeps_the_line(tmp_path: Path) -> None:
    """`--run-pods`: the same JSON line and env file, and the pod runner's Nodes Ready."""
    require_binaries()
    kubeconfig, env_file = tmp_path / "kubeconfig", tmp_path / "env"
    argv = [*COMMANDS["sandbox up"], "--real-kube", "--kubeconfig", str(kubeconfig)]
    with started([*argv, "--run-pods", "--env-file", str(env_file)]) as (process, info):
        assert set(info) == {
            "kube", "kubeconfig", "vultr", "vultr_api_key", "zone", "edgio", "edgio_user",
            "edgio_shared_key", "shortname", "env_file",
        }  # fmt: skip
        kubectl = [str(BIN / "kubectl"), "--kubeconfig", str(kubeconfig), "get", "nodes"]
        nodes = subprocess.run(kubectl, capture_output=True, text=True, timeout=60, check=True)
        assert nodes.stdout.count(" Ready ") == 2, nodes.stdout
        assert "KUBECONFIG=" in env_file.read_text()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0


def test_run_pods_without_the_real_server_is_a_settings_error() -> None:
    result = subprocess.run(
        [*COMMANDS["sandbox up"], "--run-pods"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr == "error: --run-pods needs --real-kube (the emulator runs no pods)\n"
