"""CKS samples: the caller's own profile, activity and API tokens, under their tenant's path
(seed 001, "Tenant-Scoped Users & Profile"). Every role may call them about itself; another
tenant's admin, using this tenant's path, finds nothing."""

from __future__ import annotations

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World

PROFILE = "/api/tenants/{tenantId}/profile"
TOKENS = PROFILE + "/tokens"


def here(world: World) -> dict[str, str]:
    return {"tenantId": world.tenant.id}


@sample()
async def get_profile(world: World) -> Request:
    return Request(path=here(world), role="viewer")


@sample(writes=True)
async def update_profile(world: World) -> Request:
    body = {"name": "Developer", "avatar": "https://cdn.acme.example/avatars/dev.png"}
    return Request(path=here(world), body=body, role="developer")


@sample()
async def activity(world: World) -> Request:
    return Request(path=here(world))


@sample()
async def list_tokens(world: World) -> Request:
    await world.gql('mutation { createApiToken(name: "listed") { value } }', role="operator")
    return Request(path=here(world), role="operator")


@sample(writes=True)
async def create_token(world: World) -> Request:
    return Request(path=here(world), body={"name": "ci-deployer"}, role="developer")


@sample(writes=True)
async def revoke_token(world: World) -> Request:
    made = await world.gql('mutation { createApiToken(name: "to-revoke") { token { id } } }', role="developer")
    return Request(path={**here(world), "tokenId": made["createApiToken"]["token"]["id"]}, role="developer")


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", PROFILE): get_profile,
    ("PUT", PROFILE): update_profile,
    ("GET", PROFILE + "/activity"): activity,
    ("GET", TOKENS): list_tokens,
    ("POST", TOKENS): create_token,
    ("DELETE", TOKENS + "/{tokenId}"): revoke_token,
}
