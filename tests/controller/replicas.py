"""Controller replicas a test can cut off: each talks to the Kubernetes, Vultr and Edgio
emulators through its own TCP proxies, so the test partitions one process from a server
(`cut`, `restore`) and tells which process sent which request, and when, from the
proxies' request logs. Also the log readings the leadership tests share."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from edgio_sandbox.kubeconfig import write_kubeconfig
from tests.controller.conftest import WRITES, World
from tests.support import TcpProxy


@dataclass
class Wired:
    """The proxies one replica talks through, and the environment that makes it."""

    kube: TcpProxy
    vultr: TcpProxy
    edgio: TcpProxy
    env: dict[str, str]

    def writes(self, *, leases: bool = True) -> list[tuple[float, str, str]]:
        """Every write this replica sent to any server: (time, method, path), in order."""
        sent = [w for p in (self.kube, self.vultr, self.edgio) for w in p.requests(WRITES)]
        return sorted(w for w in sent if leases or "/leases/" not in w[2])

    def lease_writes(self) -> list[float]:
        return [when for when, _, path in self.kube.requests(WRITES) if "/leases" in path]


def wired(world: World, stack: contextlib.ExitStack, name: str) -> Wired:
    """Proxies for a new replica (closed with `stack`), and its environment."""
    kube, vultr, edgio = (
        stack.enter_context(TcpProxy(url))
        for url in (world.kube.url, world.vultr.api_url, world.edgio.api_url)
    )
    kubeconfig = world.tmp / f"kubeconfig-{name}"
    write_kubeconfig(kubeconfig, "sandbox", {"server": kube.url}, "sandbox-token")
    env = {
        **world.env,
        "KUBECONFIG": str(kubeconfig),
        "VULTR_API_URL": _through(world.vultr.api_url, vultr),
        "EDGIO_API_URL": _through(world.edgio.api_url, edgio),
    }
    return Wired(kube, vultr, edgio, env)


def _through(url: str, proxy: TcpProxy) -> str:
    return urlsplit(url)._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()


def seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def logged_at(world: World, index: int, event: str) -> float | None:
    """When process `index` first logged `event` (wall clock), if it has."""
    for line in world.log_lines(index):
        if line.get("event") == event:
            return seconds(line["timestamp"])
    return None


def leading_since(world: World, index: int) -> float | None:
    return logged_at(world, index, "leading")
