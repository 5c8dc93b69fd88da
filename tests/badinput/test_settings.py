"""Bad settings, as the real command meets them: a malformed flag or environment value, a
missing or malformed credential Secret. Each is one line naming the setting, the exit code
says which kind of failure it is, and nothing is written anywhere."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.kube import KubeEmulator
from edgio_sandbox.vultr import VultrEmulator

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class SettingCase:
    id: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str | None], ...]  # None removes the variable
    code: int
    message: str


CASES = (
    SettingCase(
        "interval", ("--interval", "5x"), (), 2, "argument --interval: '5x' is not a duration"
    ),
    SettingCase(
        "max-delete-share",
        ("--max-delete-share", "150%"),
        (),
        2,
        "argument --max-delete-share: '150%' is not between 0 and 1",
    ),
    SettingCase("policy", ("--policy", "nuke"), (), 2, "argument --policy: invalid choice: 'nuke'"),
    SettingCase(
        "provider-resync",
        ("--provider-resync", "soon"),
        (),
        2,
        "argument --provider-resync: 'soon' is not a duration",
    ),
    SettingCase(
        "metrics-addr",
        ("--metrics-addr", "here"),
        (),
        2,
        "argument --metrics-addr: 'here' is not host:port",
    ),
    SettingCase("ttl", ("--ttl", "0"), (), 2, "--ttl: 0 is not between 1 and 86400 seconds"),
    SettingCase("zone", ("--zone", "bad zone"), (), 2, "--zone: 'bad zone' is not a DNS zone name"),
    SettingCase(
        "origin-hostname",
        ("--origin-hostname", "origin.example.org"),
        (),
        2,
        "--origin-hostname: 'origin.example.org' is not a name inside a managed --zone",
    ),
    SettingCase(
        "origin-hostname-too-long-for-its-ownership-name",
        ("--origin-hostname", f"{'o' * 62}.example.com"),
        (),
        2,
        f"--origin-hostname: '{'o' * 62}.example.com' is too long for its ownership record",
    ),
    *(
        SettingCase(
            f"owner-id-{name}",
            ("--owner-id", value),
            (),
            2,
            f"--owner-id: {value!r} may hold only letters, digits, '.', '_' and '-'",
        )
        for name, value in (
            ("trailing-blank", "cluster-a "),
            ("leading-blank", " cluster-a"),
            ("comma", "cluster,a"),
            ("equals", "owner=a"),
            ("slash", "cluster/a"),
            ("quote", 'cluster"a'),
            ("too-long", "x" * 64),
        )
    ),
    SettingCase(
        "edge-hostname",
        ("--edge-hostname", "exampleco"),
        (),
        2,
        "--edge-hostname: 'exampleco' is not SHORTNAME=NAME",
    ),
    SettingCase(
        "edge-hostname-env",
        (),
        (("EDGIO_INGRESS_EDGE_HOSTNAME", "exampleco=not a name"),),
        2,
        "--edge-hostname: 'exampleco=not a name' must be a fully qualified DNS name",
    ),
    SettingCase(
        "zone-env",
        (),
        (("EDGIO_INGRESS_DNS_ZONE", "exa mple.com"),),
        2,
        "--zone: 'exa mple.com' is not a DNS zone name",
    ),
    SettingCase(
        "vultr-url",
        (),
        (("VULTR_API_URL", "ftp://vultr"),),
        2,
        "VULTR_API_URL: 'ftp://vultr' is not an http(s) URL",
    ),
    SettingCase(
        "edgio-key-not-hex",
        (),
        (("EDGIO_API_SHARED_KEY", "not-hex"),),
        2,
        "EDGIO_API_SHARED_KEY: not a hexadecimal key",
    ),
    SettingCase("vultr-key-missing", (), (("VULTR_API_KEY", None),), 2, "VULTR_API_KEY is not set"),
    SettingCase(
        "edgio-user-missing", (), (("EDGIO_API_USER", None),), 2, "EDGIO_API_USER is not set"
    ),
    SettingCase(
        "vultr-key-with-space",
        (),
        (("VULTR_API_KEY", "AB CD"),),
        2,
        "VULTR_API_KEY: holds spaces or control characters",
    ),
    SettingCase(
        "secret-missing",
        ("--credentials-secret", "default/nope"),
        (),
        1,
        "--credentials-secret: cannot read Secret default/nope (HTTP 404)",
    ),
    SettingCase(
        "secret-malformed",
        ("--credentials-secret", "default/bad-credentials"),
        (("EDGIO_API_SHARED_KEY", None),),
        2,
        "EDGIO_API_SHARED_KEY: not a hexadecimal key",
    ),
)


@dataclass
class Apis:
    kube: KubeEmulator
    vultr: VultrEmulator
    edgio: EdgioEmulator
    env: dict[str, str]

    def writes(self) -> int:
        return sum(
            n
            for emulator in (self.kube, self.vultr, self.edgio)
            for (method, _), n in emulator.calls().items()
            if method in WRITES
        )


@pytest.fixture(scope="module")
def apis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apis]:
    with KubeEmulator() as kube, VultrEmulator() as vultr, EdgioEmulator() as edgio:
        kubeconfig = kube.kubeconfig(tmp_path_factory.mktemp("settings") / "kubeconfig")
        kube.seed(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "bad-credentials", "namespace": "default"},
                "data": {"EDGIO_API_SHARED_KEY": base64.b64encode(b"zz-not-hex").decode()},
            }
        )
        env = {"PATH": str(BIN), "KUBECONFIG": str(kubeconfig), **vultr.env(), **edgio.env()}
        yield Apis(kube, vultr, edgio, env)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_bad_setting_is_one_line(apis: Apis, case: SettingCase) -> None:
    env = dict(apis.env)
    for name, value in case.env:
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    before = apis.writes()
    result = subprocess.run(
        [str(BIN / "edgio-ingress"), "run", "--once", "--owner-id", "settings", *case.args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = result.stderr.strip().splitlines()
    assert (result.returncode, len(lines)) == (case.code, 1), result.stderr
    assert lines[0].startswith("error: ") and case.message in lines[0], lines[0]
    assert result.stdout == ""
    assert apis.writes() == before
