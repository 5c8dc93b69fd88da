"""`edgio-ingress sandbox up` as users run it: a subprocess that prints where things are."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from kubernetes import client, config

COMMAND = Path(sys.executable).parent / "edgio-ingress"


def test_sandbox_up_serves_until_sigterm(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [str(COMMAND), "sandbox", "up", "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["kubeconfig"] == str(kubeconfig)
        assert info["kube"].startswith("http://127.0.0.1:")
        api_client = config.new_client_from_config(config_file=str(kubeconfig))
        namespaces = client.CoreV1Api(api_client).list_namespace()
        assert "default" in {item.metadata.name for item in namespaces.items}
        assert api_client.configuration.host == info["kube"]
        api_client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
