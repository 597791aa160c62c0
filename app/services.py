"""The long-lived parts a request needs, built once per process by the app factory."""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.tokens import TokenService
from app.crypto import Sealer
from app.db.session import Database
from app.health import ClusterHealth
from app.k8s.cache import Gateway
from app.k8s.transport import ClientOptions
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
    health: ClusterHealth

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        db = Database(settings.database_url)
        sealer = Sealer(settings.secret(), "cluster-connection")
        gateway = Gateway(
            ClientOptions(timeout=settings.k8s_timeout_seconds, breaker_reset=settings.k8s_breaker_reset_seconds)
        )
        return cls(
            settings=settings,
            db=db,
            tokens=TokenService(settings.secret(), settings.access_token_minutes),
            cost_budget=CostBudget(settings.tenant_cost_budget, settings.tenant_cost_window_seconds),
            sealer=sealer,
            gateway=gateway,
            health=ClusterHealth(db, gateway, sealer, interval=settings.cluster_health_seconds),
        )

    def start(self) -> None:
        """Background work of a serving process (inside its event loop)."""
        self.gateway.start()
        self.health.start()

    async def close(self) -> None:
        await self.health.stop()
        await self.gateway.close()
        await self.db.dispose()
