"""QAssure samples: a tenant's users (seed 003, "3. USERS APIs"), the tenant admin's; an operator
is too weak."""

from __future__ import annotations

import uuid
from typing import Any

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World

USER = "/api/v1/users/{id}"
STRONG = "a-long-enough-password-42"


def _body(world: World, **more: Any) -> dict[str, Any]:
    return {
        "email": f"tester-{uuid.uuid4().hex[:8]}@{world.tenant.slug}.test",
        "first_name": "Tess",
        "last_name": "Ter",
        "status": "active",
        "auth_provider": "local",
        "tenant_id": world.tenant.id,
        "role_id": "rol_viewer",
        **more,
    }


async def _victim(world: World) -> str:
    person = {"email": f"v-{uuid.uuid4().hex[:8]}@{world.tenant.slug}.test", "password": STRONG}
    created = await world.gql(
        "mutation($t:ID!,$i:CreateUserInput!){ createUser(tenantId:$t, input:$i){ id } }",
        {"t": world.tenant.id, "i": {**person, "name": "Vic Tim", "role": "viewer"}},
    )
    return str(created["createUser"]["id"])


@sample(weak="operator", foreign=False)
async def list_users(world: World) -> Request:
    return Request(query={"page": 1, "limit": 20, "status": "active", "orderBy[]": ["email", "asc"]})


@sample(weak="operator")
async def get_user(world: World) -> Request:
    return Request(path={"id": world.tenant.user_ids["viewer"]})


@sample(weak="operator", writes=True)
async def create_user(world: World) -> Request:
    """Made suspended: the status step runs."""
    return Request(body=_body(world, password=STRONG, status="suspended"))


@sample(weak="operator", writes=True)
async def update_user(world: World) -> Request:
    """Already active: the status step has nothing to do."""
    return Request(path={"id": await _victim(world)}, body=_body(world, last_name="Tester", role_id="rol_developer"))


@sample(weak="operator", writes=True)
async def delete_user(world: World) -> Request:
    return Request(path={"id": await _victim(world)})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/v1/users"): list_users,
    ("GET", USER): get_user,
    ("POST", "/api/v1/users"): create_user,
    ("PUT", USER): update_user,
    ("DELETE", USER): delete_user,
}
