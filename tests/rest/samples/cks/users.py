"""CKS samples: a tenant's users (seed 001, "Tenant-Scoped Users & Profile"). A path that changes
a user acts on one made for it; user management is the tenant admin's, so an operator is refused."""

from __future__ import annotations

import uuid

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World

USERS = "/api/tenants/{tenantId}/users"
USER = USERS + "/{id}"


async def victim(world: World, suspended: bool = False) -> str:
    """A viewer made for one sample (suspended when asked): their ID."""
    email = f"u-{uuid.uuid4().hex[:8]}@{world.tenant.slug}.test"
    created = await world.gql(
        "mutation($t:ID!,$i:CreateUserInput!){ createUser(tenantId:$t, input:$i){ id } }",
        {"t": world.tenant.id, "i": {"email": email, "name": "Sam Lee", "role": "viewer", "password": world.password}},
    )
    user_id = str(created["createUser"]["id"])
    if suspended:
        await world.gql(
            "mutation($t:ID!,$u:ID!){ suspendUser(tenantId:$t, id:$u){ id } }", {"t": world.tenant.id, "u": user_id}
        )
    return user_id


def one_user(world: World, user_id: str) -> dict[str, str]:
    return {"tenantId": world.tenant.id, "id": user_id}


@sample(weak="operator")
async def list_users(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id}, query={"page": 1, "pageSize": 2, "role": "viewer"})


@sample(weak="operator")
async def get_user(world: World) -> Request:
    return Request(path=one_user(world, world.tenant.user_ids["developer"]))


@sample(weak="operator", writes=True)
async def create_user(world: World) -> Request:
    email = f"new-{uuid.uuid4().hex[:8]}@{world.tenant.slug}.test"
    body = {"email": email, "name": "Sam Lee", "role": "operator", "password": "temporary-pass-7-horse"}
    return Request(path={"tenantId": world.tenant.id}, body=body)


@sample(weak="operator", writes=True)
async def update_user(world: World) -> Request:
    body = {"name": "Sam Q. Lee", "role": "developer", "avatar": "https://cdn.acme.example/avatars/sam.png"}
    return Request(path=one_user(world, await victim(world)), body=body)


@sample(weak="operator", writes=True)
async def delete_user(world: World) -> Request:
    return Request(path=one_user(world, await victim(world)))


@sample(weak="operator", writes=True)
async def suspend_user(world: World) -> Request:
    return Request(path=one_user(world, await victim(world)))


@sample(weak="operator", writes=True)
async def activate_user(world: World) -> Request:
    return Request(path=one_user(world, await victim(world, suspended=True)))


@sample(weak="operator", writes=True)
async def reset_password(world: World) -> Request:
    return Request(path=one_user(world, await victim(world)))


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", USERS): list_users,
    ("GET", USER): get_user,
    ("POST", USERS): create_user,
    ("PUT", USER): update_user,
    ("DELETE", USER): delete_user,
    ("POST", USER + "/suspend"): suspend_user,
    ("POST", USER + "/activate"): activate_user,
    ("POST", USER + "/reset-password"): reset_password,
}
