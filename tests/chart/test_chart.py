"""The Helm chart, rendered by the real helm: lint, defaults, the non-default set, the
schema, the CRD as one source of truth, the hardened pods, the CronJob and the README."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

import reconciler
import reconciler.cli
from charts import gen_values_table
from reconciler.cmd import config
from reconciler.derive import fields
from tests.chart.chart import (
    CHART,
    CUSTOM,
    FULLNAME,
    INLINE_CREDENTIALS,
    NAMESPACE,
    SECRET_ID,
    find,
    helm,
    kinds,
    notes,
    render,
)
from tests.support import CRD_FILE

DEFAULT_KINDS = [
    "ClusterRole",
    "ClusterRoleBinding",
    "CronJob",
    "CustomResourceDefinition",
    "Deployment",
    "IngressClass",
    "PodDisruptionBudget",
    "Role",
    "RoleBinding",
    "Secret",
    "Service",
    "ServiceAccount",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
]


def test_helm_lint_strict_passes() -> None:
    result = helm("lint", "--strict", str(CHART))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout


def test_app_version_is_the_package_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == reconciler.__version__
    deployment = find(render(), "Deployment")
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"edgio-ingress:{reconciler.__version__}"


def test_the_chart_crd_is_crds_edgioroute_yaml() -> None:
    """One source of truth: the chart renders the repository's file, unchanged."""
    linked = CHART / "files" / "edgioroute.yaml"
    assert linked.is_symlink() and linked.resolve() == CRD_FILE.resolve()
    rendered = find(render(), "CustomResourceDefinition")
    assert rendered == yaml.safe_load(CRD_FILE.read_text())
    # Kept on uninstall: removing the CRD would delete every EdgioRoute with it.
    assert rendered["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    without = render({"crds": {"install": False}})
    assert "CustomResourceDefinition" not in kinds(without)


def test_defaults_render_the_controller_and_its_cronjob() -> None:
    assert kinds(render()) == DEFAULT_KINDS


def test_the_admission_policy_can_be_turned_off() -> None:
    without = kinds(render({"admissionPolicy": {"enabled": False}}))
    assert without == [k for k in DEFAULT_KINDS if not k.startswith("ValidatingAdmission")]
    binding = find(render(), "ValidatingAdmissionPolicyBinding")
    assert binding["spec"]["validationActions"] == ["Warn"]  # tells, never refuses


def test_non_default_set_renders() -> None:
    objects = render(CUSTOM)
    assert kinds(objects) == sorted(
        [
            *(kind for kind in DEFAULT_KINDS if kind not in ("CronJob", "Secret")),
            "ConfigMap",
            "PrometheusRule",
            "ServiceMonitor",
            "Role",  # one per watched namespace, with its binding
            "Role",
            "RoleBinding",
            "RoleBinding",
        ]
    )
    args = container(find(objects, "Deployment"))["args"]
    for expected in (
        "--namespace=shop",
        "--namespace=blog",
        "--zone=example.com",
        "--origin-hostname=k8s-origin.example.com",
        "--shortname=exampleco",
        "--shortname=other",
        "--edge-hostname=exampleco=edge.example.net",
        "--ttl=120",
        "--credentials-secret=edgio-credentials",
    ):
        assert expected in args


def container(workload: dict[str, Any]) -> dict[str, Any]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    (only,) = spec["template"]["spec"]["containers"]
    return dict(only)


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


def test_deployment_runs_two_leader_elected_replicas_with_probes() -> None:
    deployment = find(render(), "Deployment", FULLNAME)
    assert deployment["spec"]["replicas"] == 2
    main = container(deployment)
    assert main["args"][0] == "run"
    assert "--leader-elect" in main["args"]
    assert f"--lease-name={FULLNAME}" in main["args"]
    assert f"--lease-namespace={NAMESPACE}" in main["args"]
    assert "--metrics-addr=:8080" in main["args"] and "--health-addr=:8081" in main["args"]
    ports = {port["name"]: port["containerPort"] for port in main["ports"]}
    assert ports == {"metrics": 8080, "health": 8081}
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert main["resources"]["requests"] and main["resources"]["limits"]
    (spread,) = pod_spec(deployment)["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert spread["labelSelector"]["matchLabels"] == selector


@pytest.mark.parametrize("kind", ["Deployment", "CronJob"])
def test_pods_are_hardened(kind: str) -> None:
    workload = find(render(), kind)
    pod = pod_spec(workload)["securityContext"]
    assert pod["runAsNonRoot"] is True and isinstance(pod["runAsUser"], int)
    assert pod["runAsUser"] > 0 and pod["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container(workload)["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["runAsNonRoot"] is True and context["runAsUser"] > 0
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    # The one writable place, for a read-only root filesystem.
    mounts = {mount["mountPath"] for mount in container(workload)["volumeMounts"]}
    assert mounts == {"/tmp"}


def test_cronjob_runs_one_pass_with_the_deployments_settings_and_lease() -> None:
    objects = render()
    deployment, cronjob = find(objects, "Deployment"), find(objects, "CronJob")
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    assert spec["successfulJobsHistoryLimit"] >= 0 and spec["failedJobsHistoryLimit"] >= 0
    assert pod_spec(cronjob)["restartPolicy"] == "Never"
    job_args = container(cronjob)["args"]
    assert job_args[:2] == ["run", "--once"]
    # Same settings (and so the same Lease), minus the ports a one-shot run does not open.
    daemon_args = [arg for arg in container(deployment)["args"] if "-addr=" not in arg]
    assert job_args == [daemon_args[0], "--once", *daemon_args[1:]]
    assert pod_spec(cronjob)["serviceAccountName"] == pod_spec(deployment)["serviceAccountName"]
    assert container(cronjob)["envFrom"] == container(deployment)["envFrom"]


def test_credentials_come_from_one_secret_keyed_by_environment_names() -> None:
    objects = render(INLINE_CREDENTIALS)
    secret = find(objects, "Secret")
    decoded = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert decoded == {
        "VULTR_API_KEY": SECRET_ID,
        "EDGIO_API_USER": "control-user",
        "EDGIO_API_SHARED_KEY": "0123abcd",
    }
    env_from = container(find(objects, "Deployment"))["envFrom"]
    assert env_from == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    # An existing Secret is used as is, and the chart creates none.
    existing = render(CUSTOM)
    assert "Secret" not in kinds(existing)
    env_from = container(find(existing, "Deployment"))["envFrom"]
    assert env_from == [{"secretRef": {"name": "edgio-credentials"}}]


def test_notes_tell_how_to_check_and_never_print_credentials() -> None:
    text = notes(INLINE_CREDENTIALS)
    assert "kubectl get er -A" in text and "kubectl wait --for=condition=Ready" in text
    encoded = base64.b64encode(SECRET_ID.encode()).decode()
    assert SECRET_ID not in text and encoded not in text and "0123abcd" not in text


def test_ingress_class() -> None:
    ingress_class = find(render(), "IngressClass")
    assert ingress_class["metadata"]["name"] == "edgio"
    assert ingress_class["spec"] == {"controller": "cdn.edgio.io/ingress-controller"}
    assert "annotations" not in ingress_class["metadata"]
    default = find(render({"ingressClass": {"default": True}}), "IngressClass")
    assert default["metadata"]["annotations"] == {
        "ingressclass.kubernetes.io/is-default-class": "true"
    }


def test_metrics_service_selects_the_controller_and_the_monitor_selects_the_service() -> None:
    objects = render(CUSTOM)
    service, monitor = find(objects, "Service"), find(objects, "ServiceMonitor")
    pod_labels = find(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}
    ]
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"


def test_pod_disruption_budget_covers_the_controller() -> None:
    objects = render()
    budget = find(objects, "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    selector = find(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    assert budget["spec"]["selector"]["matchLabels"] == selector


def test_dashboard_configmap_carries_the_sidecar_label() -> None:
    configmap = find(render(CUSTOM), "ConfigMap")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(configmap["data"]["edgio-ingress.json"])
    titles = {panel["title"] for panel in dashboard["panels"]}
    for needed in ("Passes", "Pass duration", "Provider calls", "Provider throttles"):
        assert needed in titles
    assert {"Routes by condition", "Drift corrected"} <= titles


def test_alerts_are_the_five_the_issue_lists() -> None:
    rule = find(render(CUSTOM), "PrometheusRule")
    (group,) = rule["spec"]["groups"]
    assert [alert["alert"] for alert in group["rules"]] == [
        "EdgioIngressNoSuccessfulPass",
        "EdgioIngressPassesFailing",
        "EdgioIngressRoutesNotReady",
        "EdgioIngressProviderThrottled",
        "EdgioIngressMassDeleteRefused",
    ]
    expressions = {alert["alert"]: alert["expr"] for alert in group["rules"]}
    assert expressions["EdgioIngressNoSuccessfulPass"].endswith("> 180")  # 3 x 60 s
    routes = next(alert for alert in group["rules"] if alert["alert"].endswith("NotReady"))
    assert routes["for"] == "15m"


METRIC = re.compile(r"\bedgio_ingress_[a-z_]+")
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def documented_metrics() -> dict[str, str]:
    """Name -> type, from the chart README's metrics table."""
    readme = (CHART / "README.md").read_text()
    rows = re.findall(r"^\| `(edgio_ingress_[a-z_]+)` \| (\w+) \|", readme, re.MULTILINE)
    return dict(rows)


def used_metrics() -> set[str]:
    objects = render(CUSTOM)
    text = json.dumps(find(objects, "ConfigMap")["data"]) + json.dumps(
        [alert["expr"] for alert in find(objects, "PrometheusRule")["spec"]["groups"][0]["rules"]]
    )
    used = set()
    for name in METRIC.findall(text):
        for suffix in HISTOGRAM_SUFFIXES:
            name = name.removesuffix(suffix)
        used.add(name)
    return used


def exported_metrics() -> dict[str, str]:
    """Name -> type of every edgio_ingress_ metric the installed command registers."""
    from prometheus_client import REGISTRY, generate_latest

    import reconciler.metrics  # noqa: F401

    text = generate_latest(REGISTRY).decode()
    return dict(re.findall(r"^# TYPE (edgio_ingress_[a-z_]+) (\w+)$", text, re.MULTILINE))


def test_dashboard_and_alerts_use_only_the_documented_metrics() -> None:
    documented = documented_metrics()
    assert len(documented) == 13
    # Every documented metric is on the dashboard or in an alert, and nothing else is.
    assert used_metrics() == documented.keys()


def test_documented_metrics_have_the_type_the_controller_exports() -> None:
    """The chart's dashboard and alerts use only what the controller really exports."""
    documented, exported = documented_metrics(), exported_metrics()
    assert exported, "no edgio_ingress_ metric registered"
    for name, kind in exported.items():
        if name in documented:
            assert documented[name] == kind, name
    assert sorted(documented.keys() - exported.keys()) == []


def test_a_bad_values_file_is_rejected_naming_the_key() -> None:
    cases = {
        "replicaCount: two\n": "replicaCount",
        "controller:\n  policy: everything\n": "policy",
        "controller:\n  intervall: 30\n": "intervall",
        "metrics:\n  serviceMonitor:\n    enabled: 'yes'\n": "enabled",
        "watchNamespaces: shop\n": "watchNamespaces",
        "controller:\n  edgeHostnames:\n    exampleco: not a name\n": "edgeHostnames",
    }
    for values, key in cases.items():
        result = helm("template", "edge", str(CHART), values=values)
        assert result.returncode != 0, values
        assert key in result.stderr, result.stderr


def controller_schema(key: str) -> dict[str, Any]:
    schema = json.loads((CHART / "values.schema.json").read_text())
    return dict(schema["properties"]["controller"]["properties"][key])


def schema_allows(key: str, value: str) -> bool:
    try:
        jsonschema.validate(value, controller_schema(key))
    except jsonschema.ValidationError:
        return False
    return True


def controller_allows_owner_id(value: str) -> bool:
    try:
        config.check_owner_id(value)
    except config.ConfigError:
        return False
    return True


OWNER_IDS = ["cluster-a", "k8s-0b7e-4c1a", "a.b_c", "x" * 63, "x" * 64, "a,b", "a=b", "a/b"]
# (no "a\n": jsonschema's Python `$` matches before a final newline, helm's Go one does not)
OWNER_IDS += ['a"b', " a", "a ", "a\tb", ""]
ORIGINS = ["origin.example.com", "o.sub.example.co", "a" * 61 + ".example.com"]
ORIGINS += ["a" * 62 + ".example.com", ".".join(["a" * 61] * 4)[:251], ".".join(["a" * 61] * 4)]
ORIGINS += ["origin", "bad_name.example.com", "origin.example.com."]


def test_owner_id_and_origin_hostname_are_refused_by_the_schema_as_by_the_controller() -> None:
    """helm install refuses what the controller would refuse at start, and nothing else:
    an owner id with a separator or a blank, an origin whose ownership name `a-<first
    label>` would not fit in 63 characters."""
    for value in OWNER_IDS:
        assert schema_allows("ownerId", value) == controller_allows_owner_id(value), value
    for value in ORIGINS:
        assert schema_allows("originHostname", value) == (fields.origin_problem(value) is None), (
            value
        )


def test_every_value_is_commented_and_the_readme_table_is_current() -> None:
    source = (CHART / "values.yaml").read_text()
    documented = gen_values_table.documented_keys(source)
    assert gen_values_table.undocumented(yaml.safe_load(source), documented) == []
    readme = (CHART / "README.md").read_text()
    assert gen_values_table.updated_readme(readme, gen_values_table.render_table(source)) == (
        readme
    ), "charts/edgio-ingress/README.md is stale: run python charts/gen_values_table.py"


def test_the_table_generator_reads_comments_and_sections() -> None:
    source = (
        "# header\n\n# -- Top.\ntop: 1\nsection:\n  # -- First line\n  # second line.\n"
        "  leaf: [a]\n  # -- A free-form map.\n  free:\n    x: 1\nbare: true\n"
    )
    documented = gen_values_table.documented_keys(source)
    assert [(entry.path, entry.text) for entry in documented] == [
        ("top", "Top."),
        ("section.leaf", "First line second line."),
        ("section.free", "A free-form map."),
    ]
    assert gen_values_table.undocumented(yaml.safe_load(source), documented) == ["bare"]
    table = gen_values_table.render_table(source)
    assert '| `section.free` | object | `{"x": 1}` | A free-form map. |' in table
