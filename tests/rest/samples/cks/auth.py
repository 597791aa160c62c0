"""CKS samples: signing in and out, refreshing, the password, who am I, sessions (seed 001, "Auth API").

A path that ends or changes a credential works on a sign-in of its own, never on the world's."""

from __future__ import annotations

import uuid

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World

NEW_PASSWORD = "another-horse-battery-7"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def fresh_sign_in(world: World, role: str = "developer") -> dict[str, str]:
    """A new session of one of the tenant's users: its tokens, apart from the world's."""
    signed = await world.api.login(world.tenant.emails[role], world.password)
    return {"access": str(signed["accessToken"]), "refresh": str(signed["refreshToken"])}


async def new_user(world: World, role: str = "viewer") -> str:
    """A user made for the sample, whose password it may change: their email."""
    email = f"pw-{uuid.uuid4().hex[:8]}@{world.tenant.slug}.test"
    await world.gql(
        "mutation($t:ID!,$i:CreateUserInput!){ createUser(tenantId:$t, input:$i){ id } }",
        {"t": world.tenant.id, "i": {"email": email, "name": "Pat Smith", "role": role, "password": world.password}},
    )
    return email


@sample(foreign=False)
async def login(world: World) -> Request:
    return Request(body={"email": world.tenant.emails["viewer"], "password": world.password}, role=None)


@sample(foreign=False, writes=True)
async def logout(world: World) -> Request:
    return Request(role=None, headers=bearer((await fresh_sign_in(world))["access"]))


@sample(foreign=False)
async def refresh(world: World) -> Request:
    return Request(body={"refreshToken": (await fresh_sign_in(world))["refresh"]}, role=None)


@sample(foreign=False, writes=True)
async def change_password(world: World) -> Request:
    signed = await world.api.login(await new_user(world), world.password)
    body = {"oldPassword": world.password, "newPassword": NEW_PASSWORD}
    return Request(body=body, role=None, headers=bearer(str(signed["accessToken"])))


@sample(foreign=False)
async def me(world: World) -> Request:
    return Request(role="operator")


@sample(foreign=False)
async def sessions(world: World) -> Request:
    return Request(role="viewer")


@sample(writes=True)
async def revoke_session(world: World) -> Request:
    token = (await fresh_sign_in(world))["access"]
    listed = await world.api.ok("{ sessions { id current } }", token=token)
    current = next(s["id"] for s in listed["sessions"] if s["current"])
    return Request(path={"sessionId": current}, role=None, headers=bearer(token))


SAMPLES: dict[tuple[str, str], Sample] = {
    ("POST", "/api/auth/login"): login,
    ("POST", "/api/auth/logout"): logout,
    ("POST", "/api/auth/refresh"): refresh,
    ("POST", "/api/auth/change-password"): change_password,
    ("GET", "/api/auth/me"): me,
    ("GET", "/api/auth/sessions"): sessions,
    ("DELETE", "/api/auth/sessions/{sessionId}"): revoke_session,
}
