"""QAssure samples: roles (seed 003, "4. ROLES APIs"), the tenant admin's; an operator is too weak.
Reads, updates and deletes act on a role of the tenant's own, which another tenant cannot see."""

from __future__ import annotations

import uuid

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World

ROLES = "/api/v1/roles"
ROLE = f"{ROLES}/{{id}}"


CREATE = 'mutation($n:String!){ createRole(input:{name:$n, permissions:["audit:read"], description:"Reviews"}){ id } }'


async def _own_role(world: World) -> str:
    created = await world.gql(CREATE, {"n": f"reviewer-{uuid.uuid4().hex[:8]}"})
    return str(created["createRole"]["id"])


def _body(description: str) -> dict[str, str]:
    """As 003's example, under a name no other role of the tenant has."""
    name = f"Quality Manager {uuid.uuid4().hex[:6]}"
    return {"name": name, "code": "quality_manager", "description": description, "scope": "tenant"}


@sample(weak="operator", foreign=False)
async def list_roles(world: World) -> Request:
    return Request(query={"page": 1, "limit": 20, "scope": "tenant", "orderBy[]": ["name", "asc"]})


@sample(weak="operator")
async def get_role(world: World) -> Request:
    if "qassure role" not in world.kept:
        world.kept["qassure role"] = await _own_role(world)
    return Request(path={"id": world.kept["qassure role"]})


@sample(weak="operator", foreign=False, writes=True)
async def create_role(world: World) -> Request:
    return Request(body=_body("Reviews test runs and signs off releases"))


@sample(weak="operator", writes=True)
async def update_role(world: World) -> Request:
    return Request(path={"id": await _own_role(world)}, body=_body("Reviews test runs, signs off releases and audits"))


@sample(weak="operator", writes=True)
async def delete_role(world: World) -> Request:
    return Request(path={"id": await _own_role(world)})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", ROLES): list_roles,
    ("GET", ROLE): get_role,
    ("POST", ROLES): create_role,
    ("PUT", ROLE): update_role,
    ("DELETE", ROLE): delete_role,
}
