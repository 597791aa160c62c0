"""Kubilitics samples (seed 002): health and capabilities."""

from __future__ import annotations

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World


@sample(foreign=False)
async def health(world: World) -> Request:
    return Request(role=None)


@sample(foreign=False)
async def capabilities(world: World) -> Request:
    return Request(role="viewer")


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/health"): health,
    ("GET", "/capabilities"): capabilities,
}
