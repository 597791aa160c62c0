"""Helpers of the cluster-write API tests: the cluster as kubesim serves it, and what it recorded."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from kubesim.fleet import Fleet, start_fleet
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.clusters import register_cluster
from tests.support.waiting import eventually as eventually  # the cluster-write tests import it from here

CLUSTER = "cluster-0"
WRITE_VERBS = ("create ", "update ", "patch ", "delete ", "deletecollection ")
AUDIT = (
    """query($a:String!){ auditLogs(filter:{action:$a}){ nodes { action targetType targetId actorEmail changes } } }"""
)


@dataclass
class Setup:
    tenant: TenantUsers
    other: TenantUsers
    cluster_id: str
    fleet: Fleet
    http: httpx.AsyncClient  # straight to kubesim, as the cluster's admin

    @property
    def operator(self) -> str:
        return self.tenant.tokens["operator"]

    async def get(self, path: str) -> dict[str, Any] | None:
        response = await self.http.get(path)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def writes(self) -> int:
        counters = self.fleet.cluster(CLUSTER).control.counters
        return sum(v for k, v in counters.items() if k.startswith(WRITE_VERBS))

    def impersonated(self, method: str, path: str) -> list[dict[str, Any]]:
        seen = self.fleet.cluster(CLUSTER).control.impersonations
        return [i for i in seen if i["method"] == method and i["path"] == path]


async def refused(api: Api, s: Setup, query: str, variables: dict[str, Any]) -> None:
    """A viewer is FORBIDDEN, another tenant's admin gets NOT_FOUND, and the cluster saw no write."""
    before = s.writes()
    assert await api.code(query, variables, s.tenant.tokens["viewer"]) == "FORBIDDEN"
    assert await api.code(query, variables, s.other.tokens["tenant_admin"]) == "NOT_FOUND"
    assert s.writes() == before


async def audited(api: Api, s: Setup, action: str, target: str) -> dict[str, Any]:
    rows = (await api.ok(AUDIT, {"a": action}, s.tenant.tokens["tenant_admin"]))["auditLogs"]["nodes"]
    found = [r for r in rows if r["targetId"] == target]
    assert found, rows
    assert found[0]["actorEmail"] == s.tenant.emails["operator"]
    assert found[0]["changes"]["cluster"] == s.cluster_id
    return dict(found[0])


def assert_impersonated(s: Setup, method: str, path: str) -> None:
    calls = s.impersonated(method, path)
    assert calls, s.fleet.cluster(CLUSTER).control.impersonations[-5:]
    groups = set(calls[-1]["groups"])
    assert calls[-1]["user"] == s.tenant.emails["operator"]
    assert {f"fleetgraph:tenant:{s.tenant.id}", "fleetgraph:role:operator"} <= groups


def deployment(name: str, image: str = "nginx:1.25", replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}},
        },
    }


@contextlib.asynccontextmanager
async def cluster_setup(api: Api, provider_token: str, other: TenantUsers, seed: int) -> AsyncIterator[Setup]:
    """A kubesim cluster registered to a new tenant with an operator and a viewer."""
    async with start_fleet(1, profile="small", seed=seed, control=True, speed=20) as fleet:
        tenant = await make_tenant(api, provider_token, roles=("operator", "viewer"), maxClusters=1)
        cluster_id = await register_cluster(api, tenant, fleet, CLUSTER, CLUSTER)
        headers = {"Authorization": f"Bearer {fleet.cluster(CLUSTER).token}"}
        async with httpx.AsyncClient(base_url=fleet.server_url(CLUSTER), headers=headers) as http:
            yield Setup(tenant, other, cluster_id, fleet, http)


CREATE_NS = """mutation($c:ID!,$in:CreateNamespaceInput!){ createNamespace(clusterId:$c,input:$in){
  clusterId name phase labels annotations } }"""
CREATE_WORKLOAD = """mutation($c:ID!,$n:String!,$m:JSON!){ createWorkload(clusterId:$c,namespace:$n,manifest:$m){
  kind name namespace replicas images } }"""


async def make_namespace(api: Api, s: Setup, name: str) -> None:
    await api.ok(CREATE_NS, {"c": s.cluster_id, "in": {"name": name}}, s.operator)
