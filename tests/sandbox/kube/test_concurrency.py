"""Many writers and many watchers at once: every watcher sees every event, in order."""

from __future__ import annotations

import threading
from typing import Any

from kubernetes import client

from edgio_sandbox.kube import KubeEmulator

from .watching import Recorder

WRITERS, WATCHERS, OBJECTS = 4, 4, 10


def write(kube: KubeEmulator, writer: int, failures: list[BaseException]) -> None:
    """Create, update and delete a few objects: three events per object."""
    api_client = kube.api_client()
    core = client.CoreV1Api(api_client)
    try:
        for index in range(OBJECTS):
            name = f"w{writer}-{index}"
            core.create_namespaced_config_map("default", {"metadata": {"name": name}})
            core.patch_namespaced_config_map(name, "default", {"data": {"n": str(index)}})
            core.delete_namespaced_config_map(name, "default")
    except BaseException as error:
        failures.append(error)
    finally:
        api_client.close()


def test_concurrent_writers_and_watchers(
    kube: KubeEmulator, core: Any, recorders: list[Recorder]
) -> None:
    start = int(core.list_namespaced_config_map("default").metadata.resource_version)
    for _ in range(WATCHERS):
        watcher_client = client.CoreV1Api(kube.api_client())
        recorders.append(
            Recorder(
                watcher_client.list_namespaced_config_map, "default", resource_version=str(start)
            )
        )
    failures: list[BaseException] = []
    writers = [threading.Thread(target=write, args=(kube, n, failures)) for n in range(WRITERS)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=60)
    assert failures == []
    total = WRITERS * OBJECTS * 3
    expected = list(range(start + 1, start + total + 1))
    for recorder in recorders:
        events = recorder.wait_for(total, timeout=30)
        assert [int(obj["metadata"]["resourceVersion"]) for _, obj in events] == expected
        per_object: dict[str, list[str]] = {}
        for kind, obj in events:
            per_object.setdefault(obj["metadata"]["name"], []).append(kind)
        assert set(map(tuple, per_object.values())) == {("ADDED", "MODIFIED", "DELETED")}
        assert len(per_object) == WRITERS * OBJECTS
