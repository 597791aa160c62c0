"""QAssure samples: the provider's tenants (seed 003, "2. TENANTS APIs"). A tenant admin is too
weak for all but reading their own tenant."""

from __future__ import annotations

import uuid
from typing import Any

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World

TENANT = "/api/v1/tenants/{id}"


def _body(slug: str, **more: Any) -> dict[str, Any]:
    return {
        "name": f"Quality Labs {slug}",
        "slug": slug,
        "status": "active",
        "settings": {"timezone": "Europe/Berlin"},
        "subscription_tier": "enterprise",
        "max_users": 250,
        "max_modules": 20,
        **more,
    }


async def _victim(world: World) -> str:
    slug = f"v-{uuid.uuid4().hex[:8]}"
    created = await world.gql(
        "mutation($i:CreateTenantInput!){ createTenant(input:$i){ tenant { id } } }",
        {"i": {"name": f"Victim {slug}", "adminEmail": f"admin@{slug}.test", "slug": slug}},
        role="provider",
    )
    return str(created["createTenant"]["tenant"]["id"])


@sample(weak="tenant_admin", foreign=False)
async def list_tenants(world: World) -> Request:
    return Request(query={"page": 1, "limit": 20, "status": "active", "orderBy[]": ["name", "asc"]}, role="provider")


@sample()  # a tenant's members read their own tenant, other tenants get 404
async def get_tenant(world: World) -> Request:
    return Request(path={"id": world.tenant.id}, role="provider")


@sample(weak="tenant_admin", foreign=False, writes=True)
async def create_tenant(world: World) -> Request:
    slug = f"qa-{uuid.uuid4().hex[:8]}"
    return Request(body=_body(slug, admin_email=f"admin@{slug}.test"), role="provider")


@sample(weak="tenant_admin", foreign=False, writes=True)
async def update_tenant(world: World) -> Request:
    """Suspends it too: the status step runs."""
    slug = f"qa-{uuid.uuid4().hex[:8]}"
    return Request(path={"id": await _victim(world)}, body=_body(slug, status="suspended"), role="provider")


@sample(weak="tenant_admin", foreign=False, writes=True)
async def delete_tenant(world: World) -> Request:
    return Request(path={"id": await _victim(world)}, role="provider")


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/v1/tenants"): list_tenants,
    ("GET", TENANT): get_tenant,
    ("POST", "/api/v1/tenants"): create_tenant,
    ("PUT", TENANT): update_tenant,
    ("DELETE", TENANT): delete_tenant,
}
