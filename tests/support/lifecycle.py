"""Cluster lifecycle tests' GraphQL documents and helpers: inputs, waiting for operations, live updates."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import yaml
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from tests.support.api import Api, TenantUsers

VERSION, NEXT_VERSION, TOO_FAR = "1.30.6", "1.31.2", "1.32.0"

CREATE = """mutation($t:ID!,$in:CreateClusterInput!){ createCluster(tenantId:$t,input:$in){
  cluster{ id name status origin version spec nodePools{ id name nodeCount minCount maxCount } }
  operation{ id type status provider progress attempts phases{ name status } } } }"""
OPERATION = """query($id:ID!){ operation(id:$id){ id type status progress error attempts requestedBy
  phases{ name status message startedAt finishedAt } logs{ seq phase line } } }"""
UPDATES = """subscription($id:ID!){ operationUpdates(id:$id){ kind
  operation{ id status progress error phases{ name status message } } logLines{ seq phase line } } }"""
CLUSTER = """query($id:ID!){ cluster(id:$id){ id status version lastError
  nodePools{ id name nodeCount } nodes(first:100){ nodes{ name ready unschedulable labels } } } }"""
SCALE = "mutation($id:ID!,$p:[ScaleNodePoolInput!]!){ scaleCluster(id:$id,nodePools:$p){ id type status } }"
UPGRADE = "mutation($id:ID!,$v:String!){ upgradeCluster(id:$id,version:$v){ id type status } }"
DRAIN = "mutation($c:ID!,$n:String!){ drainNode(clusterId:$c,node:$n){ id type status } }"
REMOVE = "mutation($c:ID!,$n:String!){ removeNode(clusterId:$c,node:$n){ id type status } }"
DELETE = "mutation($id:ID!,$d:Boolean!){ deleteCluster(id:$id,deprovision:$d){ clusterId status operation{ id } } }"
RETRY = "mutation($id:ID!){ retryOperation(id:$id){ id status attempts phases{ name status } } }"
CANCEL = "mutation($id:ID!){ cancelOperation(id:$id){ id status cancelRequested } }"
DEPLOYMENTS = """query($c:ID!){ resources(clusterId:$c, kind:"Deployment", namespace:"kube-system"){ name } }"""


def cks_input(name: str, **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "version": VERSION,
        "nodePools": [{"name": "general", "nodeCount": 2, "minCount": 1, "maxCount": 4, "instanceType": "m5.large"}],
        "networking": {"cni": "calico", "serviceCidr": "10.96.0.0/12", "podCidr": "10.244.0.0/16"},
        "addons": [{"name": "metrics-server", "version": "0.7.1", "enabled": True}],
        "tags": {"team": "platform"},
    }
    return spec | overrides


async def follow(url: str, token: str, operation_id: str, seconds: float = 60) -> list[dict[str, Any]]:
    """Every update of the operation over graphql-transport-ws, until it ends."""
    transport = WebsocketsTransport(
        url=url.replace("http://", "ws://") + "/graphql", init_payload={"Authorization": f"Bearer {token}"}
    )
    updates: list[dict[str, Any]] = []

    async def read() -> None:
        async with Client(transport=transport) as session:
            async for result in session.subscribe(gql(UPDATES), variable_values={"id": operation_id}):
                updates.append(result["operationUpdates"])

    await asyncio.wait_for(read(), timeout=seconds)
    return updates


async def until_logged(api: Api, token: str, operation_id: str, text: str, seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        operation = (await api.ok(OPERATION, {"id": operation_id}, token))["operation"]
        if any(text in line["line"] for line in operation["logs"]):
            return
        assert operation["status"] in ("queued", "running"), operation
        await asyncio.sleep(0.1)
    raise AssertionError(f"operation {operation_id} never logged {text!r}")


def _ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


async def guard_a_pod(api: Api, tenant: TenantUsers, cluster_id: str) -> str:
    """A one-replica Deployment whose PodDisruptionBudget allows no eviction; answers its ready pod's node
    (a pod that is not ready yet may be evicted whatever the budget says, as in Kubernetes)."""
    kubeconfig = yaml.safe_load(
        (await api.ok("query($c:ID!){ kubeconfig(clusterId:$c) }", {"c": cluster_id}, tenant.tokens["tenant_admin"]))[
            "kubeconfig"
        ]
    )
    server = kubeconfig["clusters"][0]["cluster"]["server"]
    token = kubeconfig["users"][0]["user"]["token"]
    labels = {"app": "guarded"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "guarded", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
        },
    }
    budget = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "guarded", "namespace": "default"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}},
    }
    async with httpx.AsyncClient(base_url=server, headers={"Authorization": f"Bearer {token}"}) as http:
        for path, body in (
            ("/apis/apps/v1/namespaces/default/deployments", deployment),
            ("/apis/policy/v1/namespaces/default/poddisruptionbudgets", budget),
        ):
            assert (await http.post(path, json=body)).status_code == 201
        for _ in range(100):
            pods = (await http.get("/api/v1/namespaces/default/pods", params={"labelSelector": "app=guarded"})).json()
            placed = [p["spec"]["nodeName"] for p in pods["items"] if _ready(p)]
            if placed:
                return str(placed[0])
            await asyncio.sleep(0.1)
    raise AssertionError("the guarded pod never became ready")


async def finished(api: Api, token: str, operation_id: str, seconds: float = 60) -> dict[str, Any]:
    for _ in range(int(seconds * 10)):
        operation = (await api.ok(OPERATION, {"id": operation_id}, token))["operation"]
        if operation["status"] in ("success", "failed", "cancelled"):
            return dict(operation)
        await asyncio.sleep(0.1)
    raise AssertionError(f"operation {operation_id} did not finish")
