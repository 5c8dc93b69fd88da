"""`make demo`: the seed example, end to end, on the built-in sandbox.

Three emulators (Kubernetes, Vultr DNS, Edgio) run in this process. The real `kubectl`
applies the CRD and the seed manifests, `edgio-ingress derive` turns the Ingresses into
EdgioRoutes, and each pass is the controller's own `run_once`: it reads the cluster
through the official `kubernetes` client, plans against what Vultr and Edgio hold,
applies the plan with our clients, and writes the routes' status, Events and
finalizers. Then the demo makes drift (a portal edit, a node going away) and shows the
next pass correcting it, and a last pass planning nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.kube import KubeEmulator
from edgio_sandbox.vultr import VultrEmulator
from reconciler.cache import ProviderCache
from reconciler.cluster.kube import KubeCluster
from reconciler.derive.desired import Settings
from reconciler.model import CdnRule, Plan
from reconciler.providers.edgio import EdgioCdn
from reconciler.providers.vultr import VultrDns
from reconciler.sync import PassSettings, run_once

ROOT = Path(__file__).resolve().parents[2]
ZONE = "example.com"
SHORTNAME = "exampleco"
SETTINGS = Settings(
    owner_id="sandbox-cluster",
    zones=(ZONE,),
    default_shortname=SHORTNAME,
    default_origin_hostname=f"origin.{ZONE}",
)


def say(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def node(name: str, address: str, ready: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "addresses": [
                {"type": "ExternalIP", "address": address},
                {"type": "InternalIP", "address": address.replace("203.0.113", "10.0.0")},
            ],
        },
    }


class Demo:
    def __init__(self, kube: KubeEmulator, vultr: VultrEmulator, edgio: EdgioEmulator):
        self.kube = kube
        self.vultr = vultr
        self.edgio = edgio
        self.kubeconfig = Path(tempfile.mkdtemp(prefix="edgio-demo-")) / "kubeconfig"
        kube.kubeconfig(self.kubeconfig)
        self.api = kube.api_client()
        self.dns = VultrDns(vultr.api_key, base_url=vultr.api_url)
        self.cdn = EdgioCdn(edgio.principal, edgio.shared_key_hex, base_url=edgio.api_url, rate=20)
        self.cluster = KubeCluster(self.api)
        self.cache = ProviderCache(self.dns, self.cdn)
        self.settings = PassSettings(SETTINGS, (SHORTNAME,))

    def run(self, *argv: str, stdin: str | None = None) -> str:
        print(f"$ {' '.join(argv)}", flush=True)
        command = [shutil.which(argv[0]) or argv[0], *argv[1:]]
        if argv[0] == "kubectl":
            command[1:1] = ["--kubeconfig", str(self.kubeconfig)]
        result = subprocess.run(
            command, input=stdin, capture_output=True, text=True, check=False, cwd=ROOT
        )
        print(result.stdout + result.stderr, end="", flush=True)
        if result.returncode != 0 and argv[0] == "kubectl":
            raise SystemExit(f"demo failed: {' '.join(argv)} exited {result.returncode}")
        return result.stdout

    def one_pass(self) -> Plan:
        """One pass of the controller's own `run_once`, over the cluster caches, listing
        every zone and account in full (as `run --once` does)."""
        self.cluster.list_once()
        result = run_once(self.cluster, self.cache, self.settings, full=True)
        for outcome in result.outcomes:
            print(
                f"  route {outcome.key}: origin {outcome.origin_hostname} -> "
                f"{', '.join(outcome.addresses) or '(none)'}"
            )
            for error in outcome.errors:
                print(f"    problem: {error}")
            for rule in outcome.rules:
                port = f" -> NodePort {rule.node_port}" if rule.node_port else ""
                print(
                    f"    {rule.host}{rule.path}: {rule.state.value}{port} {rule.message}".rstrip()
                )
        print("  plan:" if result.plan.changes else "  plan: nothing to do")
        for change in result.plan.changes:
            print(f"    {change.action.value:6} {describe(change.subject)}")
        for skipped in result.plan.skipped:
            print(f"    skip   {describe(skipped.subject)}: {skipped.reason}: {skipped.message}")
        for change, failure in result.report.failed:
            print(f"    FAILED {describe(change.subject)}: {failure}")
        return result.plan

    def show_providers(self) -> None:
        print("  Vultr zone example.com:")
        for record in self.dns.list_records(ZONE):
            print(f"    {record.fqdn:28} {record.type:4} {record.ttl:5} {record.data}")
        print(f"  Edgio account {SHORTNAME}:")
        for rule in self.cdn.list_rules(SHORTNAME):
            print(f"    {describe(rule)}  [{rule.state}, version {rule.version}]")


def describe(subject: object) -> str:
    if isinstance(subject, CdnRule):
        owner = subject.owner.owner if subject.owner else "someone else"
        return (
            f"rule {subject.published_protocol}://{subject.published_host}{subject.published_path}"
            f" -> {subject.source_host}:{subject.source_port or 'default port'} (owner: {owner})"
        )
    return f"record {getattr(subject, 'fqdn', '')} {getattr(subject, 'type', '')} " + str(
        getattr(subject, "data", "")
    )


def main() -> int:
    with ExitStack() as stack:
        kube = stack.enter_context(KubeEmulator())
        vultr = stack.enter_context(VultrEmulator(zones=(ZONE,)))
        edgio = stack.enter_context(EdgioEmulator(shortnames=(SHORTNAME,)))
        demo = Demo(kube, vultr, edgio)
        script(demo)
    return 0


def script(demo: Demo) -> None:
    say("A cluster with three nodes (n3 NotReady), and what others already own")
    for name, address, ready in [
        ("n1", "203.0.113.1", True),
        ("n2", "203.0.113.2", True),
        ("n3", "203.0.113.3", False),
    ]:
        demo.kube.seed(node(name, address, ready))
    demo.vultr.seed_record(ZONE, "www", "A", "198.51.100.80")
    demo.edgio.seed_instance(
        SHORTNAME,
        {
            "publishedHostname": "exampleco.s.llnwi.net",
            "publishedUrlPath": "/legacy/",
            "sourceHostname": "legacy.example.net",
            "protocolSets": [{"publishedProtocol": "http", "sourceProtocol": "http"}],
        },
    )
    demo.run("kubectl", "apply", "-f", "crds/edgioroute.yaml")
    demo.run(
        "kubectl",
        "apply",
        "-f",
        "examples/pywai-inline-deployment.yaml",
        "-f",
        "examples/pywai-inline-service.yaml",
        "-f",
        "examples/pywai-edgio-ingress.yaml",
    )
    demo.run("kubectl", "get", "nodes,svc,ingress", "-A")

    say("The seed article's Ingress, as printed: derived, applied, and reported")
    printed = demo.run("edgio-ingress", "derive", "-f", "examples/pywai-edgio-ingress.yaml")
    demo.run("kubectl", "apply", "-f", "-", stdin=printed)
    demo.one_pass()
    print("  (its Service does not exist: nothing was written to Vultr or Edgio)")

    say("The matching variant replaces it")
    demo.run(
        "kubectl", "delete", "ingress,edgioroute", "external-pywai-inline-ingress", "--wait=false"
    )
    demo.run("kubectl", "apply", "-f", "examples/pywai-edgio-ingress-matching.yaml")
    matching = demo.run(
        "edgio-ingress", "derive", "-f", "examples/pywai-edgio-ingress-matching.yaml"
    )
    demo.run("kubectl", "apply", "-f", "-", stdin=matching)
    demo.run("kubectl", "get", "edgioroutes", "-A")

    say("Pass: the origin records and the rule are created, others' objects left alone")
    demo.one_pass()
    demo.show_providers()

    say("Drift: a portal edit of our rule, n1 cordoned, n3 Ready again")
    ours = next(r for r in demo.cdn.list_rules(SHORTNAME) if r.owner is not None)
    assert ours.id is not None
    demo.edgio.edit_instance(ours.id, sourceHostname="tampered.example.net")
    demo.run("kubectl", "patch", "node", "n1", "-p", '{"spec":{"unschedulable":true}}')
    demo.run(
        "kubectl",
        "patch",
        "node",
        "n3",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}',
    )

    say("Pass: corrected (the new address is added before the old one goes)")
    demo.one_pass()
    demo.show_providers()

    say("Pass: converged")
    if demo.one_pass().changes:
        raise SystemExit("demo failed: the last pass still had changes")


if __name__ == "__main__":
    sys.exit(main())
