"""Ending a session, an API token or a user's access ends their live streams at once, on every
replica, through a sign-out on the bus (not at the streams' next recheck, set here to 10 min)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from app.db.session import Database
from app.seed import ensure_provider_admin
from app.services import Services
from app.settings import load_settings
from app.web import create_app
from tests.conftest import require_redis
from tests.support.api import PASSWORD, Api, TenantUsers, make_tenant
from tests.support.databases import fresh_database
from tests.support.server import serving

SECRET = "sign-out-test-secret-key-0123456789abcdef"
ROOT = ("root@sign-outs.test", "sign-out-admin-pass-1")
NOTIFICATIONS = "subscription { notifications { id } }"
ENDS_WITHIN = 15.0  # far below the 600 s recheck: only the sign-out can end the stream this soon


@asynccontextmanager
async def replicas(database_url: str, broadcast_url: str, count: int) -> AsyncIterator[list[str]]:
    async with AsyncExitStack() as stack:
        urls = []
        for _ in range(count):
            settings = load_settings(database_url=database_url, broadcast_url=broadcast_url, secret_key=SECRET,
                                     subscription_recheck_seconds=600, cluster_health_seconds=0,
                                     operation_workers=0)  # fmt: skip
            services = Services.from_settings(settings)
            stack.push_async_callback(services.db.dispose)
            urls.append(await stack.enter_async_context(serving(create_app(settings, services))))
        yield urls


async def subscribe(url: str, token: str) -> Any:
    socket = await websockets.connect(url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": NOTIFICATIONS}}))
    return socket


async def ended_with(socket: Any) -> str:
    """The code the stream ended with; fails if it is still open after ENDS_WITHIN seconds."""
    message = json.loads(await asyncio.wait_for(socket.recv(), timeout=ENDS_WITHIN))
    await socket.close()
    errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
    assert errors, message
    return str(errors[0]["extensions"]["code"])


async def still_open(socket: Any, api: Api, token: str) -> None:
    """The stream answers: a ping gets its pong, and its caller still reads."""
    await socket.send(json.dumps({"type": "ping"}))
    assert json.loads(await asyncio.wait_for(socket.recv(), timeout=ENDS_WITHIN))["type"] == "pong"
    assert (await api.ok("{ me { id } }", token=token))["me"]


@pytest.fixture
async def database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sign-outs.db'}"
    await fresh_database(url)
    db = Database(url)
    await ensure_provider_admin(db, *ROOT)
    await db.dispose()
    return url


@asynccontextmanager
async def tenant_on(url: str) -> AsyncIterator[tuple[Api, TenantUsers]]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        api = Api(http)
        root = (await api.login(*ROOT))["accessToken"]
        yield api, await make_tenant(api, root, roles=("viewer",))


async def test_logout_ends_the_sessions_streams_at_once(database: str) -> None:
    async with replicas(database, "memory://", 1) as [url], tenant_on(url) as (api, tenant):
        mine = await api.login(tenant.emails["viewer"], PASSWORD)
        other = await api.login(tenant.emails["viewer"], PASSWORD)
        ending, staying = await subscribe(url, mine["accessToken"]), await subscribe(url, other["accessToken"])
        await api.ok("mutation { logout { ok } }", token=mine["accessToken"])
        assert await ended_with(ending) == "UNAUTHENTICATED"
        await still_open(staying, api, other["accessToken"])  # another session of the same user stays
        await staying.close()


async def test_revoking_an_api_token_and_suspending_a_user_end_their_streams(database: str) -> None:
    async with replicas(database, "memory://", 1) as [url], tenant_on(url) as (api, tenant):
        created = await api.ok('mutation { createApiToken(name:"live") { value token { id } } }',
                               token=tenant.tokens["viewer"])  # fmt: skip
        by_token = await subscribe(url, created["createApiToken"]["value"])
        await api.ok("mutation($i:ID!){ revokeApiToken(id:$i){ ok } }",
                     {"i": created["createApiToken"]["token"]["id"]}, tenant.tokens["viewer"])  # fmt: skip
        assert await ended_with(by_token) == "UNAUTHENTICATED"
        by_session = await subscribe(url, tenant.tokens["viewer"])
        await api.ok("mutation($t:ID!,$u:ID!){ suspendUser(tenantId:$t, id:$u){ id } }",
                     {"t": tenant.id, "u": tenant.user_ids["viewer"]}, tenant.tokens["tenant_admin"])  # fmt: skip
        assert await ended_with(by_session) == "UNAUTHENTICATED"


@pytest.mark.redis
async def test_a_logout_on_one_replica_ends_the_stream_on_another(database: str) -> None:
    redis = require_redis()
    async with replicas(database, redis, 2) as [first, second], tenant_on(first) as (api, tenant):
        signed_in = await api.login(tenant.emails["viewer"], PASSWORD)
        socket = await subscribe(second, signed_in["accessToken"])
        await api.ok("mutation { logout { ok } }", token=signed_in["accessToken"])  # on the first replica
        assert await ended_with(socket) == "UNAUTHENTICATED"
