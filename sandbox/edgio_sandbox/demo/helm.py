"""`make demo ARGS=--helm`: the same story on a real control plane, with the controller
installed by `helm` and running as the chart's pods.

etcd, kube-apiserver and kube-controller-manager (`tools/kube/build.sh`) and the sandbox's
pod runner (`edgio_sandbox.pods`, as kubelet) run beside the Vultr and Edgio emulators;
the chart goes in with the real `helm install --wait`, pointed at an existing Secret made
from the env file `edgio-sandbox up --env-file` writes. Needs root (a network namespace
per pod) and the built binaries.
"""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from edgio_sandbox.demo.tables import rules_table, zone_table
from edgio_sandbox.demo.world import ROOT, SHORTNAME, ZONE, StepMissed, command, wait_for
from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.pods import PodRunner, PodRunnerError
from edgio_sandbox.realkube import RealKube, RealKubeError
from edgio_sandbox.up import write_env_file
from edgio_sandbox.vultr import VultrEmulator

NAMESPACE, RELEASE = "edgio-system", "edge"
DEPLOYMENT = f"deployment/{RELEASE}-edgio-ingress"
CRONJOB = f"cronjob/{RELEASE}-edgio-ingress-drift-correction"
SEED = ("pywai-inline-service.yaml", "pywai-inline-deployment.yaml",
        "pywai-edgio-ingress-matching.yaml")  # fmt: skip
DEADLINE = 120.0  # seconds per step: pods start, probes pass, a leader is elected


class HelmStory:
    """The narration on the real control plane: commands as typed, their output, waits."""

    def __init__(self, kubeconfig: Path, vultr: VultrEmulator, edgio: EdgioEmulator):
        self.kubeconfig = kubeconfig
        self.vultr = vultr
        self.edgio = edgio
        self.step = "setup"

    def chapter(self, number: int, title: str) -> None:
        self.step = f"step {number} ({title})"
        print(f"\n=== {number}. {title}", flush=True)

    def run(self, tool: str, *args: str) -> str:
        print(f"$ {tool} {' '.join(args)}", flush=True)
        result = subprocess.run(
            [command(tool), "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True, text=True, cwd=ROOT, timeout=DEADLINE + 60,
        )  # fmt: skip
        print(result.stdout + result.stderr, end="", flush=True)
        if result.returncode != 0:
            raise StepMissed(f"{self.step}: {tool} {' '.join(args)} exited {result.returncode}")
        return result.stdout

    def providers(self) -> None:
        print(zone_table(ZONE, self.vultr.records(ZONE)))
        print(rules_table(SHORTNAME, self.edgio.instances(SHORTNAME)), flush=True)

    def rule_ids(self) -> list[str]:
        return [instance["uuid"] for instance in self.edgio.instances(SHORTNAME)]

    def route_ready(self, name: str = "pywai-inline-ingress") -> None:
        def made() -> bool:
            found = subprocess.run(
                [command("kubectl"), "--kubeconfig", str(self.kubeconfig), "get", "er", name],
                capture_output=True, timeout=60,
            )  # fmt: skip
            return found.returncode == 0

        wait_for(self.step, f"EdgioRoute {name} made", made, DEADLINE)
        self.run("kubectl", "wait", "--for=condition=Ready", f"er/{name}", "--timeout=120s")


def steps(story: HelmStory, env_file: Path) -> None:
    story.chapter(1, "A control plane: kube-apiserver, kube-controller-manager, two nodes")
    story.run("kubectl", "get", "nodes", "-o", "wide")
    story.chapter(2, "The credentials, in a Secret of their own")
    story.run("kubectl", "create", "namespace", NAMESPACE)
    story.run("kubectl", "create", "secret", "generic", "edgio-credentials", "-n", NAMESPACE,
              f"--from-env-file={env_file}")  # fmt: skip
    story.chapter(3, "helm install, waiting for both replicas to be Ready")
    existing = "credentials.existingSecret=edgio-credentials"
    story.run("helm", "install", RELEASE, "charts/edgio-ingress", "-n", NAMESPACE, "--wait",
              "--timeout", "120s", "--set", existing)  # fmt: skip
    story.run("kubectl", "get", "pods", "-n", NAMESPACE, "-o", "wide")
    story.chapter(4, "The seed example, published by the chart's leader")
    for example in SEED:
        story.run("kubectl", "apply", "-f", f"examples/{example}")
    story.route_ready()
    story.providers()
    published = story.rule_ids()
    story.chapter(5, "A rolling restart: the rule stays, the same one")
    story.run("kubectl", "rollout", "restart", DEPLOYMENT, "-n", NAMESPACE)
    story.run("kubectl", "rollout", "status", DEPLOYMENT, "-n", NAMESPACE, "--timeout=180s")
    if story.rule_ids() != published:
        raise StepMissed(f"{story.step}: the rules changed: {story.rule_ids()} != {published}")
    story.chapter(6, "The drift-correction CronJob, run now, beside the leader")
    story.run("kubectl", "create", "job", "--from", CRONJOB, "drift-now", "-n", NAMESPACE)
    story.run("kubectl", "wait", "--for=condition=Complete", "job/drift-now", "-n", NAMESPACE,
              "--timeout=120s")  # fmt: skip
    story.chapter(7, "Deleting the Ingress: the garbage collector and the controller clean up")
    story.run("kubectl", "delete", "ingress", "pywai-inline-ingress")
    wait_for(story.step, "the rule removed", lambda: not story.rule_ids(), DEADLINE)
    story.providers()
    story.chapter(8, "helm uninstall: the CRD stays, the controller goes")
    story.run("helm", "uninstall", RELEASE, "-n", NAMESPACE, "--wait")
    story.run("kubectl", "get", "crd", "edgioroutes.cdn.edgio.io")


def main_helm(workdir: Path) -> int:
    """The story on the real control plane; 0 when every step did what it says, else 1."""
    try:
        return _tell(workdir)
    except (RealKubeError, PodRunnerError) as error:  # no binaries, not root: say which
        print(f"demo cannot start: {error}", file=sys.stderr)
        return 1


def _tell(workdir: Path) -> int:
    began = time.monotonic()
    with ExitStack() as stack:
        kube = stack.enter_context(RealKube())
        vultr = stack.enter_context(VultrEmulator(zones=(ZONE,)))
        edgio = stack.enter_context(EdgioEmulator(shortnames=(SHORTNAME,)))
        stack.enter_context(PodRunner(kube, forward=[vultr.port, edgio.port]))
        env_file = workdir / "credentials.env"
        write_env_file(env_file, {**vultr.env(), **edgio.env()})
        story = HelmStory(kube.kubeconfig(workdir / "kubeconfig"), vultr, edgio)
        try:
            steps(story, env_file)
        except StepMissed as missed:
            print(f"\ndemo failed at {missed}", flush=True)
            return 1
    print(f"\n=== Done: every step did what it says, in {time.monotonic() - began:.1f} s.")
    return 0
