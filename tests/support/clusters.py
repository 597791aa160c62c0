"""Simulated clusters for API tests: registering one to a tenant, and changing it behind our back."""

from __future__ import annotations

import httpx

from kubesim.fleet import Fleet
from tests.support.api import Api, TenantUsers

REGISTER = "mutation($t:ID!,$in:RegisterClusterInput!){ registerCluster(tenantId:$t,input:$in){ id } }"


async def register_cluster(api: Api, tenant: TenantUsers, fleet: Fleet, name: str, cluster: str = "cluster-0") -> str:
    kubeconfig = fleet.kubeconfigs[cluster].read_text()
    data = await api.ok(
        REGISTER, {"t": tenant.id, "in": {"name": name, "kubeconfig": kubeconfig}}, tenant.tokens["tenant_admin"]
    )
    return str(data["registerCluster"]["id"])


async def hold_cronjobs(fleet: Fleet, namespace: str = "shop", cluster: str = "cluster-0") -> None:
    """Suspend the namespace's CronJobs through the cluster's API, so no Job appears on its schedule
    while a test compares two reads of the same objects."""
    token = fleet.cluster(cluster).token
    async with httpx.AsyncClient(
        base_url=fleet.server_url(cluster), headers={"Authorization": f"Bearer {token}"}
    ) as http:
        listing = await http.get(f"/apis/batch/v1/namespaces/{namespace}/cronjobs")
        assert listing.status_code == 200, listing.text
        for item in listing.json()["items"]:
            response = await http.patch(
                f"/apis/batch/v1/namespaces/{namespace}/cronjobs/{item['metadata']['name']}",
                json={"spec": {"suspend": True}},
                headers={"Content-Type": "application/merge-patch+json"},
            )
            assert response.status_code == 200, response.text


async def scale_deployment(
    fleet: Fleet, name: str, replicas: int, namespace: str = "shop", cluster: str = "cluster-0"
) -> None:
    """Scale through the cluster's own API (the scale subresource), as kubectl would."""
    token = fleet.cluster(cluster).token
    async with httpx.AsyncClient(
        base_url=fleet.server_url(cluster), headers={"Authorization": f"Bearer {token}"}
    ) as http:
        response = await http.patch(
            f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale",
            json={"spec": {"replicas": replicas}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert response.status_code == 200, response.text
