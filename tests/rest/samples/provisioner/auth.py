"""Provisioner samples: sign-in, refresh, sign-out and the caller (seed 004, "Auth Endpoints").

Refresh and sign-out act on a session of their own, so the world's tokens stay valid."""

from __future__ import annotations

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World


async def _fresh_session(world: World) -> dict[str, str]:
    return await world.api.login(world.tenant.emails["viewer"], world.password)


@sample(foreign=False)
async def login(world: World) -> Request:
    body = {"username": world.tenant.emails["viewer"], "password": world.password, "grant_type": "password"}
    return Request(body=body, form=True, role=None)


@sample(foreign=False)
async def refresh(world: World) -> Request:
    session = await _fresh_session(world)
    return Request(body={"refresh_token": session["refreshToken"]}, role=None)


@sample(foreign=False)
async def logout(world: World) -> Request:
    session = await _fresh_session(world)
    return Request(role=None, headers={"Authorization": f"Bearer {session['accessToken']}"})


@sample(foreign=False)
async def me(world: World) -> Request:
    return Request(role="operator")


SAMPLES: dict[tuple[str, str], Sample] = {
    ("POST", "/api/v1/auth/login"): login,
    ("POST", "/api/v1/auth/refresh"): refresh,
    ("POST", "/api/v1/auth/logout"): logout,
    ("GET", "/api/v1/auth/me"): me,
}
