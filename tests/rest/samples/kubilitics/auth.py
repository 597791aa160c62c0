"""Kubilitics samples (seed 002): sign-in, the caller's own account and API keys."""

from __future__ import annotations

import uuid

from tests.rest.samples import Request, Sample, sample
from tests.rest.samples.kubilitics.accounts import CONFIRM, new_user, signed_in
from tests.rest.world import World


@sample(foreign=False)
async def login(world: World) -> Request:
    return Request(body={"username": world.tenant.emails["viewer"], "password": world.password}, role=None)


@sample(foreign=False)
async def refresh(world: World) -> Request:
    signed = await world.api.login(world.tenant.emails["viewer"], world.password)
    return Request(body={"refresh_token": signed["refreshToken"]}, role=None)


@sample(foreign=False)
async def logout(world: World) -> Request:
    """Ends a session of its own, not the one the other samples use."""
    return Request(role=None, headers=await signed_in(world, world.tenant.emails["viewer"]))


@sample(foreign=False)
async def me(world: World) -> Request:
    return Request(role="operator")


@sample(foreign=False, writes=True)
async def change_password(world: World) -> Request:
    _, email = await new_user(world)
    body = {"current_password": world.password, "new_password": f"changed-{uuid.uuid4().hex[:12]}-9"}
    return Request(body=body, role=None, headers=await signed_in(world, email))


@sample(foreign=False, writes=True)
async def create_api_key(world: World) -> Request:
    return Request(body={"name": "kcli-production"}, role="developer")


@sample(foreign=False)
async def list_api_keys(world: World) -> Request:
    return Request(role="developer")


@sample(foreign=True, writes=True)
async def delete_api_key(world: World) -> Request:
    created = await world.gql('mutation { createApiToken(name: "to-delete") { token { id } } }')
    return Request(path={"keyId": created["createApiToken"]["token"]["id"]}, headers=CONFIRM)


SAMPLES: dict[tuple[str, str], Sample] = {
    ("POST", "/api/v1/auth/login"): login,
    ("POST", "/api/v1/auth/refresh"): refresh,
    ("POST", "/api/v1/auth/logout"): logout,
    ("GET", "/api/v1/auth/me"): me,
    ("POST", "/api/v1/auth/change-password"): change_password,
    ("POST", "/api/v1/auth/api-keys"): create_api_key,
    ("GET", "/api/v1/auth/api-keys"): list_api_keys,
    ("DELETE", "/api/v1/auth/api-keys/{keyId}"): delete_api_key,
}
