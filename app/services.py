"""The long-lived parts a request needs, built once per process by the app factory."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from app.alerts.delivery import AlertDelivery
from app.alerts.evaluator import AlertEvaluator
from app.alerts.rules import rule_set
from app.auth.tokens import TokenService
from app.crypto import Sealer
from app.db.session import Database
from app.db.types import utcnow
from app.health import ClusterHealth, StatusChange
from app.k8s.cache import CacheOptions
from app.k8s.gateway import Gateway
from app.k8s.transport import ClientOptions
from app.metrics.backend import MetricsBackend, backend_from_settings, embedded_store
from app.metrics.sampler import Sampler
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
DEFAULT_SAMPLING = 15.0  # seconds between samples when the setting is 0 (sampling off): what history assumes


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
    metrics: MetricsBackend  # where metrics history and PromQL are answered from
    sampler: Sampler  # the embedded backend's sampling of the clusters this replica owns
    alerts: AlertEvaluator  # rules evaluated for the clusters this replica owns
    alert_delivery: AlertDelivery  # alert changes to the bus, users, webhooks and Alertmanager
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
        health = ClusterHealth(db, gateway, sealer, interval=settings.cluster_health_seconds)
        store = embedded_store(settings, db)
        metrics = backend_from_settings(settings, db, store)
        interval = settings.metrics_interval_seconds or DEFAULT_SAMPLING
        sampler = Sampler(db, gateway, sealer, watches, store, interval=interval)
        rules = rule_set(settings.alert_rule_for)
        alerts = AlertEvaluator(settings, db, gateway, sealer, bus, watches, health, backend=metrics, rules=rules)
        delivery = AlertDelivery(settings, db, bus)
        alerts.listeners.append(delivery.submit)
        if metrics.name == "embedded":  # with Prometheus, tenant rules run on the evaluator's own timer
            sampler.listeners.append(alerts.on_sample)
        return cls(
            settings=settings,
            db=db,
            tokens=TokenService(settings.secret(), settings.access_token_minutes),
            cost_budget=cost_budget(settings),
            sealer=sealer,
            gateway=gateway,
            health=health,
            bus=bus,
            publisher=publisher,
            watches=watches,
            operations=OperationRunner(settings, db, gateway, sealer, bus, providers()),
            metrics=metrics,
            sampler=sampler,
            alerts=alerts,
            alert_delivery=delivery,
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
        if self.settings.metrics_interval_seconds and self.metrics.name == "embedded":
            self.sampler.start()
        if self.settings.alert_evaluation:
            self.alert_delivery.start()
            await self.alerts.start()

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
        await self.alerts.stop()
        await self.alert_delivery.stop()
        await self.sampler.stop()
        await self.metrics.close()
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
