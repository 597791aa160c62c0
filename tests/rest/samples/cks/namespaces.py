"""CKS namespace samples (seed 001, "Tenant-Scoped Namespaces"), on the world's cluster."""

from __future__ import annotations

import uuid
from typing import Any

from app.rest.values import namespace_id
from tests.rest.samples import Request, Sample, sample
from tests.rest.world import NAMESPACE, World
from tests.support.waiting import eventually

NAMESPACES = "/api/tenants/{tenantId}/namespaces"
ONE = NAMESPACES + "/{id}"
CREATE = """mutation($c:ID!,$in:CreateNamespaceInput!){ createNamespace(clusterId:$c, input:$in){ name } }"""
LISTED = """query($c:ID!,$n:String!){ resources(clusterId:$c, kind:"Namespace", fieldSelector:$n){ name } }"""


async def namespace(world: World, prefix: str, quota: dict[str, Any] | None = None) -> str:
    """A new namespace of the world's cluster, once the cluster's cache has it (reads see it)."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    made: dict[str, Any] = {"name": name, "labels": {"team": "payments"}}
    if quota:
        made["quota"] = quota
    await world.gql(CREATE, {"c": world.cluster_id, "in": made}, role="operator")

    async def listed() -> bool:
        found = await world.gql(LISTED, {"c": world.cluster_id, "n": f"metadata.name={name}"})
        return bool(found["resources"])

    await eventually(listed, what=f"namespace {name} in the cache")
    return name


async def kept_namespace(world: World) -> str:
    """One namespace the samples share (its quota and labels change, nothing else)."""
    if "cks namespace" not in world.kept:
        world.kept["cks namespace"] = await namespace(world, "cks-kept", {"cpu": "8", "memory": "16Gi", "pods": 100})
    return str(world.kept["cks namespace"])


def _path(world: World, name: str) -> dict[str, str]:
    return {"tenantId": world.tenant.id, "id": namespace_id(world.cluster_id, name)}


@sample()
async def list_namespaces(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id}, query={"page": 1, "pageSize": 20, "search": NAMESPACE})


@sample()
async def get_namespace(world: World) -> Request:
    return Request(path=_path(world, NAMESPACE))


@sample(weak="developer", writes=True)
async def create_namespace(world: World) -> Request:
    body = {
        "name": f"cks-new-{uuid.uuid4().hex[:8]}",
        "clusterId": world.cluster_id,
        "labels": {"team": "payments"},
        "annotations": {"owner": "jane.doe@acme.example"},
        "quotas": {"cpu": "8", "memory": "16Gi", "pods": 100},
    }
    return Request(path={"tenantId": world.tenant.id}, body=body)


@sample(weak="developer", writes=True)
async def edit_namespace(world: World) -> Request:
    body = {"labels": {"team": "payments", "tier": "critical"}, "quotas": {"cpu": "10"}}
    return Request(path=_path(world, await kept_namespace(world)), body=body)


@sample(weak="developer", writes=True)
async def delete_namespace(world: World) -> Request:
    return Request(path=_path(world, await namespace(world, "cks-deleted")))


@sample(weak="developer", writes=True)
async def scale_namespace(world: World) -> Request:
    return Request(path=_path(world, await kept_namespace(world)), body={"cpu": "16", "memory": "32Gi", "pods": 200})


@sample()
async def get_quota(world: World) -> Request:
    return Request(path=_path(world, await kept_namespace(world)))


@sample(weak="developer", writes=True)
async def update_quota(world: World) -> Request:
    return Request(path=_path(world, await kept_namespace(world)), body={"cpu": "12", "memory": "24Gi", "pods": 150})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", NAMESPACES): list_namespaces,
    ("GET", ONE): get_namespace,
    ("POST", NAMESPACES): create_namespace,
    ("PATCH", ONE): edit_namespace,
    ("DELETE", ONE): delete_namespace,
    ("POST", f"{ONE}/scale"): scale_namespace,
    ("GET", f"{ONE}/quota"): get_quota,
    ("PUT", f"{ONE}/quota"): update_quota,
}
