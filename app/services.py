"""The long-lived parts a request needs, built once per process by the app factory."""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.tokens import TokenService
from app.crypto import Sealer
from app.db.session import Database
from app.k8s.cache import Gateway
from app.settings import Settings
from schema.limits import CostBudget


@dataclass
class Services:
    settings: Settings
    db: Database
    tokens: TokenService
    cost_budget: CostBudget
    sealer: Sealer
    gateway: Gateway

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        return cls(
            settings=settings,
            db=Database(settings.database_url),
            tokens=TokenService(settings.secret(), settings.access_token_minutes),
            cost_budget=CostBudget(settings.tenant_cost_budget, settings.tenant_cost_window_seconds),
            sealer=Sealer(settings.secret(), "cluster-connection"),
            gateway=Gateway(),
        )

    async def close(self) -> None:
        await self.gateway.close()
        await self.db.dispose()
