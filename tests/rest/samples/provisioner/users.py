"""Provisioner samples: users (seed 004, "User Management Endpoints"). Managing users is the
tenant admin's: an operator is refused."""

from __future__ import annotations

import uuid

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World

CREATE = "mutation($t:ID!,$in:CreateUserInput!){ createUser(tenantId:$t, input:$in){ id } }"


async def _victim(world: World) -> str:
    given = {
        "email": f"victim-{uuid.uuid4().hex[:8]}@prov.test",
        "password": world.password,
        "name": "Victor Tim",
        "role": "viewer",
    }
    return str((await world.gql(CREATE, {"t": world.tenant.id, "in": given}))["createUser"]["id"])


@sample(weak="operator", foreign=False)
async def list_users(world: World) -> Request:
    return Request(query={"page": 1, "page_size": 20})


@sample(weak="operator", foreign=False, writes=True)
async def create_user(world: World) -> Request:
    body = {
        "email": f"ops-{uuid.uuid4().hex[:8]}@prov.test",
        "password": "OpsPassword123!",
        "full_name": "Olga Ops",
        "role": "operator",
    }
    return Request(body=body)


@sample(weak="operator", writes=True)
async def update_user(world: World) -> Request:
    body = {"full_name": "Olga Operations", "role": "operator", "is_active": False}
    return Request(path={"id": await _victim(world)}, body=body)


@sample(weak="operator", writes=True)
async def delete_user(world: World) -> Request:
    return Request(path={"id": await _victim(world)})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/v1/users"): list_users,
    ("POST", "/api/v1/users"): create_user,
    ("PUT", "/api/v1/users/{id}"): update_user,
    ("DELETE", "/api/v1/users/{id}"): delete_user,
}
