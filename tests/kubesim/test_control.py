"""The control API: counters, injected latency and errors, unreachable clusters, dropped watches."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim.fleet import Fleet

from .conftest import http


@pytest_asyncio.fixture(loop_scope="session")
async def control(fleet: Fleet) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{fleet.control_port}") as opened:
        await opened.post("/clusters/cluster-0/reset")
        yield opened
        await opened.post("/clusters/cluster-0/reset")


async def test_counters_by_verb_and_resource(control: httpx.AsyncClient, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    await core.list_namespace()
    await core.list_namespace()
    await core.read_namespace("default")
    await client.AppsV1Api(api).list_deployment_for_all_namespaces()
    stats = (await control.get("/clusters/cluster-0/stats")).json()
    assert stats["counters"] == {"list namespaces": 2, "get namespaces": 1, "list deployments.apps": 1}
    assert stats["statuses"] == {"200": 4} and stats["meanLatencySeconds"] > 0
    assert (await control.get("/clusters")).json()["clusters"][0]["name"] == "cluster-0"


async def test_injected_errors_carry_retry_after(control: httpx.AsyncClient, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    for code, reason in ((503, "ServiceUnavailable"), (429, "TooManyRequests"), (500, "InternalError")):
        await control.post("/clusters/cluster-0/faults", json={"errorCode": code, "errorRate": 1.0, "retryAfter": 3})
        with pytest.raises(ApiException) as failed:
            await core.list_namespace()
        assert failed.value.status == code and json.loads(failed.value.body)["reason"] == reason
        if code != 500:
            assert failed.value.headers["Retry-After"] == "3"
    await control.post("/clusters/cluster-0/faults", json={"errorCode": None})
    assert (await core.list_namespace()).items


async def test_latency_and_impersonation(control: httpx.AsyncClient, fleet: Fleet) -> None:
    await control.post("/clusters/cluster-0/faults", json={"latency": 0.3})
    async with http(fleet) as raw:
        started = time.monotonic()
        response = await raw.get("/api/v1/namespaces/default",
                                 headers={"Impersonate-User": "jane", "Impersonate-Group": "devs"})
        assert response.status_code == 200 and time.monotonic() - started >= 0.3
    stats = (await control.get("/clusters/cluster-0/stats")).json()
    assert stats["impersonations"] == [{"user": "jane", "groups": ["devs"], "method": "GET",
                                        "path": "/api/v1/namespaces/default"}]


async def test_unreachable_cluster_refuses_connections(control: httpx.AsyncClient, fleet: Fleet) -> None:
    await control.post("/clusters/cluster-0/faults", json={"unreachable": True})
    async with http(fleet) as raw:
        with pytest.raises(httpx.ConnectError):
            await raw.get("/api/v1/namespaces")
    await control.post("/clusters/cluster-0/faults", json={"unreachable": False})
    async with http(fleet) as raw:
        assert (await raw.get("/api/v1/namespaces")).status_code == 200


async def test_drop_watches(control: httpx.AsyncClient, fleet: Fleet) -> None:
    async with http(fleet) as raw, raw.stream("GET", "/api/v1/namespaces", params={"watch": "1"}) as resp:
        lines = resp.aiter_lines()
        assert json.loads(await anext(lines))["type"] == "ADDED"
        await control.post("/clusters/cluster-0/drop-watches")
        remaining = await asyncio.wait_for(_drain(lines), 5)
    assert all(json.loads(line)["type"] == "ADDED" for line in remaining if line)


async def _drain(lines: AsyncIterator[str]) -> list[str]:
    return [line async for line in lines]
