"""CKS workload samples (seed 001, "Tenant-Scoped Workloads", and the workloads of a cluster or
namespace), on the world's cluster: reads of the `shop` app, writes in a namespace of their own."""

from __future__ import annotations

import uuid

from app.rest.values import namespace_id, workload_id
from tests.rest.samples import Request, Sample, sample
from tests.rest.samples.cks.namespaces import kept_namespace
from tests.rest.world import NAMESPACE, World
from tests.support.waiting import eventually

WORKLOADS = "/api/tenants/{tenantId}/workloads"
ONE = WORKLOADS + "/{id}"
IMAGE = "registry.acme.example/checkout-api"
CREATE = """mutation($c:ID!,$n:String!,$m:JSON!){ createWorkload(clusterId:$c, namespace:$n, manifest:$m){ name } }"""
LISTED = """query($c:ID!,$n:String!,$f:String!){
  resources(clusterId:$c, kind:"Deployment", namespace:$n, fieldSelector:$f){ name } }"""


async def deployment(world: World, prefix: str) -> str:
    """A new Deployment in the samples' namespace, once the cluster's cache has it; its ID."""
    namespace = await kept_namespace(world)
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    labels = {"app.kubernetes.io/name": name}
    manifest = {
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "api", "image": f"{IMAGE}:1.8.2", "ports": [{"containerPort": 8080}]}]
                },
            },
        },
    }
    await world.gql(CREATE, {"c": world.cluster_id, "n": namespace, "m": manifest}, role="developer")

    async def listed() -> bool:
        found = await world.gql(LISTED, {"c": world.cluster_id, "n": namespace, "f": f"metadata.name={name}"})
        return bool(found["resources"])

    await eventually(listed, what=f"deployment {name} in the cache")
    return workload_id(world.cluster_id, "Deployment", namespace, name)


async def kept_deployment(world: World) -> str:
    if "cks deployment" not in world.kept:
        world.kept["cks deployment"] = await deployment(world, "cks-kept")
    return str(world.kept["cks deployment"])


@sample()
async def cluster_workloads(world: World) -> Request:
    path = {"tenantId": world.tenant.id, "id": world.cluster_id}
    return Request(path=path, query={"page": 1, "pageSize": 20, "type": "Deployment"})


@sample()
async def namespace_workloads(world: World) -> Request:
    path = {"tenantId": world.tenant.id, "id": namespace_id(world.cluster_id, NAMESPACE)}
    return Request(path=path, query={"page": 1, "pageSize": 20, "type": "StatefulSet"})


@sample()
async def list_workloads(world: World) -> Request:
    query = {"page": 1, "pageSize": 20, "search": "api", "type": "Deployment"}
    return Request(path={"tenantId": world.tenant.id}, query=query)


@sample()
async def get_workload(world: World) -> Request:
    return Request(
        path={"tenantId": world.tenant.id, "id": workload_id(world.cluster_id, "Deployment", NAMESPACE, "web")}
    )


@sample(weak="viewer", writes=True)
async def create_workload(world: World) -> Request:
    body = {
        "name": f"checkout-api-{uuid.uuid4().hex[:8]}",
        "namespaceId": namespace_id(world.cluster_id, await kept_namespace(world)),
        "type": "Deployment",
        "spec": {"replicas": 2, "image": f"{IMAGE}:1.8.2", "ports": [{"containerPort": 8080}]},
    }
    return Request(path={"tenantId": world.tenant.id}, body=body)


@sample(weak="viewer", writes=True)
async def edit_workload(world: World) -> Request:
    path = {"tenantId": world.tenant.id, "id": await kept_deployment(world)}
    return Request(path=path, body={"spec": {"image": f"{IMAGE}:1.8.3"}})


@sample(weak="viewer", writes=True)
async def delete_workload(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id, "id": await deployment(world, "cks-deleted")})


@sample(weak="viewer", writes=True)
async def scale_workload(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id, "id": await kept_deployment(world)}, body={"replicas": 2})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/tenants/{tenantId}/clusters/{id}/workloads"): cluster_workloads,
    ("GET", "/api/tenants/{tenantId}/namespaces/{id}/workloads"): namespace_workloads,
    ("GET", WORKLOADS): list_workloads,
    ("GET", ONE): get_workload,
    ("POST", WORKLOADS): create_workload,
    ("PATCH", ONE): edit_workload,
    ("DELETE", ONE): delete_workload,
    ("POST", f"{ONE}/scale"): scale_workload,
}
