"""The Provisioner's root paths: what the API is, and that it is up. Served under
/compat/provisioner only (the bare `/` and `/health` are the app's own)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.rest.routing import COMPAT
from app.rest.rows import Call, Row

DOC = "service.graphql"
TAG = "Provisioner: service"
API = f"{COMPAT}/provisioner/api/v1"


class ProvisionerApiInfo(BaseModel):
    message: str
    version: str
    docs: str
    api: str


class ProvisionerHealth(BaseModel):
    status: str
    version: str


def _info(value: dict[str, Any], _: Call) -> dict[str, str]:
    return {"message": "Kubernetes Provisioner Platform API", "version": value["version"], "docs": "/docs", "api": API}


def _health(value: dict[str, Any], _: Call) -> dict[str, str]:
    """The schema answered, so the service is up."""
    return {"status": "healthy", "version": value["version"]}


ROWS = [
    Row(
        "GET",
        "/",
        DOC,
        ("ProvisionerServiceInfo",),
        "API Info",
        TAG,
        pick="serviceInfo",
        shape=_info,
        public=True,
        response=ProvisionerApiInfo,
    ),
    Row(
        "GET",
        "/health",
        DOC,
        ("ProvisionerServiceInfo",),
        "Health Check",
        TAG,
        pick="serviceInfo",
        shape=_health,
        public=True,
        response=ProvisionerHealth,
    ),
]
