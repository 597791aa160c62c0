"""Subscriptions over real websockets: gql over graphql-transport-ws, and raw protocol checks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest_asyncio
import websockets
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from app.realtime.bus import RealtimeBus, status_channel
from kubesim.fleet import Fleet, start_fleet
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.clusters import register_cluster, scale_deployment
from tests.support.waiting import eventually

EVENTS = """subscription($c:ID, $n:String, $i:Boolean!){
  resourceEvents(clusterId:$c, kind:"Deployment", namespace:$n, includeInitial:$i){
    type clusterId kind namespace name resourceVersion object timestamp } }"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def kube() -> AsyncIterator[Fleet]:
    async with start_fleet(1, profile="small", seed=21, control=True) as fleet:
        yield fleet


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cluster(api: Api, provider_token: str, kube: Fleet) -> tuple[TenantUsers, str]:
    tenant = await make_tenant(api, provider_token, roles=("viewer",))
    return tenant, await register_cluster(api, tenant, kube, "live")


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/graphql"


async def test_initial_list_then_live_changes_over_gql(
    base_url: str, cluster: tuple[TenantUsers, str], kube: Fleet
) -> None:
    tenant, cluster_id = cluster
    transport = WebsocketsTransport(
        url=ws_url(base_url), init_payload={"Authorization": f"Bearer {tenant.tokens['viewer']}"}
    )
    async with Client(transport=transport) as session:
        stream = session.subscribe(gql(EVENTS), variable_values={"c": cluster_id, "n": "shop", "i": True})
        initial: list[dict[str, Any]] = []
        async for result in stream:
            event = result["resourceEvents"]
            initial.append(event)
            if {e["name"] for e in initial} >= {"web", "api"}:
                break
        assert all(e["type"] == "ADDED" and e["namespace"] == "shop" for e in initial)
        assert len({e["name"] for e in initial}) == len(initial), "no duplicate in the initial list"
        replicas = next(e for e in initial if e["name"] == "web")["object"]["spec"]["replicas"]
        await scale_deployment(kube, "web", replicas + 1)
        live = await asyncio.wait_for(_next_named(stream, "web"), timeout=2)
        assert live["type"] == "MODIFIED" and live["object"]["spec"]["replicas"] == replicas + 1
        assert int(live["resourceVersion"]) > int(next(e for e in initial if e["name"] == "web")["resourceVersion"])
    await scale_deployment(kube, "web", replicas)


async def _next_named(stream: Any, name: str) -> dict[str, Any]:
    async for result in stream:
        if result["resourceEvents"]["name"] == name:
            return dict(result["resourceEvents"])
    raise AssertionError("stream ended")


async def _raw(base_url: str, init: dict[str, Any] | None) -> Any:
    socket = await websockets.connect(ws_url(base_url), subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    if init is not None:
        await socket.send(json.dumps({"type": "connection_init", "payload": init}))
    return socket


async def test_bad_token_is_refused_with_4401_and_how_to_sign_in(base_url: str) -> None:
    socket = await _raw(base_url, {"Authorization": "Bearer not-a-token"})
    await socket.wait_closed()
    assert socket.close_code == 4401
    assert "connection_init" in socket.close_reason and "Authorization" in socket.close_reason


async def test_no_token_is_refused_with_4401_and_subscribe_before_init_is_4401(base_url: str) -> None:
    socket = await _raw(base_url, {})
    await socket.wait_closed()
    assert socket.close_code == 4401
    assert "connection_init" in socket.close_reason and "Authorization" in socket.close_reason
    early = await _raw(base_url, None)
    await early.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}}))
    await early.wait_closed()
    assert early.close_code == 4401


async def _subscribe(base_url: str, token: str, variables: dict[str, Any]) -> Any:
    socket = await _raw(base_url, {"Authorization": f"Bearer {token}"})
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    await socket.send(
        json.dumps({"id": "s1", "type": "subscribe", "payload": {"query": EVENTS, "variables": variables}})
    )
    return socket


async def test_another_tenant_cannot_subscribe_to_the_cluster(
    base_url: str, cluster: tuple[TenantUsers, str], tenant_b: TenantUsers
) -> None:
    _, cluster_id = cluster
    socket = await _subscribe(base_url, tenant_b.tokens["tenant_admin"], {"c": cluster_id, "n": None, "i": True})
    message = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
    await socket.close()
    errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
    assert errors and errors[0].get("extensions", {}).get("code") == "NOT_FOUND", message


async def test_fleet_wide_stream_never_carries_another_tenants_events(
    base_url: str, cluster: tuple[TenantUsers, str], tenant_b: TenantUsers, kube: Fleet
) -> None:
    socket = await _subscribe(base_url, tenant_b.tokens["tenant_admin"], {"c": None, "n": None, "i": True})
    await scale_deployment(kube, "api", 3)
    await scale_deployment(kube, "api", 2)
    received = []
    try:
        while True:
            received.append(json.loads(await asyncio.wait_for(socket.recv(), timeout=1.5)))
    except TimeoutError:
        pass
    await socket.close()
    assert received == [], received


async def test_a_revoked_session_ends_the_subscription(
    base_url: str, api: Api, cluster: tuple[TenantUsers, str]
) -> None:
    tenant, cluster_id = cluster
    signed_in = await api.login(tenant.emails["viewer"], "correct-horse-battery-9")
    socket = await _subscribe(base_url, signed_in["accessToken"], {"c": cluster_id, "n": "shop", "i": False})
    await api.ok("mutation { logout { ok } }", token=signed_in["accessToken"])
    message = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
    await socket.close()
    errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
    assert errors and errors[0]["extensions"]["code"] == "UNAUTHENTICATED", message


async def test_legacy_graphql_ws_protocol_streams_too(
    base_url: str, cluster: tuple[TenantUsers, str], kube: Fleet
) -> None:
    tenant, cluster_id = cluster
    socket = await websockets.connect(ws_url(base_url), subprotocols=["graphql-ws"])  # type: ignore[list-item]
    await socket.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {tenant.tokens['viewer']}"}})
    )
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    await socket.send(
        json.dumps(
            {
                "id": "g1",
                "type": "start",
                "payload": {"query": EVENTS, "variables": {"c": cluster_id, "n": "shop", "i": True}},
            }
        )
    )
    try:
        listed = await _legacy_event(socket, lambda e: e["name"] == "api")  # the stream is live from here
        assert listed["type"] == "ADDED"
        await scale_deployment(kube, "api", 4)
        scaled = await _legacy_event(socket, lambda e: e["name"] == "api" and e["object"]["spec"]["replicas"] == 4)
    finally:
        await scale_deployment(kube, "api", 2)
        await socket.close()
    assert scaled["type"] == "MODIFIED" and int(scaled["resourceVersion"]) > int(listed["resourceVersion"])


async def _legacy_event(socket: Any, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The next resource event sent over graphql-ws that ``wanted`` accepts."""
    async with asyncio.timeout(5):
        while True:
            message = json.loads(await socket.recv())
            assert message.get("type") in ("data", "ka"), message
            if message["type"] == "data" and wanted(event := message["payload"]["data"]["resourceEvents"]):
                return dict(event)


async def test_an_expired_token_ends_the_subscription(
    base_url: str, api: Api, services: Any, cluster: tuple[TenantUsers, str]
) -> None:
    from datetime import timedelta

    from app.auth.tokens import AccessClaims

    tenant, cluster_id = cluster
    signed_in = await api.login(tenant.emails["viewer"], "correct-horse-battery-9")
    claims: AccessClaims = services.tokens.decode_access(signed_in["accessToken"])
    short, _ = services.tokens.issue_access(
        claims.user_id, claims.tenant_id, claims.session_id, lifetime=timedelta(seconds=2)
    )
    socket = await _subscribe(base_url, short, {"c": cluster_id, "n": "shop", "i": False})
    message = json.loads(await asyncio.wait_for(socket.recv(), timeout=6))
    await socket.close()
    errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
    assert errors and errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "expired" in errors[0]["message"]


async def test_cluster_status_transitions_are_streamed(
    base_url: str, services: Any, cluster: tuple[TenantUsers, str], kube: Fleet
) -> None:
    tenant, cluster_id = cluster
    socket = await _raw(base_url, {"Authorization": f"Bearer {tenant.tokens['viewer']}"})
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    query = "subscription($t:ID!){ clusterStatus(tenantId:$t){ clusterId oldStatus status error } }"
    channel, listening = status_channel(tenant.id), services.bus.listening(status_channel(tenant.id))
    await socket.send(
        json.dumps({"id": "st", "type": "subscribe", "payload": {"query": query, "variables": {"t": tenant.id}}})
    )
    await eventually(_more_than(services.bus, channel, listening), what="the status stream listening")
    await kube.set_reachable("cluster-0", False)
    try:
        await services.health.check_all()
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
    finally:
        await kube.set_reachable("cluster-0", True)
        for _ in range(40):
            if [c for c in await services.health.check_all() if c.cluster_id == cluster_id]:
                break
            await asyncio.sleep(0.25)
    await socket.close()
    await eventually(_at_most(services.bus, channel, listening), what="the status stream ended")
    event = message["payload"]["data"]["clusterStatus"]
    assert (event["clusterId"], event["oldStatus"], event["status"]) == (cluster_id, "connected", "disconnected")


def _more_than(bus: RealtimeBus, channel: str, count: int) -> Callable[[], Awaitable[bool]]:
    async def more() -> bool:
        return bus.listening(channel) > count

    return more


def _at_most(bus: RealtimeBus, channel: str, count: int) -> Callable[[], Awaitable[bool]]:
    async def gone() -> bool:
        return bus.listening(channel) <= count

    return gone


async def test_streams_per_tenant_are_capped(base_url: str, services: Any, cluster: tuple[TenantUsers, str]) -> None:
    tenant, cluster_id = cluster
    services.stream_counts[tenant.id] += services.settings.max_subscriptions_per_tenant
    try:
        socket = await _subscribe(base_url, tenant.tokens["viewer"], {"c": cluster_id, "n": None, "i": False})
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
        await socket.close()
    finally:
        services.stream_counts[tenant.id] -= services.settings.max_subscriptions_per_tenant
    errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
    assert errors and errors[0]["extensions"]["code"] == "RATE_LIMITED"
