"""QAssure samples: roles (seed 003, "4. ROLES APIs"), the tenant admin's; an operator is too weak.
Reads and deletes act on a role of the tenant's own, which another tenant cannot see."""

from __future__ import annotations

import uuid

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World

ROLE = "/api/v1/roles/{id}"


CREATE = 'mutation($n:String!){ createRole(input:{name:$n, permissions:["audit:read"], description:"Reviews"}){ id } }'


async def _own_role(world: World) -> str:
    created = await world.gql(CREATE, {"n": f"reviewer-{uuid.uuid4().hex[:8]}"})
    return str(created["createRole"]["id"])


@sample(weak="operator", foreign=False)
async def list_roles(world: World) -> Request:
    return Request(query={"page": 1, "limit": 20, "scope": "tenant", "orderBy[]": ["name", "asc"]})


@sample(weak="operator")
async def get_role(world: World) -> Request:
    if "qassure role" not in world.kept:
        world.kept["qassure role"] = await _own_role(world)
    return Request(path={"id": world.kept["qassure role"]})


@sample(weak="operator", writes=True)
async def delete_role(world: World) -> Request:
    return Request(path={"id": await _own_role(world)})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/v1/roles"): list_roles,
    ("GET", ROLE): get_role,
    ("DELETE", ROLE): delete_role,
}
