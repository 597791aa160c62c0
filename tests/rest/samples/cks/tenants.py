"""CKS samples (seeds 000/001)."""

from __future__ import annotations

import uuid

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World


async def _victim_tenant(world: World) -> str:
    slug = f"v-{uuid.uuid4().hex[:8]}"
    created = await world.gql(
        "mutation($i:CreateTenantInput!){ createTenant(input:$i){ tenant { id } } }",
        {"i": {"name": f"Victim {slug}", "adminEmail": f"admin@{slug}.test", "slug": slug}},
        role="provider",
    )
    return str(created["createTenant"]["tenant"]["id"])


@sample(weak="tenant_admin", foreign=False)
async def list_tenants(world: World) -> Request:
    return Request(query={"page": 1, "pageSize": 5}, role="provider")


@sample()  # a tenant's members read their own tenant (GraphQL `tenant`), other tenants get 404
async def get_tenant(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id}, role="provider")


@sample(weak="tenant_admin", foreign=False, writes=True)
async def create_tenant(world: World) -> Request:
    slug = uuid.uuid4().hex[:8]
    return Request(body={"name": f"Customer {slug}", "adminEmail": f"admin@{slug}.test"}, role="provider")


@sample(weak="tenant_admin", foreign=False, writes=True)
async def suspend_tenant(world: World) -> Request:
    return Request(path={"tenantId": await _victim_tenant(world)}, role="provider")


@sample(weak="tenant_admin", foreign=False, writes=True)
async def delete_tenant(world: World) -> Request:
    return Request(path={"tenantId": await _victim_tenant(world)}, role="provider")


@sample(weak="tenant_admin", foreign=False, writes=True)
async def impersonate_tenant(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id}, role="provider")


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/provider/tenants"): list_tenants,
    ("GET", "/api/provider/tenants/{tenantId}"): get_tenant,
    ("POST", "/api/provider/tenants"): create_tenant,
    ("POST", "/api/provider/tenants/{tenantId}/suspend"): suspend_tenant,
    ("DELETE", "/api/provider/tenants/{tenantId}"): delete_tenant,
    ("POST", "/api/provider/tenants/{tenantId}/impersonate"): impersonate_tenant,
}
