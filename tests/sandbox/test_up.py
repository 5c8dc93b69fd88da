"""`edgio-sandbox up` with all three emulators: what a new user does with it."""

from __future__ import annotations

import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import vultr_python_client
from vultr_python_client.apis.tags.dns_api import DnsApi

from reconciler.model import CdnRule, OwnerMarker
from reconciler.providers.edgio import EdgioCdn
from tests.sandbox.process import started

COMMAND = Path(sys.executable).parent / "edgio-sandbox"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[dict[str, Any]]:
    argv = [str(COMMAND), "up", "--env-file", str(tmp_path / "sandbox.env")]
    with started(argv) as (process, info):
        yield info
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_first_line_names_every_emulator(sandbox: dict[str, Any]) -> None:
    assert sandbox["vultr"].endswith("/v2")
    assert sandbox["edgio"].endswith("/config-api/v1")
    assert sandbox["zone"] == "example.com"
    assert sandbox["shortname"] == "exampleco"
    assert {"kube", "kubeconfig", "vultr_api_key", "edgio_user", "edgio_shared_key"} <= set(sandbox)


def test_official_vultr_client_manages_records(sandbox: dict[str, Any]) -> None:
    configuration = vultr_python_client.Configuration(host=sandbox["vultr"])
    configuration.access_token = sandbox["vultr_api_key"]
    with vultr_python_client.ApiClient(configuration) as api_client:
        api = DnsApi(api_client)
        zone = {"dns-domain": sandbox["zone"]}
        created = api.create_dns_domain_record(
            path_params=zone,
            body={"name": "nodes", "type": "A", "data": "203.0.113.7", "ttl": 120},
            timeout=5,
        )
        record_id = str(created.body["record"]["id"])
        listed = api.list_dns_domain_records(path_params=zone, query_params={}, timeout=5)
        assert [str(r["data"]) for r in listed.body["records"]] == ["203.0.113.7"]
        api.delete_dns_domain_record(path_params={**zone, "record-id": record_id}, timeout=5)


def test_our_edgio_client_manages_rules(sandbox: dict[str, Any]) -> None:
    cdn = EdgioCdn(
        sandbox["edgio_user"], sandbox["edgio_shared_key"], base_url=sandbox["edgio"], rate=50
    )
    rule = CdnRule(
        shortname=sandbox["shortname"],
        published_host="exampleco.s.llnwi.net",
        published_path="/fred",
        source_host="origin.example.com",
        source_port=30080,
        owner=OwnerMarker("sandbox", "edgioroute/default/web"),
    )
    created = cdn.create_rule(rule)
    assert cdn.list_rules(sandbox["shortname"]) == [rule]
    cdn.delete_rule(created)
    assert cdn.list_rules(sandbox["shortname"]) == []


def test_env_file_holds_the_controller_settings_privately(
    sandbox: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "sandbox.env"
    assert sandbox["env_file"] == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in path.read_text().splitlines())
    assert values == {
        "KUBECONFIG": sandbox["kubeconfig"],
        "VULTR_API_URL": sandbox["vultr"],
        "VULTR_API_KEY": sandbox["vultr_api_key"],
        "EDGIO_API_URL": sandbox["edgio"],
        "EDGIO_API_USER": sandbox["edgio_user"],
        "EDGIO_API_SHARED_KEY": sandbox["edgio_shared_key"],
        "EDGIO_INGRESS_DNS_ZONE": sandbox["zone"],
        "EDGIO_INGRESS_SHORTNAME": sandbox["shortname"],
    }


def test_a_taken_port_is_a_message_not_a_traceback() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(COMMAND), "up", "--vultr-port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: cannot start the sandbox: Address already in use"
    assert result.stdout == ""
