"""The seed article's story, told by the real controller, one step at a time.

Each step changes the world the way a user (or a kubelet, or someone in the Edgio
portal) would, then waits, with a deadline, for what the user should see. The controller
runs with a long-ish `--interval` so every reaction to the cluster visibly comes from its
watches (each such step converges in about a second); the portal edit, which no watch
can see, is corrected by the next full listing (`--provider-resync`).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from edgio_sandbox.demo.tables import marker_of, rules_table, story, zone_table
from edgio_sandbox.demo.world import (
    ROOT,
    ROUTES,
    SHORTNAME,
    ZONE,
    Controller,
    Sandbox,
    StepMissed,
    command,
    http_get,
    wait_for,
)

HOST = "exampleco.s.llnwi.net"
ORIGIN = f"origin.{ZONE}"
PRINTED, MATCHING = "external-pywai-inline-ingress", "pywai-inline-ingress"
INTERVAL, RESYNC = 6.0, 3.0  # seconds; see the module docstring
DEADLINE = 20.0  # per step; a step that converges from a watch takes about 1 s
T = TypeVar("T")


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


class Story:
    """The narration: commands as a user types them, their output, tables, waits."""

    def __init__(self, sandbox: Sandbox, controller: Controller, kubeconfig: Path):
        self.sandbox = sandbox
        self.controller = controller
        self.kubeconfig = kubeconfig
        self.step = "setup"
        self.started = time.monotonic()

    # --- telling ----------------------------------------------------------------------

    def chapter(self, number: int, title: str) -> None:
        self.step = f"step {number} ({title})"
        self.step_started = time.monotonic()
        print(f"\n=== {number}. {title}", flush=True)

    def note(self, text: str) -> None:
        print(f"  {text}", flush=True)

    def kubectl(self, *args: str, stdin: str | None = None, show: bool = True) -> str:
        if show:
            print(f"$ kubectl {' '.join(args)}", flush=True)
        result = subprocess.run(
            [command("kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        if show:
            print(result.stdout + result.stderr, end="", flush=True)
        if result.returncode != 0:
            raise StepMissed(f"{self.step}: kubectl {' '.join(args)} exited {result.returncode}")
        return result.stdout

    def providers(self) -> None:
        print(zone_table(ZONE, self.sandbox.vultr.records(ZONE)))
        print(rules_table(SHORTNAME, self.sandbox.edgio.instances(SHORTNAME)), flush=True)

    def what_it_did(self) -> None:
        """The controller's own account of the step, from its log."""
        for line in story(self.controller.new_lines()):
            print(line)

    def wait(self, what: str, probe: Callable[[], T | None], deadline: float = DEADLINE) -> T:
        """Poll until `probe` holds; a controller that exits fails the step at once."""

        def check() -> T | None:
            if not self.controller.running():
                raise StepMissed(
                    f"{self.step}: the controller exited ({self.controller.exit_code})"
                )
            return probe()

        result = wait_for(self.step, what, check, deadline)
        self.what_it_did()
        took = time.monotonic() - self.step_started
        self.note(f"({what}: {took:.1f} s after the change)")
        return result

    # --- reading the world ------------------------------------------------------------

    def route(self, name: str) -> dict[str, Any] | None:
        return self.sandbox.kube.get(ROUTES, "EdgioRoute", name, "default")

    def ready(self, name: str) -> dict[str, Any]:
        for condition in ((self.route(name) or {}).get("status") or {}).get("conditions") or []:
            if condition["type"] == "Ready":
                return dict(condition)
        return {}

    def origin_addresses(self) -> list[str]:
        records = self.sandbox.vultr.records(ZONE)
        return sorted(r["data"] for r in records if r["name"] == "origin" and r["type"] == "A")

    def our_rules(self) -> list[dict[str, Any]]:
        return [i for i in self.sandbox.edgio.instances(SHORTNAME) if marker_of(i["body"])]

    def foreign_left_alone(self) -> bool:
        records = self.sandbox.vultr.records(ZONE)
        www = [r for r in records if r["name"] == "www" and r["data"] == "198.51.100.80"]
        legacy = [
            i
            for i in self.sandbox.edgio.instances(SHORTNAME)
            if i["body"].get("publishedUrlPath") == "/legacy/"
            and i["body"].get("sourceHostname") == "legacy.example.net"
        ]
        return bool(www) and bool(legacy)


def setting_the_scene(story: Story) -> None:
    """Nodes as kubelets register them, and objects others already own in Vultr and Edgio."""
    story.chapter(0, "A cluster of three nodes (n3 NotReady), and what others already own")
    sandbox = story.sandbox
    for name, address, ready in [
        ("n1", "203.0.113.1", True),
        ("n2", "203.0.113.2", True),
        ("n3", "203.0.113.3", False),
    ]:
        sandbox.kube.seed(node(name, address, ready))
    sandbox.vultr.seed_record(ZONE, "www", "A", "198.51.100.80")
    sandbox.edgio.seed_instance(
        SHORTNAME,
        {
            "publishedHostname": HOST,
            "publishedUrlPath": "/legacy/",
            "sourceHostname": "legacy.example.net",
            "protocolSets": [{"publishedProtocol": "http", "sourceProtocol": "http"}],
        },
    )
    story.kubectl("apply", "-f", "crds/edgioroute.yaml")
    story.kubectl(
        "apply",
        "-f",
        "examples/pywai-inline-deployment.yaml",
        "-f",
        "examples/pywai-inline-service.yaml",
    )
    story.kubectl("get", "nodes,svc")
    story.providers()


def starting_the_controller(story: Story) -> None:
    story.chapter(1, "The controller starts: edgio-ingress run, as its own process")
    controller = story.controller
    print("$ " + " ".join(Path(a).name if i == 0 else a for i, a in enumerate(controller.argv)))
    controller.start()
    story.wait(
        "/readyz answers 200 (caches synced)",
        lambda: http_get(controller.health_url + "/readyz")[0] == 200,
    )


def the_printed_ingress(story: Story) -> None:
    story.chapter(2, "The seed article's Ingress, as printed")
    story.kubectl("apply", "-f", "examples/pywai-edgio-ingress.yaml")
    condition = story.wait(
        "its EdgioRoute reports BackendNotFound",
        lambda: story.ready(PRINTED).get("reason") == "BackendNotFound" and story.ready(PRINTED),
    )
    story.kubectl("get", "er,ingress", "-A")
    story.note(f"Ready=False {condition['reason']}: {condition['message']}")
    story.kubectl(
        "get",
        "events",
        "--field-selector",
        f"involvedObject.name={PRINTED}",
        "-o",
        "custom-columns=TYPE:.type,REASON:.reason,OBJECT:.involvedObject.kind,MESSAGE:.message",
    )
    if story.our_rules() or story.origin_addresses():
        raise StepMissed(f"{story.step}: something was written to Vultr or Edgio")
    story.note("Its Service does not exist, so nothing was written to Vultr or Edgio.")


def the_matching_variant(story: Story) -> None:
    story.chapter(3, "The matching variant replaces it, and converges")
    story.kubectl("delete", "ingress", PRINTED)
    story.kubectl("apply", "-f", "examples/pywai-edgio-ingress-matching.yaml")
    story.wait("its EdgioRoute exists", lambda: story.route(MATCHING))
    story.kubectl("wait", "--for=condition=Ready", f"edgioroute/{MATCHING}", "--timeout=20s")
    story.wait("the printed Ingress's route is gone", lambda: story.route(PRINTED) is None)
    story.kubectl("get", "er,ingress", "-A")
    story.providers()
    if not story.foreign_left_alone():
        raise StepMissed(f"{story.step}: a foreign record or rule was touched")
    story.note("The www record and the /legacy/ rule are someone else's: left alone.")


def a_node_joins(story: Story) -> None:
    story.chapter(4, "A fourth node joins")
    story.kubectl("apply", "-f", "-", stdin=_yaml(node("n4", "203.0.113.4")))
    story.wait(
        "one A record added",
        lambda: story.origin_addresses() == ["203.0.113.1", "203.0.113.2", "203.0.113.4"],
    )
    story.providers()


def a_node_is_cordoned(story: Story) -> None:
    story.chapter(5, "n1 is cordoned")
    fewest = [len(story.origin_addresses())]

    def n1_gone() -> bool:
        addresses = story.origin_addresses()
        fewest[0] = min(fewest[0], len(addresses))
        return addresses == ["203.0.113.2", "203.0.113.4"]

    story.kubectl("cordon", "n1")
    story.wait("n1's A record removed", n1_gone)
    if fewest[0] < 2:
        raise StepMissed(f"{story.step}: the origin fell to {fewest[0]} addresses")
    story.note("n4's address went in before n1's went out: the origin never resolved to")
    story.note("fewer than two nodes.")
    story.providers()


def the_portal_edit(story: Story) -> None:
    story.chapter(6, "Someone edits the rule in the Edgio portal")
    rule = story.our_rules()[0]
    story.sandbox.edgio.edit_instance(rule["uuid"], sourceHostname="tampered.example.net")
    story.providers()
    story.note(f"No watch sees this; the next full listing (every {RESYNC:.0f} s here) does.")
    story.wait(
        "the rule restored",
        lambda: all(r["body"]["sourceHostname"] == ORIGIN for r in story.our_rules()),
        deadline=DEADLINE + INTERVAL,
    )
    story.providers()
    print(f"$ curl -s {story.controller.metrics_url} | grep drift_corrected_total")
    for line in story.controller.metric("edgio_ingress_drift_corrected_total"):
        print(line)


def the_ingress_is_deleted(story: Story) -> None:
    story.chapter(7, "The Ingress is deleted")
    story.kubectl("delete", "ingress", MATCHING)

    def cleaned_up() -> bool:
        records = story.sandbox.vultr.records(ZONE)
        ours = [r for r in records if r["name"] in ("origin", "a-origin")]
        return story.route(MATCHING) is None and not story.our_rules() and not ours

    story.wait("its route, rule, A records and TXT removed", cleaned_up)
    story.kubectl("get", "er,ingress", "-A")
    story.providers()
    if not story.foreign_left_alone():
        raise StepMissed(f"{story.step}: a foreign record or rule was touched")
    story.note("Everything it owned is gone; what others own is still there.")


def _yaml(obj: dict[str, Any]) -> str:
    return json.dumps(obj)  # JSON is YAML, and kubectl reads either


STEPS = (
    setting_the_scene,
    starting_the_controller,
    the_printed_ingress,
    the_matching_variant,
    a_node_joins,
    a_node_is_cordoned,
    the_portal_edit,
    the_ingress_is_deleted,
)
