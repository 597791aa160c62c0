"""QAssure samples: signing in and out (seed 003, "1. AUTHENTICATION APIs").

The sign-out ends a session of its own, so the world's tokens stay valid."""

from __future__ import annotations

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World


@sample(foreign=False)
async def login(world: World) -> Request:
    return Request(body={"email": world.tenant.emails["viewer"], "password": world.password}, role=None)


@sample(foreign=False)
async def logout(world: World) -> Request:
    session = await world.api.login(world.tenant.emails["viewer"], world.password)
    return Request(body={}, role=None, headers={"Authorization": f"Bearer {session['accessToken']}"})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("POST", "/api/v1/auth/login"): login,
    ("POST", "/api/v1/auth/logout"): logout,
}
