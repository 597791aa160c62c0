"""The long-lived parts a request needs, built once per process by the app factory."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from app.auth.tokens import TokenService
from app.crypto import Sealer
from app.db.session import Database
from app.db.types import utcnow
from app.health import ClusterHealth, StatusChange
from app.k8s.cache import CacheOptions
from app.k8s.gateway import Gateway
from app.k8s.transport import ClientOptions
from app.operations.providers import providers
from app.operations.runner import OperationRunner
from app.outbound import OutboundPolicy
from app.ratelimit import CostBudget, cost_budget
from app.realtime.bus import RealtimeBus, status_channel
from app.realtime.expiry import SIGN_OUT_CHANNEL, SessionChecks, SignOuts
from app.realtime.ownership import LocalWatches, SharedWatches
from app.realtime.publisher import WatchPublisher
from app.realtime.shared import Selections
from app.settings import Settings

HANDSHAKES = 8


@dataclass
class Services:
    settings: Settings
    db: Database
    tokens: TokenService
    cost_budget: CostBudget
    sealer: Sealer
    gateway: Gateway
    health: ClusterHealth
    bus: RealtimeBus
    publisher: WatchPublisher
    watches: LocalWatches | SharedWatches
    operations: OperationRunner
    stream_counts: Counter[str] = field(default_factory=Counter)  # open live streams per tenant
    selections: Selections = field(default_factory=Selections)  # subscriptions sharing each event's work
    session_checks: SessionChecks = field(default_factory=SessionChecks)  # live streams' session rechecks
    # websocket sign-ins and subscribe-time checks in flight, below the database pool's size
    handshakes: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(HANDSHAKES))
    sign_outs: SignOuts = field(init=False)  # live streams by the credentials behind them
    _listening: AsyncExitStack = field(init=False, default_factory=AsyncExitStack)

    def __post_init__(self) -> None:
        self.sign_outs = SignOuts(self.session_checks)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        db = Database(settings.database_url)
        bus = RealtimeBus(settings.broadcast_url)
        sealer = Sealer(settings.secret(), "cluster-connection")
        gateway = Gateway(
            client_options(settings),
            CacheOptions(idle_seconds=settings.k8s_cache_idle_seconds, max_objects=settings.k8s_cache_max_objects),
        )
        publisher = WatchPublisher(gateway, bus)
        watches: LocalWatches | SharedWatches = LocalWatches(publisher)
        if not settings.is_sqlite and not settings.broadcast_url.startswith("memory"):
            dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
            watches = SharedWatches(
                dsn,
                bus,
                publisher,
                gateway,
                lambda cid: register_cluster(db, gateway, sealer, cid),
                interval=settings.watch_ownership_seconds,
            )
            gateway.feeds = watches  # caches of clusters another replica owns follow its watches
        return cls(
            settings=settings,
            db=db,
            tokens=TokenService(settings.secret(), settings.access_token_minutes),
            cost_budget=cost_budget(settings),
            sealer=sealer,
            gateway=gateway,
            health=ClusterHealth(db, gateway, sealer, interval=settings.cluster_health_seconds),
            bus=bus,
            publisher=publisher,
            watches=watches,
            operations=OperationRunner(settings, db, gateway, sealer, bus, providers()),
        )

    async def start(self) -> None:
        """Background work of a serving process (inside its event loop)."""
        await self.bus.connect()
        await self._listening.enter_async_context(self.bus.listen(SIGN_OUT_CHANNEL, self.sign_outs.ended))
        self.health.listeners.append(self._publish_status)
        self.gateway.start()
        self.health.start()
        await self.watches.start()
        self.operations.start()

    async def _publish_status(self, change: StatusChange) -> None:
        payload = {
            "clusterId": change.cluster_id,
            "old": change.old,
            "new": change.new,
            "error": change.error,
            "timestamp": utcnow().isoformat().replace("+00:00", "Z"),
        }
        await self.bus.publish(status_channel(change.tenant_id), payload)

    async def close(self) -> None:
        await self.operations.stop()
        await self.watches.stop()
        await self.health.stop()
        await self.publisher.stop()
        await self.gateway.close()
        await self._listening.aclose()
        await self.bus.disconnect()
        await self.cost_budget.close()
        await self.db.dispose()


def client_options(settings: Settings) -> ClientOptions:
    """How every cluster is called (client-go's QPS 5 / burst 10 by default)."""
    return ClientOptions(
        timeout=settings.k8s_timeout_seconds,
        qps=settings.k8s_qps,
        burst=settings.k8s_burst,
        max_concurrency=settings.k8s_max_concurrency,
        breaker_threshold=settings.k8s_breaker_threshold,
        breaker_reset=settings.k8s_breaker_reset_seconds,
        impersonate=settings.k8s_impersonate,
        outbound=OutboundPolicy.from_settings(settings),  # every cluster's address is a tenant's choice
    )


async def register_cluster(db: Database, gateway: Gateway, sealer: Sealer, cluster_id: str) -> None:
    """Make a cluster's client in this process from its stored connection (for a new watch owner)."""
    from app.db.models import Cluster
    from loaders.clusters import ensure_registered

    async with db.session() as session:
        cluster = await session.get(Cluster, cluster_id)
    if cluster is not None:
        ensure_registered(gateway, sealer, cluster)
