"""Kubilitics' `/ws/resources` over a raw websocket: its message format, its credentials, tenancy."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest_asyncio
import websockets
from websockets.asyncio.client import ClientConnection

from app.legacy_ws import legacy_message
from kubesim.fleet import Fleet, start_fleet
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.clusters import register_cluster, scale_deployment

Message = dict[str, Any]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def kube() -> AsyncIterator[Fleet]:
    async with start_fleet(1, profile="small", seed=33, control=True) as fleet:
        yield fleet


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cluster(api: Api, provider_token: str, kube: Fleet) -> tuple[TenantUsers, str]:
    tenant = await make_tenant(api, provider_token, roles=("viewer",))
    return tenant, await register_cluster(api, tenant, kube, "legacy")


def ws_url(base_url: str, **params: str) -> str:
    return base_url.replace("http://", "ws://") + "/ws/resources?" + urlencode(params)


async def connect(base_url: str, headers: dict[str, str] | None = None, **params: str) -> ClientConnection:
    return await websockets.connect(ws_url(base_url, **params), additional_headers=headers or {})


async def until(socket: ClientConnection, wanted: Callable[[Message], bool], within: float) -> Message:
    """The first message that matches, within `within` seconds."""
    async with asyncio.timeout(within):
        while True:
            message: Message = json.loads(await socket.recv())
            if wanted(message):
                return message


async def closing(socket: ClientConnection) -> tuple[list[Message], int | None]:
    """Every frame until the server closes, and the close code."""
    frames: list[Message] = []
    async with asyncio.timeout(5):
        try:
            while True:
                frames.append(json.loads(await socket.recv()))
        except websockets.ConnectionClosed:
            pass
    return frames, socket.close_code


def named(kind: str, name: str, type_: str = "RESOURCE_ADDED") -> Callable[[Message], bool]:
    return lambda m: m["type"] == type_ and m["resource"]["kind"] == kind and m["resource"]["name"] == name


async def kube_call(kube: Fleet, method: str, path: str, **kwargs: Any) -> httpx.Response:
    cluster = kube.cluster("cluster-0")
    async with httpx.AsyncClient(
        base_url=kube.server_url("cluster-0"), headers={"Authorization": f"Bearer {cluster.token}"}
    ) as http:
        response = await http.request(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response


async def test_scaling_a_deployment_arrives_as_resource_updated(
    base_url: str, cluster: tuple[TenantUsers, str], kube: Fleet
) -> None:
    tenant, cluster_id = cluster
    socket = await connect(base_url, token=tenant.tokens["viewer"], cluster_id=cluster_id, namespace="shop")
    try:
        added = await until(socket, named("Deployment", "web"), within=10)
        assert added["cluster_id"] == cluster_id and added["resource"]["namespace"] == "shop"
        assert set(added) == {"type", "cluster_id", "resource", "timestamp"}
        assert set(added["resource"]) == {"kind", "namespace", "name", "data"}
        replicas = added["resource"]["data"]["spec"]["replicas"]
        await scale_deployment(kube, "web", replicas + 1)
        updated = await until(socket, named("Deployment", "web", "RESOURCE_UPDATED"), within=2)
        assert updated["resource"]["data"]["spec"]["replicas"] == replicas + 1
        assert updated["timestamp"].endswith("Z")
    finally:
        await socket.close()
    await scale_deployment(kube, "web", replicas)


async def test_deleting_a_pod_arrives_as_resource_deleted_and_namespace_filters(
    base_url: str, cluster: tuple[TenantUsers, str], kube: Fleet
) -> None:
    tenant, cluster_id = cluster
    socket = await connect(
        base_url, {"Authorization": f"Bearer {tenant.tokens['viewer']}"}, cluster_id=cluster_id, namespace="shop"
    )
    try:
        pod = await until(socket, lambda m: m["resource"]["kind"] == "Pod", within=10)
        name = pod["resource"]["name"]
        await kube_call(kube, "DELETE", f"/api/v1/namespaces/shop/pods/{name}")
        seen: list[Message] = []

        def deleted(message: Message) -> bool:
            seen.append(message)
            return named("Pod", name, "RESOURCE_DELETED")(message)

        gone = await until(socket, deleted, within=2)
        assert gone["cluster_id"] == cluster_id
        assert all(m["resource"]["namespace"] == "shop" for m in seen), "another namespace leaked in"
    finally:
        await socket.close()


async def test_a_bad_or_missing_token_is_closed_with_4401(base_url: str, cluster: tuple[TenantUsers, str]) -> None:
    _, cluster_id = cluster
    for socket in (
        await connect(base_url, token="not-a-token", cluster_id=cluster_id),
        await connect(base_url, {"X-API-Key": "fgt_not-a-key"}, cluster_id=cluster_id),
        await connect(base_url, cluster_id=cluster_id),
    ):
        frames, code = await closing(socket)
        assert code == 4401
        assert len(frames) == 1 and frames[0]["error"], frames


async def test_another_tenants_cluster_is_refused(
    base_url: str, cluster: tuple[TenantUsers, str], tenant_b: TenantUsers, kube: Fleet
) -> None:
    _, cluster_id = cluster
    socket = await connect(base_url, token=tenant_b.tokens["tenant_admin"], cluster_id=cluster_id)
    frames, code = await closing(socket)
    assert code == 4404
    assert len(frames) == 1 and "error" in frames[0] and "type" not in frames[0], frames


async def test_an_api_key_works_in_the_header_and_the_query(
    base_url: str, api: Api, cluster: tuple[TenantUsers, str]
) -> None:
    tenant, cluster_id = cluster
    created = await api.ok('mutation { createApiToken(name:"legacy-ws") { value } }', token=tenant.tokens["viewer"])
    key = created["createApiToken"]["value"]
    for socket in (
        await connect(base_url, {"X-API-Key": key}, cluster_id=cluster_id, namespace="shop", kind="deployments"),
        await connect(base_url, api_key=key, cluster_id=cluster_id, namespace="shop", kind="Deployment"),
    ):
        try:
            added = await until(socket, named("Deployment", "api"), within=10)
            assert added["cluster_id"] == cluster_id
        finally:
            await socket.close()


async def test_bad_parameters_are_refused_with_4400(base_url: str, cluster: tuple[TenantUsers, str]) -> None:
    tenant, cluster_id = cluster
    socket = await connect(base_url, token=tenant.tokens["viewer"], cluster_id=cluster_id, kind="NoSuchKind")
    frames, code = await closing(socket)
    assert code == 4400 and "NoSuchKind" in frames[0]["error"], frames


async def test_a_revoked_session_closes_the_stream_with_4401(
    base_url: str, api: Api, cluster: tuple[TenantUsers, str]
) -> None:
    tenant, cluster_id = cluster
    signed_in = await api.login(tenant.emails["viewer"], "correct-horse-battery-9")
    token = signed_in["accessToken"]
    socket = await connect(base_url, token=token, cluster_id=cluster_id, namespace="shop", kind="Deployment")
    await until(socket, named("Deployment", "web"), within=10)
    await api.ok("mutation { logout { ok } }", token=token)
    frames, code = await closing(socket)
    assert code == 4401
    assert frames and "sign in" in frames[-1]["error"], frames


async def test_provider_staff_must_name_a_cluster(base_url: str, provider_token: str) -> None:
    socket = await connect(base_url, token=provider_token)
    frames, code = await closing(socket)
    assert code == 4400 and frames[0]["error"], frames


def test_a_resync_keeps_the_message_shape() -> None:
    message = legacy_message({"type": "RESYNC", "clusterId": "c1", "kind": "Pod"})
    assert message["timestamp"].endswith("Z")
    assert {**message, "timestamp": None} == {
        "type": "RESYNC",
        "cluster_id": "c1",
        "resource": {"kind": "Pod", "namespace": None, "name": None, "data": None},
        "timestamp": None,
    }
