"""The official client's SharedInformer keeps an exact cache through drops and compaction."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.informer.informer import ERROR, SharedInformer

from edgio_sandbox.kube import KubeEmulator
from tests.support import eventually


@pytest.fixture
def informer(core: Any, kube: KubeEmulator) -> Iterator[SharedInformer]:
    cache = SharedInformer(core.list_namespaced_config_map, namespace="default")
    cache.start()
    yield cache
    # stop() joins a thread that reads a quiet watch until its next event: cut the
    # streams until the thread has seen the stop request, or it waits forever.
    stopping = threading.Thread(target=cache.stop)
    stopping.start()
    deadline = time.monotonic() + 10
    while stopping.is_alive() and time.monotonic() < deadline:
        kube.drop_streams()
        stopping.join(0.1)
    assert not stopping.is_alive(), "the informer did not stop"


def converged(informer: SharedInformer, core: Any) -> bool:
    listed = core.list_namespaced_config_map("default").items
    server = {f"default/{i.metadata.name}": i.metadata.resource_version for i in listed}
    cached = {
        f"default/{obj.metadata.name}": obj.metadata.resource_version
        for obj in informer.cache.list()
    }
    return cached == server


@pytest.mark.emulator_only("drives drops, faults and compaction through the emulator's harness")
def test_informer_follows_writes_drops_and_compaction(
    informer: SharedInformer, core: Any, kube: KubeEmulator
) -> None:
    errors: list[Any] = []
    informer.add_event_handler(ERROR, errors.append)
    core.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "b"}})
    eventually(lambda: converged(informer, core) and len(informer.cache.list()) == 2)
    kube.drop_streams()  # it resumes from its last resourceVersion
    core.delete_namespaced_config_map("a", "default")
    core.patch_namespaced_config_map("b", "default", {"data": {"k": "v"}})
    eventually(lambda: converged(informer, core) and len(informer.cache.list()) == 1)
    kube.faults.add(status=500, method="GET", path="/namespaces/default/configmaps$")
    kube.drop_streams()
    eventually(lambda: errors)  # cut off, and its reconnects fail
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    kube.compact()  # the version it will resume from is now too old
    kube.faults.clear()
    eventually(lambda: converged(informer, core) and len(informer.cache.list()) == 2)
    assert 410 in [getattr(error, "status", None) for error in errors]
