"""`systemHealth(tenantId)` over real HTTP, on both databases: each check follows what it checks
(a stopped bus, a cluster made unreachable until its circuit opens, operations queued with no
runner), and only the tenant's members and the provider read it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import delete

from app.db.models import Operation
from app.db.types import utcnow
from app.ids import new_id
from app.seed import ensure_provider_admin
from app.services import Services
from app.settings import load_settings
from app.web import create_app
from kubesim.fleet import Fleet, start_fleet
from tests.api.conftest import PROVIDER_EMAIL, PROVIDER_PASSWORD, SECRET
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.clusters import register_cluster
from tests.support.server import serving

HEALTH = """query($t:ID!){ systemHealth(tenantId:$t){ status checkedAt details {
  database { status latencyMs error } bus { status backend latencyMs error }
  operations { status workers activeRunners queued running oldestQueuedSeconds error }
  clusters { clusterId name status connection circuit lastError }
  ruleEvaluation { status lagSeconds message } } } }"""
SUMMARY = "query($i:ID!){ cluster(id:$i){ summary { pods } } }"


async def health(api: Api, tenant_id: str, token: str) -> dict[str, Any]:
    return dict((await api.ok(HEALTH, {"t": tenant_id}, token))["systemHealth"])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def kube(database_url: str) -> AsyncIterator[Fleet]:
    async with start_fleet(1, profile="small", seed=5, control=True) as fleet:
        yield fleet


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tenant(api: Api, provider_token: str) -> TenantUsers:
    """A tenant of the shared app of this module's own: its clusters and operations are these tests'."""
    return await make_tenant(api, provider_token, roles=("viewer",))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def own(database_url: str) -> AsyncIterator[tuple[Api, Services]]:
    """An app of this module's own: a circuit that stays open once opened, two runner workers."""
    settings = load_settings(
        database_url=database_url, secret_key=SECRET, cluster_health_seconds=0, k8s_breaker_threshold=2,
        k8s_breaker_reset_seconds=600, k8s_timeout_seconds=2, operation_workers=2, rest_rate_limits=False,
    )  # fmt: skip
    services = Services.from_settings(settings)
    await ensure_provider_admin(services.db, PROVIDER_EMAIL, PROVIDER_PASSWORD)
    async with serving(create_app(settings, services)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield Api(http), services


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def own_tenant(own: tuple[Api, Services]) -> TenantUsers:
    api = own[0]
    provider = str((await api.login(PROVIDER_EMAIL, PROVIDER_PASSWORD))["accessToken"])
    return await make_tenant(api, provider, roles=("viewer",))


async def test_a_healthy_tenant(
    api: Api, tenant: TenantUsers, tenant_b: TenantUsers, provider_token: str, kube: Fleet
) -> None:
    cluster_id = await register_cluster(api, tenant, kube, "health-0")
    await api.ok(SUMMARY, {"i": cluster_id}, tenant.tokens["viewer"])  # this process now calls the cluster
    seen = await health(api, tenant.id, tenant.tokens["viewer"])
    details = seen["details"]
    assert seen["status"] == "ok", details
    assert details["database"]["status"] == "ok" and details["database"]["latencyMs"] >= 0
    assert details["bus"] | {"latencyMs": 0} == {"status": "ok", "backend": "memory", "latencyMs": 0, "error": None}
    assert details["operations"] == {
        "status": "ok", "workers": 0, "activeRunners": 0, "queued": 0, "running": 0, "oldestQueuedSeconds": None,
        "error": None,
    }  # fmt: skip
    mine = [c for c in details["clusters"] if c["clusterId"] == cluster_id]
    assert mine == [
        {"clusterId": cluster_id, "name": "health-0", "status": "ok", "connection": "connected",
         "circuit": "closed", "lastError": None}
    ]  # fmt: skip
    assert details["ruleEvaluation"]["status"] == "not_configured" and details["ruleEvaluation"]["lagSeconds"] is None
    assert (await health(api, tenant.id, provider_token))["details"]["clusters"] == details["clusters"]
    assert await api.code(HEALTH, {"t": tenant.id}, tenant_b.tokens["tenant_admin"]) == "NOT_FOUND"
    assert await api.code(HEALTH, {"t": "ten_missing"}, provider_token) == "NOT_FOUND"


async def test_queued_operations_with_no_runner(api: Api, tenant: TenantUsers, services: Services) -> None:
    """The shared app runs no workers: a queued operation with no live claim anywhere is down;
    with another runner's live claim it is only waiting, degraded once it has waited too long."""
    queued = Operation(
        id=new_id("operation"), tenant_id=tenant.id, type="upgrade", status="queued", provider="simulated",
        params={}, state={}, phases=[], created_at=utcnow() - timedelta(minutes=5),
    )  # fmt: skip
    elsewhere = Operation(
        id=new_id("operation"), tenant_id=tenant.id, type="upgrade", status="running", provider="simulated",
        params={}, state={}, phases=[], claimed_by="other-host:1:abc", lease_expires_at=utcnow() + timedelta(hours=1),
    )  # fmt: skip
    token = tenant.tokens["viewer"]
    try:
        async with services.db.transaction() as session:
            session.add(queued)
        seen = await health(api, tenant.id, token)
        runners = seen["details"]["operations"]
        assert seen["status"] == "down" and runners["status"] == "down"
        assert (runners["queued"], runners["workers"], runners["activeRunners"]) == (1, 0, 0)
        assert runners["oldestQueuedSeconds"] >= 299 and "no runner" in runners["error"]
        async with services.db.transaction() as session:
            session.add(elsewhere)
        runners = (await health(api, tenant.id, token))["details"]["operations"]
        assert (runners["status"], runners["activeRunners"], runners["running"]) == ("degraded", 1, 1)
    finally:
        async with services.db.transaction() as session:
            await session.execute(delete(Operation).where(Operation.id.in_((queued.id, elsewhere.id))))
    assert (await health(api, tenant.id, token))["details"]["operations"]["status"] == "ok"


async def test_runner_workers_are_counted(own: tuple[Api, Services], own_tenant: TenantUsers) -> None:
    runners = (await health(own[0], own_tenant.id, own_tenant.tokens["viewer"]))["details"]["operations"]
    assert (runners["status"], runners["workers"]) == ("ok", 2)


async def test_a_stopped_bus_is_down(own: tuple[Api, Services], own_tenant: TenantUsers) -> None:
    api, services = own
    await services.bus.disconnect()
    try:
        seen = await health(api, own_tenant.id, own_tenant.tokens["viewer"])
    finally:
        await services.bus.connect()
    assert seen["status"] == "down" and seen["details"]["bus"]["status"] == "down"
    assert "no message came back" in seen["details"]["bus"]["error"]
    assert seen["details"]["database"]["status"] == "ok"
    assert (await health(api, own_tenant.id, own_tenant.tokens["viewer"]))["details"]["bus"]["status"] == "ok"


async def test_an_unreachable_cluster_opens_its_circuit(
    own: tuple[Api, Services], own_tenant: TenantUsers, kube: Fleet
) -> None:
    api, services = own
    cluster_id = await register_cluster(api, own_tenant, kube, "health-1")
    token = own_tenant.tokens["viewer"]
    await api.ok(SUMMARY, {"i": cluster_id}, token)
    assert (await health(api, own_tenant.id, token))["status"] == "ok"
    await kube.set_reachable("cluster-0", False)
    try:
        for _ in range(3):  # each failed probe counts against the breaker; two open it here
            await services.health.check_all()
        assert await services.gateway.client(cluster_id).circuit_state() == "opened"
        seen = await health(api, own_tenant.id, token)
        (cluster,) = [c for c in seen["details"]["clusters"] if c["clusterId"] == cluster_id]
        assert (cluster["status"], cluster["connection"], cluster["circuit"]) == ("down", "disconnected", "open")
        assert cluster["lastError"] and seen["status"] == "down"
    finally:
        await kube.set_reachable("cluster-0", True)
