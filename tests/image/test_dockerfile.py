"""The Dockerfile: hadolint reports nothing above info, and the recipe has the shape the
chart relies on (pinned slim base, numeric non-root user, the command as entrypoint)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import reconciler
from tests.support import REPO

HADOLINT = Path(sys.executable).parent / "hadolint"
DOCKERFILE = REPO / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_hadolint_reports_nothing_above_info() -> None:
    result = subprocess.run(
        [str(HADOLINT), "--failure-threshold", "info", "--format", "json", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    findings = json.loads(result.stdout or "[]")
    assert [f for f in findings if f["level"] != "info"] == [], findings
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n")
    result = subprocess.run([str(HADOLINT), str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_multi_stage_on_a_pinned_python_311_slim_base() -> None:
    steps = instructions()
    (base,) = [args for word, args in steps if word == "ARG" and args.startswith("PYTHON_IMAGE=")]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim(-\w+)?", base), base
    stages = [args for word, args in steps if word == "FROM"]
    assert len(stages) == 2 and stages[0].endswith(" AS build")
    assert all(stage.startswith("${PYTHON_IMAGE}") for stage in stages)


def test_the_final_stage_copies_only_the_virtualenv_and_runs_as_a_numeric_user() -> None:
    steps = instructions()
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM") :]
    words = [word for word, _ in final]
    assert "RUN" not in words  # nothing installed, compiled or written in the final image
    copies = [args for word, args in final if word == "COPY"]
    assert copies == ["--from=build /opt/edgio-ingress /opt/edgio-ingress"]
    (user,) = [args for word, args in final if word == "USER"]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit()
    assert ("ENTRYPOINT", '["edgio-ingress"]') in final
    assert ("CMD", '["run"]') in final
    labels = " ".join(args for word, args in final if word == "LABEL")
    for key in ("title", "description", "version", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels
    (version,) = [args for word, args in final if word == "ARG" and args.startswith("VERSION=")]
    assert version == f"VERSION={reconciler.__version__}"


def test_the_build_makes_the_product_wheel_alone() -> None:
    runs = " ".join(args for word, args in instructions() if word == "RUN")
    assert "pip wheel --no-cache-dir --no-deps --wheel-dir /wheels ." in runs
    assert "-r requirements/runtime.txt" in runs
    copied = " ".join(args for word, args in instructions() if word == "COPY")
    assert "sandbox" not in copied and "tests" not in copied
    allowed = (REPO / ".dockerignore").read_text().split()
    assert "*" in allowed and "!reconciler/" in allowed and "!sandbox/" not in allowed
