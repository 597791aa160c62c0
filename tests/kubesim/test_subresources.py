"""pods/log, pods/exec over WebSocket, metrics.k8s.io, eviction and binding."""

from __future__ import annotations

import asyncio
import json
import ssl
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import websockets
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim.fleet import Fleet
from kubesim.store import format_time

from .conftest import pod


async def _running(fleet: Fleet, core: client.CoreV1Api, name: str, containers: tuple[str, ...] = ("main",)) -> None:
    body = pod(name, labels={"app": "sub"}, node="node-1")
    body["spec"]["containers"] = [{"name": c, "image": "nginx:1.25", "env": [{"name": "MODE", "value": "test"}]}
                                  for c in containers]
    await core.create_namespaced_pod("default", body)
    started = format_time(fleet.cluster("cluster-0").state.clock.now() - timedelta(minutes=30))
    status = {"phase": "Running", "podIP": "10.244.1.7", "containerStatuses": [
        {"name": c, "ready": True, "restartCount": 0, "image": "nginx:1.25", "imageID": "", "started": True,
         "state": {"running": {"startedAt": started}}} for c in containers]}
    await core.patch_namespaced_pod_status(name, "default", {"status": status})


async def test_pod_logs_parameters(fleet: Fleet, api: client.ApiClient, raw: httpx.AsyncClient) -> None:
    core = client.CoreV1Api(api)
    await _running(fleet, core, "logger")
    everything = await core.read_namespaced_pod_log("logger", "default")
    assert len(everything.splitlines()) >= 10
    tail = await core.read_namespaced_pod_log("logger", "default", tail_lines=3)
    assert tail.splitlines() == everything.splitlines()[-3:]
    stamped = await core.read_namespaced_pod_log("logger", "default", tail_lines=2, timestamps=True)
    for line, plain in zip(stamped.splitlines(), tail.splitlines()[-2:], strict=True):
        stamp, text = line.split(" ", 1)
        assert stamp.endswith("Z") and text == plain
    recent = await core.read_namespaced_pod_log("logger", "default", since_seconds=120)
    assert len(recent.splitlines()) < len(everything.splitlines())
    limited = await core.read_namespaced_pod_log("logger", "default", limit_bytes=10)
    assert len(limited.encode()) == 10
    previous = await raw.get("/api/v1/namespaces/default/pods/logger/log", params={"previous": "true"})
    assert previous.status_code == 400 and "previous terminated container" in previous.json()["message"]
    with pytest.raises(ApiException) as wrong:
        await core.read_namespaced_pod_log("logger", "default", container="nope")
    assert wrong.value.status == 400


async def test_logs_need_a_container_name_when_there_are_several(fleet: Fleet, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    await _running(fleet, core, "twins", ("a", "b"))
    with pytest.raises(ApiException) as ambiguous:
        await core.read_namespaced_pod_log("twins", "default")
    message = json.loads(ambiguous.value.body)["message"]
    assert message == "a container name must be specified for pod twins, choose one of: [a b]"
    assert await core.read_namespaced_pod_log("twins", "default", container="b", tail_lines=1)


async def test_follow_streams_until_the_client_leaves(fleet: Fleet, api: client.ApiClient,
                                                      raw: httpx.AsyncClient) -> None:
    core = client.CoreV1Api(api)
    await _running(fleet, core, "follower")
    fleet.cluster("cluster-0").state.clock.speed = 200
    try:
        async with raw.stream("GET", "/api/v1/namespaces/default/pods/follower/log",
                              params={"follow": "true", "tailLines": "1"}) as resp:
            lines = resp.aiter_lines()
            got = [await asyncio.wait_for(anext(lines), 10) for _ in range(3)]
    finally:
        fleet.cluster("cluster-0").state.clock.speed = 1
    assert len(got) == 3 and all(got)


async def _exec(fleet: Fleet, name: str, command: list[str], protocol: str) -> tuple[bytes, bytes, dict[str, Any]]:
    cluster = fleet.cluster("cluster-0")
    query = urlencode([("command", c) for c in command] + [("stdout", "true"), ("stderr", "true")])
    url = f"ws://127.0.0.1:{fleet.ports['cluster-0']}/api/v1/namespaces/default/pods/{name}/exec?{query}"
    out, err, status = b"", b"", {}
    ssl_context: ssl.SSLContext | None = None
    async with websockets.connect(url, subprotocols=[protocol],  # type: ignore[list-item]
                                  additional_headers={"Authorization": f"Bearer {cluster.token}"},
                                  ssl=ssl_context) as ws:
        assert ws.subprotocol == protocol
        async for frame in ws:
            assert isinstance(frame, bytes)
            channel, data = frame[0], frame[1:]
            if channel == 1:
                out += data
            elif channel == 2:
                err += data
            elif channel == 3:
                status = json.loads(data)
    return out, err, status


@pytest.mark.parametrize("protocol", ["v4.channel.k8s.io", "v5.channel.k8s.io"])
async def test_exec_over_websocket(fleet: Fleet, api: client.ApiClient, protocol: str) -> None:
    core = client.CoreV1Api(api)
    name = f"shell-{protocol[:2]}"
    await _running(fleet, core, name)
    out, err, status = await _exec(fleet, name, ["echo", "hi", "there"], protocol)
    assert (out, err, status["status"]) == (b"hi there\n", b"", "Success")
    out, _, _ = await _exec(fleet, name, ["env"], protocol)
    assert b"MODE=test\n" in out and f"HOSTNAME={name}".encode() in out
    out, _, _ = await _exec(fleet, name, ["cat", "/etc/hostname"], protocol)
    assert out == f"{name}\n".encode()
    out, _, _ = await _exec(fleet, name, ["sh", "-c", "echo a && false || echo b; hostname"], protocol)
    assert out == f"a\nb\n{name}\n".encode()
    out, err, status = await _exec(fleet, name, ["ls", "/missing"], protocol)
    assert err.startswith(b"ls: cannot access '/missing'") and status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "2"}]


async def test_metrics_api(fleet: Fleet, api: client.ApiClient, raw: httpx.AsyncClient) -> None:
    core = client.CoreV1Api(api)
    await core.create_node({"metadata": {"name": "node-1"}})
    await _running(fleet, core, "measured")
    custom = client.CustomObjectsApi(api)
    metrics = await custom.get_namespaced_custom_object("metrics.k8s.io", "v1beta1", "default", "pods", "measured")
    assert metrics["kind"] == "PodMetrics" and metrics["containers"][0]["name"] == "main"
    assert metrics["containers"][0]["usage"]["cpu"].endswith("n")
    listing = (await raw.get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods")).json()
    assert listing["kind"] == "PodMetricsList" and "measured" in {i["metadata"]["name"] for i in listing["items"]}
    node = (await raw.get("/apis/metrics.k8s.io/v1beta1/nodes/node-1")).json()
    assert node["kind"] == "NodeMetrics" and set(node["usage"]) == {"cpu", "memory"}
    pending = await raw.get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope")
    assert pending.status_code == 404


async def test_binding_and_eviction(api: client.ApiClient, raw: httpx.AsyncClient) -> None:
    core = client.CoreV1Api(api)
    await core.create_namespaced_pod("default", pod("bindme"))
    bound = await raw.post("/api/v1/namespaces/default/pods/bindme/binding", json={
        "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "bindme"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "node-9"}})
    assert bound.status_code == 201
    assert (await core.read_namespaced_pod("bindme", "default")).spec.node_name == "node-9"
    again = await raw.post("/api/v1/namespaces/default/pods/bindme/binding", json={"target": {"name": "node-8"}})
    assert again.status_code == 409
    evicted = await raw.post("/api/v1/namespaces/default/pods/bindme/eviction", json={
        "apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "bindme", "namespace": "default"}})
    assert evicted.status_code == 201
    assert (await raw.get("/api/v1/namespaces/default/pods/bindme")).status_code == 404
