"""Provisioner samples: the root paths (seed 004, "Root Endpoints")."""

from __future__ import annotations

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World


@sample(foreign=False)
async def api_info(world: World) -> Request:
    return Request(role=None)


@sample(foreign=False)
async def health(world: World) -> Request:
    return Request(role=None)


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/"): api_info,
    ("GET", "/health"): health,
}
