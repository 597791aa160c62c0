"""Alert evaluation at run time, in the replica that owns each cluster's watches.

For every cluster it owns (``watches``: all of them in one process, those whose lock this replica
holds among several), the evaluator puts one listener on each watch-fed cache a rule reads (Pod,
Deployment, Job, Node, ResourceQuota, Secret), primes a ``ClusterState`` from the cache, then
evaluates on each watch event (``app.alerts.watching``). Replicas that own nothing of a cluster
only ``want`` its kinds, which is how a replica comes to take its lock (``SharedWatches`` claims the
lock of every wanted cluster nobody holds), so each rule of each cluster is evaluated exactly once in
the deployment; ``evaluations`` counts them per (cluster, rule).

Everything a cluster's alerts depend on goes through one inbox (``app.alerts.inbox``), drained by one
task in order: watch
events, re-lists, the cluster's connection status (``ClusterHealth``), tenant rules' samples, and
reviews (a timer that sleeps until the next pending alert is due, a time-dependent rule must be
looked at again, a silence starts or ends, or ``alert_evaluation_seconds``, whichever is first). Each
drained batch of a cluster becomes one transaction (``app.alerts.store``), then its changes go to
``listeners`` (the delivery worker); what a batch does to the cluster's alerts, muting included, is
decided in ``app.alerts.planning``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from app.alerts import store
from app.alerts.inbox import (
    ConnectionStatus,
    Flush,
    Inbox,
    Item,
    Relist,
    Review,
    Samples,
    TenantChanged,
    WatchEvent,
)
from app.alerts.lifecycle import FIRING
from app.alerts.planning import (
    DISCONNECTED,
    GONE_FOR,
    OpenAlert,
    Rulebook,
    due_now,
    mirror,
    next_moments,
    plan,
    take_samples,
)
from app.alerts.rules import Condition, Rule, rule_set
from app.alerts.silences import silenced_by as silences_muting
from app.alerts.state import Change
from app.alerts.store import ClusterRef, StoredChange
from app.alerts.tenant_rules import InstantQueries, TenantRule, describe, query_rule, rule_conditions
from app.alerts.tenants import Tenants
from app.alerts.watching import KINDS, RELIST_BACKOFF, WatchedCluster, keep_watching, prime, stop_watching
from app.crypto import Sealer
from app.db.models import Cluster
from app.db.session import Database
from app.db.types import utcnow
from app.errors import AppError
from app.health import ClusterHealth, StatusChange
from app.k8s.gateway import Gateway
from app.k8s.resources import resolve_kind
from app.realtime.bus import RealtimeBus
from app.realtime.ownership import LocalWatches, SharedWatches
from app.settings import Settings
from loaders.clusters import ensure_registered

log = logging.getLogger("fleetgraph.alerts")
OVERDUE_PAUSE = 0.25  # seconds the timer waits when a review was due already last time (a failing database)
ChangeListener = Callable[[Sequence[StoredChange]], Awaitable[None]]

__all__ = [
    "DISCONNECTED", "GONE_FOR", "KINDS", "OVERDUE_PAUSE", "RELIST_BACKOFF", "AlertEvaluator", "ChangeListener",
    "InstantQueries", "TenantRule", "describe", "rule_conditions",
]


class AlertEvaluator:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        gateway: Gateway,
        sealer: Sealer,
        bus: RealtimeBus,
        watches: LocalWatches | SharedWatches,
        health: ClusterHealth,
        *,
        backend: InstantQueries | None = None,
        rules: Mapping[str, Rule] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings, self.db, self.gateway, self.sealer, self.bus = settings, db, gateway, sealer, bus
        self.watches, self.health, self.backend, self.clock = watches, health, backend, clock
        self.rules: dict[str, Rule] = dict(rules if rules is not None else rule_set())
        self.listeners: list[ChangeListener] = []
        self.evaluations: Counter[tuple[str, str]] = Counter()
        self._by_kind = {kind: [r.code for r in self.rules.values() if kind in r.kinds] for kind in KINDS}
        self._clusters: dict[str, WatchedCluster] = {}
        self._wanted: set[str] = set()
        self._inbox = Inbox()
        self._rearm = asyncio.Event()
        self._tenants = Tenants(db, bus, clock, lambda tenant_id: self._inbox.put(TenantChanged(tenant_id)))
        self._tasks: list[asyncio.Task[None]] = []
        self._ready: dict[str, asyncio.Event] = {}  # set once a cluster's kinds are all listed and evaluated
        self._last_rule_round: datetime | None = None
        self._batch_since: float | None = None  # when the oldest item of the batch being evaluated was queued

    # -- running ------------------------------------------------------------------------------------

    async def start(self) -> None:
        self.health.listeners.append(self._on_status)
        self._tasks = [asyncio.create_task(self._work(), name="alerts-evaluate")]
        await self.take_stock()
        self._tasks += [asyncio.create_task(self._stocktaking(), name="alerts-ownership"),
                        asyncio.create_task(self._timer(), name="alerts-timer")]

    async def stop(self) -> None:
        if self._on_status in self.health.listeners:
            self.health.listeners.remove(self._on_status)
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for cluster_id in list(self._clusters):
            await self._detach(cluster_id)
        self._inbox.close()

    def owns(self, cluster_id: str) -> bool:
        return not self.watches.distributed or cluster_id in self.watches.owned()

    def evaluating(self) -> list[str]:
        """The clusters this replica evaluates now."""
        return sorted(self._clusters)

    @property
    def running(self) -> bool:
        return bool(self._tasks) and not any(task.done() for task in self._tasks)

    def lag_seconds(self) -> float:
        """How long the oldest change not yet evaluated (a watch event, a sample, a status) has waited."""
        waiting = [t for t in (self._batch_since, self._inbox.oldest) if t is not None]
        return max(0.0, asyncio.get_running_loop().time() - min(waiting)) if waiting else 0.0

    async def primed(self, cluster_id: str) -> None:
        """Return once every kind of the cluster has been listed and evaluated here."""
        await self._ready.setdefault(cluster_id, asyncio.Event()).wait()

    async def flush(self) -> None:
        """Return once everything queued before this call has been evaluated and stored."""
        done = asyncio.get_running_loop().create_future()
        self._inbox.put(Flush(done))
        await done

    # -- which clusters ------------------------------------------------------------------------------

    async def _stocktaking(self) -> None:
        while True:
            await asyncio.sleep(self.settings.watch_ownership_seconds)
            try:
                await self.take_stock()
            except Exception:  # the loop must outlive one failed round
                log.exception("alert ownership round failed")

    async def take_stock(self) -> None:
        """Attach the clusters this replica owns and does not evaluate yet, detach those it lost, want
        the others (several replicas), re-prime kinds whose cache could not be listed before."""
        query = select(Cluster).where(Cluster.deleted_at.is_(None), Cluster.connection_sealed != "")
        async with self.db.session() as session:
            rows = list((await session.execute(query)).scalars())
        listed = {row.id for row in rows}
        for cluster_id in sorted(set(self._clusters) - listed):
            await self._detach(cluster_id)
        for row in rows:
            if not self.owns(row.id):
                if row.id in self._clusters:
                    await self._detach(row.id)
                if self.watches.distributed and row.id not in self._wanted:
                    self._wanted.add(row.id)
                    for kind in KINDS:
                        await self.watches.want(row.id, resolve_kind(kind))
                continue
            cluster = self._clusters.get(row.id)
            if cluster is None:
                await self._attach(row)
                continue
            if cluster.status is not None and row.status != cluster.status:
                self._inbox.put(ConnectionStatus(row.id, row.status))
            keep_watching(cluster, self.gateway, self._inbox)

    async def _attach(self, row: Cluster) -> None:
        try:
            ensure_registered(self.gateway, self.sealer, row)
        except AppError as exc:
            log.warning("alerts of cluster %s cannot be evaluated: %s", row.id, exc.message)
            return
        cluster = WatchedCluster(ClusterRef(row.id, row.tenant_id))
        await self._tenants.follow(row.tenant_id)
        silences = self._tenants.silences(row.tenant_id)
        restored = []
        for found in await store.load_open(self.db, row.id):
            labels = found.condition.labels_in(row.id)
            notified = found.state.state == FIRING and not found.inhibited and not silences_muting(
                labels, silences, self.clock())
            cluster.alerts[found.state.fingerprint] = OpenAlert(found.state, found.condition, found.facts,
                                                               found.summary, found.inhibited, notified)
            if notified:
                restored.append(StoredChange("RESTORED", row.tenant_id, row.id, found.row, False, False))
        self._clusters[row.id] = cluster
        log.info("evaluating the alerts of cluster %s (%d open)", row.id, len(cluster.alerts))
        self._inbox.put(ConnectionStatus(row.id, row.status))
        keep_watching(cluster, self.gateway, self._inbox)
        if restored:
            await self._tell(restored)

    async def _detach(self, cluster_id: str) -> None:
        cluster = self._clusters.pop(cluster_id, None)
        if cluster is None:
            return
        stop_watching(cluster)
        self._inbox.drop_cluster(cluster_id)
        if cluster_id in self._ready:
            self._ready[cluster_id].clear()
        tenant = cluster.ref.tenant_id
        if not any(c.ref.tenant_id == tenant for c in self._clusters.values()):
            await self._tenants.forget(tenant)
        log.info("no longer evaluating the alerts of cluster %s", cluster_id)

    # -- what feeds the inbox -------------------------------------------------------------------------

    async def _on_status(self, change: StatusChange) -> None:
        if change.cluster_id in self._clusters:
            self._inbox.put(ConnectionStatus(change.cluster_id, change.new))

    async def on_sample(self, cluster_id: str, tenant_id: str | None, at: datetime) -> None:
        """Evaluate the tenant's enabled rules for one cluster at a metrics sample's moment; returns once
        the outcome is stored. Clusters this replica does not evaluate are left alone."""
        cluster = self._clusters.get(cluster_id)
        if cluster is None or self.backend is None:
            return
        rules = [r for r in await self._tenants.rules(cluster.ref.tenant_id) if r.cluster_id in (None, cluster_id)]
        evaluated: set[str] = set()
        holding: dict[str, Condition] = {}
        for rule in rules:
            result = await query_rule(self.backend, rule, cluster_id, at)
            if result is None:
                continue
            evaluated.add(rule.id)
            self.evaluations[(cluster_id, rule.id)] += 1
            for condition in rule_conditions(rule, result):
                holding[condition.fingerprint] = condition
        done = asyncio.get_running_loop().create_future()
        self._inbox.put(Samples(cluster_id, frozenset(r.id for r in rules), frozenset(evaluated), holding, done))
        await done

    async def _timer(self) -> None:
        overdue = False
        while True:
            self._rearm.clear()
            now = self.clock()
            wait = (self._next_review(now) - now).total_seconds()
            overdue, was_overdue = wait <= 0, overdue
            try:
                async with asyncio.timeout(OVERDUE_PAUSE if overdue and was_overdue else max(0.0, wait)):
                    await self._rearm.wait()
                continue  # something changed what is due: look again
            except TimeoutError:
                pass
            await self._rule_round()
            for cluster_id in list(self._clusters):
                self._inbox.put(Review(cluster_id))

    async def _rule_round(self) -> None:
        """Without embedded samples (a Prometheus backend), tenant rules are evaluated on the timer."""
        if self.backend is None or self.backend.name == "embedded":
            return
        now = self.clock()
        if self._last_rule_round and now - self._last_rule_round < timedelta(
                seconds=self.settings.alert_evaluation_seconds):
            return
        self._last_rule_round = now
        for cluster in list(self._clusters.values()):
            await self.on_sample(cluster.ref.id, cluster.ref.tenant_id, now)

    def _next_review(self, now: datetime) -> datetime:
        moments = [now + timedelta(seconds=self.settings.alert_evaluation_seconds)]
        for cluster in self._clusters.values():
            moments += next_moments(cluster, self._rulebook(cluster))
        moments += self._tenants.silence_changes(now)
        return min(moments)

    # -- evaluating ----------------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            self._batch_since = None
            batch = await self._inbox.take()
            self._batch_since = self._inbox.taken_since
            for tenant in dict.fromkeys(i.tenant_id for i in batch if isinstance(i, TenantChanged)):
                await self._tenant_changed(tenant, batch)
            per_cluster: dict[str, list[Item]] = {}
            for item in batch:
                if not isinstance(item, TenantChanged | Flush):
                    per_cluster.setdefault(item.cluster_id, []).append(item)
            for cluster_id, items in per_cluster.items():
                try:
                    await self._evaluate(cluster_id, items)
                except Exception:  # the next review looks at everything again
                    log.exception("evaluating the alerts of cluster %s failed", cluster_id)
                    if cluster_id in self._clusters:
                        self._clusters[cluster_id].dirty = True
                finally:
                    for item in items:
                        if isinstance(item, Samples) and item.done is not None and not item.done.done():
                            item.done.set_result(None)
            for item in batch:
                if isinstance(item, Flush) and not item.done.done():
                    item.done.set_result(None)
            self._rearm.set()

    async def _tenant_changed(self, tenant_id: str | None, batch: list[Item]) -> None:
        if not self._tenants.followed(tenant_id):
            return
        try:
            await self._tenants.reload(tenant_id)
        except Exception:
            log.exception("reloading the silences of tenant %s failed", tenant_id)
        batch.extend(Review(c.ref.id) for c in self._clusters.values() if c.ref.tenant_id == tenant_id)

    async def _evaluate(self, cluster_id: str, items: list[Item]) -> None:
        cluster = self._clusters.get(cluster_id)
        if cluster is None:
            return
        now = self.clock()
        touched: set[str] = set()
        for item in items:
            mirror(cluster, self._apply(cluster, item, now, touched), touched)
        book = self._rulebook(cluster)
        touched.update(due_now(cluster, book, now))
        planned, updates = plan(cluster, touched, now, book, self._tenants.silences(cluster.ref.tenant_id))
        changes = await store.record(self.db, cluster.ref, updates, now)
        for fingerprint, alert in planned.items():
            if alert is None:
                cluster.alerts.pop(fingerprint, None)
            else:
                cluster.alerts[fingerprint] = alert
        cluster.dirty = False
        if cluster.primed.issuperset(KINDS):
            self._ready.setdefault(cluster_id, asyncio.Event()).set()
        if changes:
            await self._tell(changes)

    def _apply(self, cluster: WatchedCluster, item: Item, now: datetime, touched: set[str]) -> Change:
        cid = cluster.ref.id
        if isinstance(item, WatchEvent):
            self._count(cid, item.kind, 1)
            return cluster.state.apply(item.type, item.kind, item.obj, now)
        if isinstance(item, Relist):
            cluster.primed.add(item.kind)
            self._count(cid, item.kind, len(item.objects))
            return cluster.state.reset(item.kind, item.objects, now)
        if isinstance(item, ConnectionStatus):
            before, cluster.status = cluster.status, item.status
            if before == item.status:
                return Change()
            self.evaluations[(cid, DISCONNECTED)] += 1
            if before == "disconnected":  # back: what changed meanwhile is in the caches
                for kind in KINDS:
                    prime(cluster, kind, self._inbox)
            return cluster.state.connection(item.status)
        if isinstance(item, Samples):
            take_samples(cluster, self.rules, item.rules, item.evaluated, item.holding, touched)
            return Change()
        if isinstance(item, Review):
            touched.update(cluster.alerts)
            if cluster.dirty:
                touched.update(cluster.holding)
            return cluster.state.recheck(now)
        return Change()

    def _count(self, cluster_id: str, kind: str, objects: int) -> None:
        for code in self._by_kind.get(kind, ()):
            self.evaluations[(cluster_id, code)] += objects

    def _rulebook(self, cluster: WatchedCluster) -> Rulebook:
        return Rulebook(self.rules, self._tenants.known_rules(cluster.ref.tenant_id))

    async def _tell(self, changes: Sequence[StoredChange]) -> None:
        for listener in list(self.listeners):
            try:
                await listener(changes)
            except Exception:  # one listener's failure must not keep the others from hearing
                log.exception("an alert change listener failed")
