"""Watch semantics through kubernetes-asyncio's Watch and raw HTTP streams."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from kubernetes_asyncio import client, watch

from kubesim.fleet import Fleet

from .conftest import http


async def _collect(stream: Any, count: int, limit: float = 5.0) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []

    async def run() -> None:
        async for event in stream:
            obj = event["object"]
            name = obj.metadata.name if hasattr(obj, "metadata") else obj["metadata"]["name"]
            seen.append((event["type"], name))
            if len(seen) >= count:
                return

    await asyncio.wait_for(run(), limit)
    return seen


async def test_watch_synthetic_added_then_live_events(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    await core.create_namespace({"metadata": {"name": "w-live"}})
    await core.create_namespaced_config_map("w-live", {"metadata": {"name": "before"}})
    w = watch.Watch()
    stream = w.stream(core.list_namespaced_config_map, "w-live", timeout_seconds=10)

    async def writer() -> None:
        await asyncio.sleep(0.2)
        await core.create_namespaced_config_map("w-live", {"metadata": {"name": "after"}})
        await core.patch_namespaced_config_map("after", "w-live", {"data": {"k": "v"}})
        await core.delete_namespaced_config_map("before", "w-live")

    task = asyncio.create_task(writer())
    events = await _collect(stream, 4)
    await task
    w.stop()
    assert events == [("ADDED", "before"), ("ADDED", "after"), ("MODIFIED", "after"), ("DELETED", "before")]


async def test_watch_resumes_from_resource_version(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    await core.create_namespace({"metadata": {"name": "w-resume"}})
    listed = await core.list_namespaced_config_map("w-resume")
    await core.create_namespaced_config_map("w-resume", {"metadata": {"name": "one"}})
    await core.create_namespaced_config_map("w-resume", {"metadata": {"name": "two"}})
    w = watch.Watch()
    stream = w.stream(core.list_namespaced_config_map, "w-resume",
                      resource_version=listed.metadata.resource_version, timeout_seconds=5)
    assert await _collect(stream, 2) == [("ADDED", "one"), ("ADDED", "two")]
    w.stop()


async def test_too_old_resource_version_gets_410_error_event(fleet: Fleet, raw: httpx.AsyncClient) -> None:
    state = fleet.cluster("cluster-0").state
    old_rv = state.resource_version()
    state.set_history_size(3)
    try:
        for i in range(5):
            await raw.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": f"old-{i}"}})
        async with raw.stream("GET", "/api/v1/namespaces/default/configmaps",
                              params={"watch": "1", "resourceVersion": str(old_rv)}) as resp:
            lines = [json.loads(line) async for line in resp.aiter_lines() if line]
    finally:
        state.set_history_size(10_000)
    assert len(lines) == 1 and lines[0]["type"] == "ERROR"
    status = lines[0]["object"]
    assert status["code"] == 410 and status["reason"] == "Expired"
    assert status["message"].startswith(f"too old resource version: {old_rv} (")


async def test_kubernetes_asyncio_raises_410_for_expired_watch(fleet: Fleet, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    state = fleet.cluster("cluster-0").state
    old_rv = state.resource_version()
    state.set_history_size(2)
    try:
        for i in range(4):
            await core.create_namespaced_config_map("default", {"metadata": {"name": f"expire-{i}"}})
        w = watch.Watch()
        with pytest.raises(client.exceptions.ApiException) as gone:
            async for _ in w.stream(core.list_namespaced_config_map, "default", resource_version=str(old_rv),
                                    timeout_seconds=2):
                pass
    finally:
        state.set_history_size(10_000)
    assert gone.value.status == 410


async def test_bookmarks_and_timeout(fleet: Fleet, raw: httpx.AsyncClient) -> None:
    fleet.cluster("cluster-0").watches.bookmark_interval = 0.3
    started = time.monotonic()
    async with raw.stream("GET", "/api/v1/namespaces/kube-system/pods",
                          params={"watch": "true", "allowWatchBookmarks": "true", "timeoutSeconds": "1"}) as resp:
        events = [json.loads(line) async for line in resp.aiter_lines() if line]
    elapsed = time.monotonic() - started
    fleet.cluster("cluster-0").watches.bookmark_interval = 1.0
    assert 0.9 <= elapsed < 4
    assert events and all(e["type"] == "BOOKMARK" for e in events)
    assert events[0]["object"]["kind"] == "Pod" and int(events[-1]["object"]["metadata"]["resourceVersion"]) > 0


async def test_object_leaving_the_selector_is_deleted_for_the_watch(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    await core.create_namespace({"metadata": {"name": "w-sel"}})
    w = watch.Watch()
    stream = w.stream(core.list_namespaced_config_map, "w-sel", label_selector="color=blue", timeout_seconds=10)

    async def writer() -> None:
        await asyncio.sleep(0.2)
        await core.create_namespaced_config_map("w-sel", {"metadata": {"name": "m", "labels": {"color": "red"}}})
        await core.patch_namespaced_config_map("m", "w-sel", {"metadata": {"labels": {"color": "blue"}}})
        await core.patch_namespaced_config_map("m", "w-sel", {"data": {"a": "b"}})
        await core.patch_namespaced_config_map("m", "w-sel", {"metadata": {"labels": {"color": "green"}}})

    task = asyncio.create_task(writer())
    events = await _collect(stream, 3)
    await task
    w.stop()
    assert events == [("ADDED", "m"), ("MODIFIED", "m"), ("DELETED", "m")]


async def test_dropped_watches_end_and_table_watch(fleet: Fleet) -> None:
    async with http(fleet) as raw:
        headers = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
        async with raw.stream("GET", "/api/v1/namespaces", params={"watch": "1"}, headers=headers) as resp:
            lines = resp.aiter_lines()
            first = json.loads(await anext(lines))
            assert first["type"] == "ADDED" and first["object"]["kind"] == "Table"
            assert [c["name"] for c in first["object"]["columnDefinitions"]] == ["Name", "Status", "Age"]
            fleet.cluster("cluster-0").watches.drop_all()
            rest = [line async for line in lines]
    assert len(rest) < 50


async def test_watch_list_ends_initial_events_with_a_bookmark(raw: httpx.AsyncClient) -> None:
    params = {"watch": "1", "sendInitialEvents": "true", "allowWatchBookmarks": "true",
              "resourceVersionMatch": "NotOlderThan", "timeoutSeconds": "2"}
    async with raw.stream("GET", "/api/v1/namespaces", params=params) as resp:
        events = [json.loads(line) async for line in resp.aiter_lines() if line]
    added = [e for e in events if e["type"] == "ADDED"]
    marker = next(i for i, e in enumerate(events) if e["type"] == "BOOKMARK")
    assert marker == len(added) and {"default", "kube-system"} <= {e["object"]["metadata"]["name"] for e in added}
    assert events[marker]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
