"""Accounts the Kubilitics samples make through GraphQL to act on, and their own sign-ins (no paths of its own)."""

from __future__ import annotations

import uuid

from tests.rest.samples import Sample
from tests.rest.world import World

SAMPLES: dict[tuple[str, str], Sample] = {}
CONFIRM = {"X-Confirm-Destructive": "true"}


async def new_user(world: World, role: str = "viewer") -> tuple[str, str]:
    """A fresh user of the world's tenant: (ID, email); its password is the world's."""
    email = f"k-{uuid.uuid4().hex[:10]}@{world.tenant.slug}.test"
    created = await world.gql(
        "mutation($t:ID!,$i:CreateUserInput!){ createUser(tenantId:$t, input:$i){ id } }",
        {"t": world.tenant.id, "i": {"email": email, "name": "Sample", "role": role, "password": world.password}},
    )
    return str(created["createUser"]["id"]), email


async def signed_in(world: World, email: str) -> dict[str, str]:
    """A session of its own for `email`: the Authorization header of a new sign-in."""
    token = (await world.api.login(email, world.password))["accessToken"]
    return {"Authorization": f"Bearer {token}"}
