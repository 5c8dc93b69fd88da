"""Watch semantics, through `kubernetes.watch.Watch` as a controller uses it."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import requests
from kubernetes import client, watch
from kubernetes.client import ApiException

from edgio_sandbox.kube import KubeEmulator
from tests.support import eventually

from .watching import Recorder


def cm(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}}


def test_watch_without_version_lists_then_follows(core: Any, recorders: list[Recorder]) -> None:
    core.create_namespaced_config_map("default", cm("before"))
    recorder = Recorder(core.list_namespaced_config_map, "default")
    recorders.append(recorder)
    recorder.wait_for(1)
    core.create_namespaced_config_map("default", cm("after"))
    core.patch_namespaced_config_map("after", "default", {"data": {"k": "v"}})
    core.delete_namespaced_config_map("before", "default")
    recorder.wait_for(4)
    assert recorder.summary() == [
        ("ADDED", "before"),
        ("ADDED", "after"),
        ("MODIFIED", "after"),
        ("DELETED", "before"),
    ]


def test_watch_from_version_gets_exactly_later_events(core: Any, recorders: list[Recorder]) -> None:
    core.create_namespaced_config_map("default", cm("old"))
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", cm("new"))
    recorder = Recorder(core.list_namespaced_config_map, "default", resource_version=start)
    recorders.append(recorder)
    recorder.wait_for(1)
    core.delete_namespaced_config_map("new", "default")
    recorder.wait_for(2)
    assert recorder.summary() == [("ADDED", "new"), ("DELETED", "new")]


def test_event_versions_increase_and_deleted_carries_deletion_version(
    core: Any, recorders: list[Recorder]
) -> None:
    start = core.list_namespaced_config_map("default").metadata.resource_version
    recorder = Recorder(core.list_namespaced_config_map, "default", resource_version=start)
    recorders.append(recorder)
    created = core.create_namespaced_config_map("default", cm("a"))
    core.patch_namespaced_config_map("a", "default", {"data": {"x": "1"}})
    core.delete_namespaced_config_map("a", "default")
    events = recorder.wait_for(3)
    versions = [int(obj["metadata"]["resourceVersion"]) for _, obj in events]
    assert versions == sorted(set(versions))
    assert versions[0] == int(created.metadata.resource_version)
    latest = core.list_namespaced_config_map("default").metadata.resource_version
    assert versions[-1] == int(latest)


def test_selector_transitions(core: Any, recorders: list[Recorder]) -> None:
    recorder = Recorder(core.list_namespaced_config_map, "default", label_selector="team=a")
    recorders.append(recorder)
    core.create_namespaced_config_map("default", cm("x", team="b"))
    core.patch_namespaced_config_map("x", "default", {"metadata": {"labels": {"team": "a"}}})
    core.patch_namespaced_config_map("x", "default", {"data": {"k": "v"}})
    moved = core.patch_namespaced_config_map(
        "x", "default", {"metadata": {"labels": {"team": "c"}}}
    )
    events = recorder.wait_for(3)
    assert [kind for kind, _ in events] == ["ADDED", "MODIFIED", "DELETED"]
    gone = events[2][1]
    assert gone["metadata"]["labels"] == {"team": "a"}  # the object as it was when it matched
    assert gone["metadata"]["resourceVersion"] == moved.metadata.resource_version


def test_timeout_seconds_ends_the_stream(core: Any) -> None:
    events = list(watch.Watch().stream(core.list_namespace, timeout_seconds=1))
    assert sorted(e["object"].metadata.name for e in events) == [
        "default",
        "kube-node-lease",
        "kube-public",
        "kube-system",
    ]


@pytest.mark.emulator_only("forces compaction via the harness; a real server compacts on a timer")
def test_expired_version_raises_410(core: Any, kube: KubeEmulator) -> None:
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", cm("a"))
    kube.compact()
    stream = watch.Watch().stream(
        core.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=5
    )
    with pytest.raises(ApiException) as caught:
        next(iter(stream))
    assert caught.value.status == 410


@pytest.mark.emulator_only("forces compaction via the harness; a real server compacts on a timer")
def test_expired_version_raises_410_after_the_clients_silent_retry(
    core: Any, kube: KubeEmulator
) -> None:
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", cm("a"))
    kube.compact()
    kube.reset_calls()
    stream = watch.Watch().stream(
        core.list_namespaced_config_map, "default", resource_version=start
    )
    with pytest.raises(ApiException) as caught:
        next(iter(stream))
    assert caught.value.status == 410
    assert kube.calls()[("GET", "/api/v1/namespaces/default/configmaps")] == 2


def test_bookmarks_carry_the_current_version() -> None:
    with KubeEmulator(bookmark_interval=0.1) as fast:
        fast_core = client.CoreV1Api(fast.api_client())
        start = fast_core.list_namespaced_config_map("default").metadata.resource_version
        stream = watch.Watch().stream(
            fast_core.list_namespaced_config_map,
            "default",
            resource_version=start,
            allow_watch_bookmarks=True,
            timeout_seconds=2,
        )
        first = next(iter(stream))
        assert first["type"] == "BOOKMARK"
        assert first["raw_object"]["metadata"]["resourceVersion"] == start


def test_single_object_watch(core: Any, recorders: list[Recorder], kube: KubeEmulator) -> None:
    core.create_namespaced_config_map("default", cm("mine"))
    core.create_namespaced_config_map("default", cm("other"))
    answer = requests.get(
        kube.url + "/api/v1/watch/namespaces/default/configmaps/mine?timeoutSeconds=1",
        timeout=10,
    )
    events = [json.loads(line) for line in answer.text.splitlines() if line]
    assert [event["object"]["metadata"]["name"] for event in events] == ["mine"]
    # On the object's own path, ?watch=true is ignored: the answer is the object.
    plain = requests.get(
        kube.url + "/api/v1/namespaces/default/configmaps/mine?watch=true", timeout=5
    )
    assert plain.json()["metadata"]["name"] == "mine"


@pytest.mark.emulator_only("tests the harness's drop_streams()")
def test_drop_streams_cuts_open_watches(core: Any, kube: KubeEmulator) -> None:
    recorder = Recorder(core.list_namespaced_config_map, "default", timeout_seconds=30)
    core.create_namespaced_config_map("default", cm("a"))
    recorder.wait_for(1)  # the stream is open and delivering
    kube.drop_streams()
    assert recorder.finished.wait(10)


def watch_lines(kube: KubeEmulator, query: str, **headers: str) -> list[dict[str, Any]]:
    url = kube.url + "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&" + query
    answer = requests.get(url, headers=headers, timeout=10)
    return [json.loads(line) for line in answer.text.splitlines() if line]


def test_send_initial_events_needs_resource_version_match(kube: KubeEmulator) -> None:
    url = kube.url + "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true"
    answer = requests.get(url, timeout=10)
    assert (answer.status_code, answer.json()["message"]) == (
        422,
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
    )


def test_send_initial_events_ends_with_a_marked_bookmark(core: Any, kube: KubeEmulator) -> None:
    created = core.create_namespaced_config_map("default", cm("a"))
    version = created.metadata.resource_version
    events = watch_lines(
        kube,
        f"resourceVersion={version}&sendInitialEvents=true&allowWatchBookmarks=true"
        "&resourceVersionMatch=NotOlderThan",
    )
    assert [event["type"] for event in events] == ["ADDED", "BOOKMARK"]
    marker = events[1]["object"]["metadata"]
    assert marker["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert marker["resourceVersion"] == version


def test_watch_as_table_for_kubectl(core: Any, kube: KubeEmulator) -> None:
    core.create_namespaced_config_map("default", cm("a"))
    events = watch_lines(kube, "", Accept="application/json;as=Table;v=v1;g=meta.k8s.io")
    assert events[0]["object"]["kind"] == "Table"
    assert events[0]["object"]["rows"][0]["cells"][0] == "a"


def handler_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if "process_request" in thread.name}


@pytest.mark.emulator_only("observes the emulator's own handler threads")
def test_watch_ends_when_its_client_hangs_up(kube: KubeEmulator) -> None:
    before = handler_threads()
    url = kube.url + "/api/v1/namespaces/default/configmaps?watch=true"
    with requests.get(url, stream=True, timeout=10) as answer:
        assert answer.status_code == 200
        ours = eventually(lambda: handler_threads() - before)
    eventually(lambda: not any(thread.is_alive() for thread in ours))


@pytest.mark.emulator_only(
    "a real server's versions skip (its own writes) and it waits ~3 s, then 504"
)
def test_watch_from_a_future_version_waits_for_it(core: Any, recorders: list[Recorder]) -> None:
    now = int(core.list_namespaced_config_map("default").metadata.resource_version)
    recorder = Recorder(core.list_namespaced_config_map, "default", resource_version=str(now + 2))
    recorders.append(recorder)
    for name in ("skipped-1", "skipped-2", "seen"):
        core.create_namespaced_config_map("default", cm(name))
    recorder.wait_for(1)
    assert recorder.summary() == [("ADDED", "seen")]
