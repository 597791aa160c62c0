"""What the REST tests' requests act on: two tenants with a user per role, a kubesim cluster
registered to the first, and a place for samples to keep what they created."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.db.session import Database
from app.services import Services
from kubesim.fleet import Fleet
from tests.support.api import PASSWORD, Api, TenantUsers

CLUSTER = "cluster-0"
NAMESPACE = "shop"  # the small profile's app namespace


@dataclass
class World:
    api: Api
    provider: str  # the provider admin's token
    tenant: TenantUsers  # tenant_admin, operator, developer, viewer
    other: TenantUsers  # another customer: its admin must see nothing of `tenant`
    cluster_id: str
    fleet: Fleet
    services: Services  # the app's own: what a sample runs operations with (the app runs none)
    password: str = PASSWORD
    kept: dict[str, Any] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        """For setting up what no API creates on demand (a notification)."""
        return self.services.db

    def token(self, role: str) -> str:
        return self.provider if role == "provider" else self.tenant.tokens[role]

    async def gql(self, query: str, variables: dict[str, Any] | None = None, role: str = "tenant_admin") -> Any:
        """Set things up through GraphQL (never through the path under test)."""
        return await self.api.ok(query, variables or {}, self.token(role))
