"""The seed article's controller, re-implemented as faithfully as the article allows, to
measure ours against: ``python -m bench.seed_algorithm``.

The article's demo (`watch.py` and `vdns.py`) watched Ingresses labelled `cdn: edgio`
and, for each ADDED event:

1. read the addresses of the cluster's nodes (every node, Ready or not);
2. listed the DNS zone at Vultr and deleted every A record of the origin name;
3. created one A record per node;
4. created one Edgio delivery rule, for the first rule and first path of the Ingress,
   pointing at the origin name and the backend Service's NodePort.

MODIFIED and DELETED events were not acted on, nor were Node or Service changes. The
watch re-lists (and so sees every Ingress as ADDED again) whenever it is restarted,
which is the resync the benchmark triggers once per "quiet hour" by cutting the stream.

Two liberties, both in the seed's favour: it watches every namespace (the demo watched
only `default`, which would leave 49 of the 50 namespaces unserved), and it uses plain
`requests` with keep-alive, without the controller's pacing or retries. Calls are
counted by the emulators; their cost at the documented pace is computed from the counts.
`BENCH_SEED_MAX_EVENTS` stops it after that many events (larger runs are extrapolated:
every event costs the same calls).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import requests
from kubernetes import client, watch

from reconciler.cluster.config import api_client
from reconciler.providers.signing import LlnwAuth


class SeedController:
    """The article's event handler, one event at a time, in one thread."""

    def __init__(self, env: dict[str, str]):
        self.zone = env["EDGIO_INGRESS_DNS_ZONE"]
        self.origin_name = "origin"
        self.shortname = env["EDGIO_INGRESS_SHORTNAME"]
        self.vultr_url = env["VULTR_API_URL"].rstrip("/")
        self.edgio_url = env["EDGIO_API_URL"].rstrip("/")
        self.api = api_client(env["KUBECONFIG"])
        self.core: Any = client.CoreV1Api(self.api)
        self.networking: Any = client.NetworkingV1Api(self.api)
        self.vultr = requests.Session()
        self.vultr.trust_env = False
        self.vultr.headers["Authorization"] = f"Bearer {env['VULTR_API_KEY']}"
        self.edgio = requests.Session()
        self.edgio.trust_env = False
        self.edgio.auth = LlnwAuth(env["EDGIO_API_USER"], env["EDGIO_API_SHARED_KEY"])
        self.events = 0

    def run(self, max_events: int) -> None:
        """Watch, handle ADDED, and start over (a re-list) whenever the stream ends."""
        while self.events < max_events:
            stream = watch.Watch().stream(  # type: ignore[no-untyped-call]
                self.networking.list_ingress_for_all_namespaces,
                label_selector="cdn=edgio",
                timeout_seconds=3600,
            )
            try:
                for event in stream:
                    if event["type"] == "ADDED":
                        self.added(event["object"])
                        self.events += 1
                        if self.events >= max_events:
                            return
            except Exception as error:  # a cut stream: the seed's loop simply watched again
                print(json.dumps({"watch ended": f"{type(error).__name__}"}), flush=True)
                time.sleep(0.1)

    def added(self, ingress: Any) -> None:
        addresses = self.node_addresses()
        rule = ingress.spec.rules[0]
        path = rule.http.paths[0]
        backend = path.backend.service
        port = self.node_port(ingress.metadata.namespace, backend.name, backend.port)
        self.replace_origin(addresses)
        self.create_rule(rule.host, path.path, port)

    def node_addresses(self) -> list[str]:
        found = []
        for node in self.core.list_node().items:
            for address in node.status.addresses or []:
                if address.type == "ExternalIP":
                    found.append(address.address)
        return found

    def node_port(self, namespace: str, name: str, port: Any) -> int | None:
        service = self.core.read_namespaced_service(name, namespace)
        for candidate in service.spec.ports:
            if candidate.name == port.name or candidate.port == port.number:
                return int(candidate.node_port)
        return None

    def replace_origin(self, addresses: list[str]) -> None:
        """vdns.py: delete every A record of the name, then create one per node."""
        records = f"{self.vultr_url}/domains/{self.zone}/records"
        listed = self.vultr.get(records, params={"per_page": 500}, timeout=30).json()
        for record in listed.get("records", []):
            if record["type"] == "A" and record["name"] == self.origin_name:
                self.vultr.delete(f"{records}/{record['id']}", timeout=30)
        for address in addresses:
            body = {"name": self.origin_name, "type": "A", "data": address, "ttl": 60}
            self.vultr.post(records, json=body, timeout=30)

    def create_rule(self, host: str, path: str, port: int | None) -> None:
        body = {
            "serviceKey": {"name": "delivery"},
            "serviceProfileName": "LLNW-Generic",
            "publishedHostname": host,
            "publishedUrlPath": path,
            "sourceHostname": f"{self.origin_name}.{self.zone}",
            "sourceUrlPath": "/",
            "protocolSets": [
                {
                    "publishedProtocol": "https",
                    "sourceProtocol": "http",
                    "sourcePort": port,
                    "options": [],
                }
            ],
        }
        payload = json.dumps({"body": body, "accounts": [{"shortname": self.shortname}]})
        self.edgio.post(
            f"{self.edgio_url}/svcinst/delivery",
            data=payload.encode(),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )


def main() -> None:
    env = dict(os.environ)
    SeedController(env).run(int(env.get("BENCH_SEED_MAX_EVENTS", "1000000")))


if __name__ == "__main__":
    main()
