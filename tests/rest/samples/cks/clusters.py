"""CKS cluster and node-pool samples (seed 001, "Tenant-Scoped Clusters").

Scaling and upgrading need a cluster created here and provisioned, and retrying needs a failed
operation. The app under test runs no operations, so `managed` runs them with a runner of its own,
on the app's services and the world's simulator: a cluster is provisioned for real, then scales of
it fail in the simulator's `resize-node-pools` phase (told to fail each scale's first attempt)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from app.operations.providers import providers
from app.operations.runner import OperationRunner
from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World
from tests.support.lifecycle import CANCEL, CREATE, NEXT_VERSION, SCALE, cks_input, follow

CLUSTERS = "/api/tenants/{tenantId}/clusters"
CLUSTER = CLUSTERS + "/{id}"
FAULT = "resize-node-pools"
QUEUED = """query($t:ID!,$c:ID!){ operations(tenantId:$t, clusterId:$c, status:"queued", pageSize:100){
  nodes { id } } }"""
FAILED = """query($t:ID!,$c:ID!){ operations(tenantId:$t, clusterId:$c, status:"failed", pageSize:100){
  nodes { id } } }"""
SPARE_FAILURES = 3


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def running_operations(world: World, faults: str) -> AsyncIterator[None]:
    """Operations run, with the simulator behind the simulated provider, while the block lasts."""
    services = world.services
    settings = services.settings.model_copy(
        update={
            "operation_workers": 4,
            "operation_poll_seconds": 0.1,
            "simulator_url": f"http://127.0.0.1:{world.fleet.control_port}",
            "simulated_phase_seconds": 0.0,
            "simulated_faults": faults,
        }
    )
    runner = OperationRunner(settings, services.db, services.gateway, services.sealer, services.bus, providers())
    runner.start()
    try:
        yield
    finally:
        await runner.stop()


async def ended(world: World, operation_id: str) -> str:
    """The status an operation ends with, from its live updates."""
    base = str(world.api.http.base_url).rstrip("/")
    updates = await follow(base, world.token("operator"), operation_id)
    return str(updates[-1]["operation"]["status"])


async def idle(world: World, cluster_id: str) -> None:
    """No operation of the cluster is queued any more (what a sample left queued is cancelled)."""
    queued = await world.gql(QUEUED, {"t": world.tenant.id, "c": cluster_id})
    for operation in queued["operations"]["nodes"]:
        await world.gql(CANCEL, {"id": operation["id"]}, role="operator")


async def _failed_scale(world: World, cluster_id: str, pool_id: str) -> str:
    await idle(world, cluster_id)
    scaled = await world.gql(SCALE, {"id": cluster_id, "p": [{"id": pool_id, "nodeCount": 3}]}, role="operator")
    operation_id = str(scaled["scaleCluster"]["id"])
    assert await ended(world, operation_id) == "failed"
    return operation_id


async def _failed(world: World, cluster_id: str) -> list[str]:
    found = await world.gql(FAILED, {"t": world.tenant.id, "c": cluster_id})
    return [str(o["id"]) for o in found["operations"]["nodes"]]


async def managed(world: World) -> dict[str, str]:
    """A provisioned, connected cluster of the tenant (`cluster`, its `pool`), and a `failed` operation of it.

    A few failures are made at once, while nothing else waits in the queue: a later sample needing
    one takes a spare rather than running operations again (a runner takes every queued operation)."""
    kept: dict[str, str] | None = world.kept.get("cks managed")
    if kept is None:
        name = _name("cks-managed")
        async with running_operations(world, f"{FAULT}@{name}"):
            spec = cks_input(name)
            created = (await world.gql(CREATE, {"t": world.tenant.id, "in": spec}, role="operator"))["createCluster"]
            assert await ended(world, created["operation"]["id"]) == "success"
            kept = {"name": name, "cluster": created["cluster"]["id"], "pool": created["cluster"]["nodePools"][0]["id"]}
            for _ in range(SPARE_FAILURES):
                await _failed_scale(world, kept["cluster"], kept["pool"])
        world.kept["cks managed"] = kept
    failed = await _failed(world, kept["cluster"])
    if not failed:
        async with running_operations(world, f"{FAULT}@{kept['name']}"):
            failed = [await _failed_scale(world, kept["cluster"], kept["pool"])]
    return {**kept, "failed": failed[0]}


async def pending_cluster(world: World, prefix: str) -> str:
    """A cluster created here and not provisioned (no operation runs for it)."""
    spec = cks_input(_name(prefix), provisionImmediately=False)
    created = await world.gql(CREATE, {"t": world.tenant.id, "in": spec}, role="operator")
    return str(created["createCluster"]["cluster"]["id"])


def _cks_body(name: str) -> dict[str, Any]:
    body = cks_input(name)
    body["addons"].append({"name": "ingress-nginx", "version": "1.10.1", "enabled": True})
    return body


@sample()
async def list_clusters(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id}, query={"page": 1, "pageSize": 20, "search": "rest"})


@sample()
async def get_cluster(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id, "id": world.cluster_id})


@sample(weak="developer", writes=True)
async def create_cluster(world: World) -> Request:
    """The cluster this path creates waits in the queue: `managed` must not find it there."""
    await managed(world)
    return Request(path={"tenantId": world.tenant.id}, body=_cks_body(_name("cks-new")))


@sample(weak="operator", writes=True)
async def edit_cluster(world: World) -> Request:
    if "cks edited" not in world.kept:
        world.kept["cks edited"] = await pending_cluster(world, "cks-edited")
    body = {"tags": {"env": "production", "team": "checkout"}}
    return Request(path={"tenantId": world.tenant.id, "id": world.kept["cks edited"]}, body=body)


@sample(weak="operator", writes=True)
async def delete_cluster(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id, "id": await pending_cluster(world, "cks-deleted")})


@sample(weak="developer", writes=True)
async def scale_cluster(world: World) -> Request:
    found = await managed(world)
    await idle(world, found["cluster"])
    body = {"nodePools": [{"id": found["pool"], "nodeCount": 3}]}
    return Request(path={"tenantId": world.tenant.id, "id": found["cluster"]}, body=body)


@sample()
async def list_node_pools(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id, "id": world.cluster_id})


@sample(weak="developer", writes=True)
async def upgrade_cluster(world: World) -> Request:
    found = await managed(world)
    await idle(world, found["cluster"])
    return Request(path={"tenantId": world.tenant.id, "id": found["cluster"]}, body={"version": NEXT_VERSION})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", CLUSTERS): list_clusters,
    ("GET", CLUSTER): get_cluster,
    ("POST", CLUSTERS): create_cluster,
    ("PATCH", CLUSTER): edit_cluster,
    ("DELETE", CLUSTER): delete_cluster,
    ("POST", f"{CLUSTER}/scale"): scale_cluster,
    ("GET", f"{CLUSTER}/nodepools"): list_node_pools,
    ("POST", f"{CLUSTER}/upgrade"): upgrade_cluster,
}
