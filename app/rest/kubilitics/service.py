"""Kubilitics: health and capabilities (seed 002). `/health` is served under /compat/kubilitics
only: the bare `/health` is the service's own."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.rest.rows import Call, Row

DOC = "service.graphql"
TAG = "Kubilitics: health"


class Health(BaseModel):
    status: str
    service: str
    version: str
    topology_kinds: list[str]


def _healthy(value: dict[str, Any], _: Call) -> dict[str, Any]:
    """The schema answered, so the service is up."""
    return {"status": "healthy", **value}


ROWS = [
    Row(
        "GET",
        "/health",
        DOC,
        ("KubiliticsHealth",),
        "Health check endpoint",
        TAG,
        pick="serviceInfo",
        shape=_healthy,
        response=Health,
        public=True,
    ),
    Row(
        "GET",
        "/capabilities",
        DOC,
        ("KubiliticsCapabilities",),
        "Get backend capabilities (e.g., supported topology resource kinds)",
        TAG,
        pick="serviceInfo",
    ),
]
