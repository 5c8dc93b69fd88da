"""`edgio-ingress derive` as a user runs it: the installed console script, real files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCRIPT = Path(sys.executable).with_name("edgio-ingress")


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def test_version_and_help() -> None:
    assert run("--version").stdout.startswith("edgio-ingress ")
    helped = run("--help")
    assert helped.returncode == 0 and "derive" in helped.stdout


def test_derives_the_seed_example() -> None:
    result = run("derive", "-f", str(EXAMPLES / "pywai-edgio-ingress-matching.yaml"))
    assert result.returncode == 0, result.stderr
    (route,) = list(yaml.safe_load_all(result.stdout))
    assert route["kind"] == "EdgioRoute"
    (rule,) = route["spec"]["rules"]
    assert rule["host"] == "exampleco.s.llnwi.net"
    assert rule["path"] == "/fred"
    assert rule["pathType"] == "Exact"
    assert rule["backend"]["service"] == {"name": "pywai-inline-service", "port": {"name": "http"}}


def test_other_kinds_and_unselected_ingresses_are_skipped_with_a_note() -> None:
    unselected = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "plain", "namespace": "web"},
        "spec": {"rules": [{"host": "a.example.com"}]},
    }
    result = run(
        "derive",
        "-f",
        str(EXAMPLES / "pywai-inline-service.yaml"),
        "-f",
        "-",
        stdin=yaml.safe_dump(unselected),
    )
    assert result.returncode == 0
    assert result.stdout == ""
    assert "skipped Service default/pywai-inline-service: not an Ingress" in result.stderr
    assert "skipped Ingress web/plain: not for Edgio" in result.stderr


def test_ingress_class_in_the_input_selects() -> None:
    documents = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": "cdn"},
            "spec": {"controller": "cdn.edgio.io/ingress-controller"},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "classy"},
            "spec": {
                "ingressClassName": "cdn",
                "rules": [
                    {
                        "host": "x.s.llnwi.net",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "s", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ],
            },
        },
    ]
    result = run("derive", "-f", "-", stdin=yaml.safe_dump_all(documents))
    assert result.returncode == 0, result.stderr
    (route,) = list(yaml.safe_load_all(result.stdout))
    assert route["spec"]["shortname"] == "x"


def test_invalid_ingress_is_named_with_its_field_and_fails() -> None:
    bad = yaml.safe_load((EXAMPLES / "pywai-edgio-ingress-matching.yaml").read_text())
    bad["metadata"]["annotations"]["cdn.edgio.io/origin-protocol"] = "gopher"
    good = yaml.safe_load((EXAMPLES / "pywai-edgio-ingress.yaml").read_text())
    result = run("derive", "-f", "-", stdin=yaml.safe_dump_all([bad, good]))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: Ingress default/pywai-inline-ingress: "
        "metadata.annotations[cdn.edgio.io/origin-protocol]: "
        "unsupported value 'gopher': use http or https"
    )
    # the valid one is still derived
    (route,) = list(yaml.safe_load_all(result.stdout))
    assert route["metadata"]["name"] == "external-pywai-inline-ingress"


def test_unreadable_input_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    missing = run("derive", "-f", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"error: {tmp_path / 'nope.yaml'}: No such file or directory"
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [unclosed\n")
    result = run("derive", "-f", str(broken))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {broken}: not valid YAML")
    assert "Traceback" not in result.stderr


def test_new_refusals_are_reported_per_field(tmp_path: Path) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {"name": "web", "namespace": "shop", "labels": {"cdn": "edgio"}},
                "spec": {
                    "rules": [
                        {
                            "host": "www.shop.com",
                            "http": {
                                "paths": [
                                    {
                                        "path": "/static/*",
                                        "pathType": "ImplementationSpecific",
                                        "backend": {
                                            "service": {"name": "web", "port": {"number": 80}}
                                        },
                                    }
                                ]
                            },
                        }
                    ]
                },
            }
        )
    )
    result = run("derive", "-f", str(manifest))
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: Ingress shop/web: spec.rules[0].http.paths[0].path: '/static/*' looks like"
    )
