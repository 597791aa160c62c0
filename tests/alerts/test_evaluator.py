"""The alert evaluator against a real kubesim cluster over HTTP, on SQLite and PostgreSQL.

A deployment made to crash-loop raises PodCrashLooping from the watch events alone: pending,
then firing once its (shortened) `for` has passed, then resolved when the deployment is fixed. A
cluster that stops answering raises ClusterDisconnected and holds the others back; a silence
mutes what it matches until it ends; a restarted evaluator carries the open alerts on. Every step
is awaited on the tenant's alert channel, never on a sleep.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from sqlalchemy import func, select

from app.alerts import store
from app.alerts.channels import alerts_channel, silences_channel
from app.alerts.delivery import RECEIVER_SECRET_PURPOSE, AlertDelivery
from app.alerts.evaluator import AlertEvaluator
from app.alerts.lifecycle import advance
from app.alerts.rules import RULES, ObjectRef, make_condition, rule_set
from app.alerts.signing import verify
from app.alerts.webhooks import Backoff, WebhookSender
from app.crypto import Sealer
from app.db.alerts import Alert, AlertReceiver, AlertRule, Incident, IncidentEvent, Silence
from app.db.alerts import AlertDelivery as DeliveryRow
from app.db.models import Cluster, Notification, Tenant, User
from app.db.types import utcnow
from app.ids import new_id
from app.k8s.kubeconfig import parse_kubeconfig
from app.metrics.backend import embedded_store
from app.metrics.embedded import EmbeddedBackend
from app.metrics.series import series_key
from app.outbound import OutboundPolicy
from app.realtime.bus import RealtimeBus
from app.services import Services
from app.settings import Settings, load_settings
from kubesim.fleet import Fleet, start_fleet
from tests.conftest import require_postgres
from tests.support.databases import fresh_database, scratch_postgres
from tests.support.server import free_port
from tests.support.waiting import eventually

SECRET = "alerts-test-secret-key-0123456789abcdef"
HOOK_SECRET = "hook-secret-value-not-to-be-logged"
NAMESPACE = "default"
QUICK = 1  # seconds PodCrashLooping must hold before it fires
SLOW = 3600  # the other rules never fire during a test
ALERT_RULES = rule_set({code: 0 if code in ("ClusterDisconnected",) else SLOW for code in RULES} | {
    "PodCrashLooping": QUICK})


# -- the parts a test talks to ------------------------------------------------------------------

class Hook:
    """A webhook receiver on a real port: verifies each signature and keeps what it was sent."""

    def __init__(self, secret: str, answers: list[int] | None = None) -> None:
        self.secret = secret
        self.answers = list(answers or [])
        self.calls = 0
        self.received: list[dict[str, Any]] = []
        self.unverified = 0
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.calls += 1
        if not verify(self.secret, body, dict(request.headers), time.time()):
            self.unverified += 1
            return web.Response(status=401)
        status = self.answers.pop(0) if self.answers else 200
        if status == 200:
            self.received.append(json.loads(body))
            self._changed.set()
        return web.Response(status=status)

    async def start(self) -> Hook:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def about(self, alert_id: str) -> list[dict[str, Any]]:
        """The messages received about one alert, in order."""
        return [m for m in self.received if any(a["annotations"].get("alert_id") == alert_id for a in m["alerts"])]

    async def until(self, check: Callable[[], bool], seconds: float = 30) -> None:
        async with asyncio.timeout(seconds):
            while not check():
                self._changed.clear()
                await self._changed.wait()


class Heard:
    """The messages of one bus channel, from the moment of entry."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    def put(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self._changed.set()

    async def first(self, check: Callable[[dict[str, Any]], bool], seconds: float = 30,
                    after: int = 0) -> dict[str, Any]:
        """The first message from index ``after`` on that passes ``check``, waiting for it if need be."""
        async with asyncio.timeout(seconds):
            while True:
                found = next((m for m in self.messages[after:] if check(m)), None)
                if found is not None:
                    return found
                self._changed.clear()
                await self._changed.wait()


def matching(rule: str, name_prefix: str, event: str) -> Callable[[dict[str, Any]], bool]:
    def check(message: dict[str, Any]) -> bool:
        alert = message["alert"]
        return (message["type"] == event and alert["rule"] == rule
                and str(alert["object_name"]).startswith(name_prefix))

    return check


@dataclass
class World:
    services: Services
    fleet: Fleet
    tenant_id: str
    cluster_id: str
    hook: Hook
    heard: Heard
    store_backend: EmbeddedBackend
    evaluator: AlertEvaluator
    delivery: AlertDelivery
    user_id: str = ""

    @property
    def db(self) -> Any:
        return self.services.db


def alert_settings(database_url: str, broadcast_url: str = "memory://", **more: Any) -> Settings:
    return load_settings(database_url=database_url, broadcast_url=broadcast_url, secret_key=SECRET,
                         cluster_health_seconds=0, operation_workers=0, watch_ownership_seconds=0.5,
                         alert_evaluation_seconds=5, k8s_breaker_reset_seconds=0.5, k8s_timeout_seconds=2, **more)


async def add_tenant(db: Any, slug: str) -> str:
    tenant_id = new_id("tenant")
    async with db.transaction() as session:
        session.add(Tenant(id=tenant_id, name=f"Alerts {slug}", slug=f"{slug}-{tenant_id[-6:].lower()}",
                           admin_email=f"admin@{slug}.test"))
    return tenant_id


async def add_cluster(services: Services, tenant_id: str, kubeconfig: str) -> str:
    connection = parse_kubeconfig(kubeconfig).connection(None)
    cluster_id = new_id("cluster")
    async with services.db.transaction() as session:
        session.add(Cluster(id=cluster_id, tenant_id=tenant_id, name="alerting", server_url=connection.server,
                            connection_sealed=services.sealer.seal(connection.to_json()),
                            kubeconfig_sealed=services.sealer.seal(kubeconfig), status="connected"))
    return cluster_id


async def add_receiver(db: Any, settings: Settings, tenant_id: str, url: str, min_severity: str = "info") -> str:
    receiver_id = new_id("alert_receiver")
    async with db.transaction() as session:
        session.add(AlertReceiver(id=receiver_id, tenant_id=tenant_id, name="hook", url=url,
                                  secret_sealed=Sealer(settings.secret(), RECEIVER_SECRET_PURPOSE).seal(HOOK_SECRET),
                                  min_severity=min_severity))
    return receiver_id


async def add_user(db: Any, tenant_id: str, preferences: dict[str, Any], role: str = "viewer") -> str:
    user_id = new_id("user")
    async with db.transaction() as session:
        session.add(User(id=user_id, tenant_id=tenant_id, email=f"{user_id.lower()}@alerts.test", name="On call",
                         role=role, password_hash="-", preferences=preferences))
    return user_id


def fast_sender(settings: Settings) -> WebhookSender:
    return WebhookSender(OutboundPolicy.from_settings(settings), backoff=Backoff(attempts=4, base=0.01, cap=0.05))


def kube(fleet: Fleet) -> httpx.AsyncClient:
    cluster = fleet.cluster("cluster-0")
    return httpx.AsyncClient(base_url=fleet.server_url("cluster-0"), timeout=10,
                             headers={"Authorization": f"Bearer {cluster.token}"})


def crash_looping(name: str, crashing: bool = True) -> dict[str, Any]:
    annotations = {"kubesim.io/crash-loop": "true" if crashing else "false", "kubesim.io/run-seconds": "1"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}, "annotations": annotations},
                                  "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]}}}}


async def make_crash_loop(fleet: Fleet, name: str) -> None:
    async with kube(fleet) as http:
        response = await http.post(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", json=crash_looping(name))
        assert response.status_code == 201, response.text


async def fix_crash_loop(fleet: Fleet, name: str) -> None:
    """A new rollout without the crash: the crashing pod is replaced by a healthy one."""
    async with kube(fleet) as http:
        response = await http.put(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{name}",
                                  json=crash_looping(name, crashing=False))
        assert response.status_code == 200, response.text


async def add_node(fleet: Fleet) -> None:
    async with kube(fleet) as http:
        assert (await http.post("/api/v1/nodes", json={"metadata": {"name": "node-a"}})).status_code == 201


async def rows_of(db: Any, cluster_id: str, fingerprint: str) -> list[Alert]:
    async with db.session() as session:
        query = select(Alert).where(Alert.cluster_id == cluster_id, Alert.fingerprint == fingerprint)
        return list((await session.execute(query.order_by(Alert.created_at))).scalars())


def samples(cluster_id: str, value: float, pod: str = "worker-1") -> dict[str, Any]:
    labels = {"cluster_id": cluster_id, "namespace": NAMESPACE, "pod": pod}
    return {series_key("queue_depth", labels): ("queue_depth", labels, value)}



async def told(bus: RealtimeBus, channel: str, message: dict[str, Any]) -> None:
    """Publish as the resolvers do; return once this process's listeners of the channel have it."""
    heard = Heard()
    async with bus.listen(channel, heard.put):
        await bus.publish(channel, message)
        await heard.first(lambda m: m == message, seconds=10)


async def add_rule(world: World, name: str, threshold: float = 10.0) -> str:
    """A tenant rule over `queue_depth` (for 0), the evaluator told of it."""
    rule_id = new_id("alert_rule")
    async with world.db.transaction() as session:
        session.add(AlertRule(id=rule_id, tenant_id=world.tenant_id, name=name, query="queue_depth",
                              comparison=">", threshold=threshold, for_seconds=0, severity="warning",
                              summary="queue of {pod} is {value} deep"))
    await told(world.services.bus, silences_channel(world.tenant_id), {"type": "RULES", "id": rule_id})
    await world.evaluator.flush()
    return rule_id


async def sample(world: World, value: float, pod: str) -> None:
    """One metrics sample written to the embedded store, then evaluated as the Sampler has it (at a whole
    millisecond: the embedded store's range check compares its raw times with millisecond bounds)."""
    now = utcnow()
    at = now.replace(microsecond=now.microsecond // 1000 * 1000)
    await world.store_backend.store.write(world.tenant_id, world.cluster_id, at, samples(world.cluster_id, value, pod))
    await world.evaluator.on_sample(world.cluster_id, world.tenant_id, at)


async def deliveries_of(db: Any, alert_id: str) -> list[DeliveryRow]:
    async with db.session() as session:
        query = select(DeliveryRow).where(DeliveryRow.alert_id == alert_id).order_by(DeliveryRow.created_at)
        return list((await session.execute(query)).scalars())


async def notifications_of(db: Any, alert_id: str) -> list[Notification]:
    async with db.session() as session:
        query = select(Notification).where(Notification.target_id == alert_id).order_by(Notification.created_at)
        return list((await session.execute(query)).scalars())


@asynccontextmanager
async def database(kind: str, directory: Path) -> AsyncIterator[str]:
    """A new, migrated database of `kind` that no other test module writes to."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{directory / 'alerts.db'}"
        await fresh_database(url)
        yield url
        return
    async with scratch_postgres(require_postgres()) as url:
        await fresh_database(url)
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        require_postgres()
    return str(request.param)


def evaluator_for(services: Services, settings: Settings, backend: EmbeddedBackend,
                  delivery: AlertDelivery) -> AlertEvaluator:
    evaluator = AlertEvaluator(settings, services.db, services.gateway, services.sealer, services.bus,
                               services.watches, services.health, backend=backend, rules=ALERT_RULES)
    evaluator.listeners.append(delivery.submit)
    return evaluator


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(kind: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with database(kind, tmp_path_factory.mktemp("alerts")) as url, \
            start_fleet(1, profile=None, seed=11, speed=5, control=True) as fleet:
        await add_node(fleet)
        settings = alert_settings(url)
        services = Services.from_settings(settings)
        await services.start()
        hook = await Hook(HOOK_SECRET).start()
        try:
            tenant_id = await add_tenant(services.db, "evaluator")
            cluster_id = await add_cluster(services, tenant_id, fleet.kubeconfigs["cluster-0"].read_text())
            await add_receiver(services.db, settings, tenant_id, hook.url)
            user_id = await add_user(services.db, tenant_id, {"alerts": {"notify": True, "minSeverity": "warning"}})
            backend = EmbeddedBackend(embedded_store(settings, services.db))
            heard = Heard()
            async with services.bus.listen(alerts_channel(tenant_id), heard.put):
                delivery = AlertDelivery(settings, services.db, services.bus, sender=fast_sender(settings))
                evaluator = evaluator_for(services, settings, backend, delivery)
                delivery.start()
                await evaluator.start()
                world = World(services, fleet, tenant_id, cluster_id, hook, heard, backend, evaluator, delivery,
                              user_id)
                try:
                    await asyncio.wait_for(evaluator.primed(cluster_id), 30)
                    yield world
                finally:
                    await world.evaluator.stop()
                    await delivery.stop()
        finally:
            await hook.stop()
            await services.close()


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- the tests -----------------------------------------------------------------------------------

async def test_a_crash_loop_goes_pending_then_firing_then_resolves_when_fixed(world: World) -> None:
    start = len(world.heard.messages)
    await make_crash_loop(world.fleet, "flaky")
    pending = await world.heard.first(matching("PodCrashLooping", "flaky-", "PENDING"), after=start)
    firing = await world.heard.first(matching("PodCrashLooping", "flaky-", "FIRING"), after=start)
    alert = firing["alert"]
    assert firing["id"] == pending["id"] and firing["delivered"] and not firing["inhibited"]
    assert when(alert["fired_at"]) - when(alert["active_since"]) >= timedelta(seconds=QUICK)
    assert alert["labels"]["cluster_id"] == world.cluster_id and alert["labels"]["container"] == "main"
    assert alert["topology_node_id"] == f"Pod/{NAMESPACE}/{alert['object_name']}"
    assert alert["severity"] == "critical" and "crash-looping" in alert["summary"]

    await fix_crash_loop(world.fleet, "flaky")
    resolved = await world.heard.first(matching("PodCrashLooping", "flaky-", "RESOLVED"), after=start)
    assert resolved["id"] == firing["id"] and resolved["delivered"]
    await world.hook.until(lambda: len(world.hook.about(firing["id"])) == 2)
    sent = world.hook.about(firing["id"])
    assert [m["status"] for m in sent] == ["firing", "resolved"] and world.hook.unverified == 0
    assert sent[1]["alerts"][0]["endsAt"].startswith(resolved["alert"]["resolved_at"][:19])

    [row] = await rows_of(world.db, world.cluster_id, alert["fingerprint"])
    assert row.id == firing["id"] and row.state == "resolved" and row.incident_id is not None
    async with world.db.session() as session:
        incident = await session.get(Incident, row.incident_id)
        lines = (await session.execute(select(IncidentEvent.kind).where(IncidentEvent.incident_id == row.incident_id)
                                       .order_by(IncidentEvent.at, IncidentEvent.id))).scalars()
        assert incident is not None and incident.status == "resolved" and incident.namespace == NAMESPACE
        assert list(lines) == ["alert_firing", "alert_resolved", "resolved"]
    await world.delivery.idle()
    assert [(d.alert_status, d.status, d.attempts) for d in await deliveries_of(world.db, row.id)] == [
        ("firing", "delivered", 1), ("resolved", "delivered", 1)]
    assert [n.kind for n in await notifications_of(world.db, row.id)] == ["alert.firing", "alert.resolved"]
    assert world.evaluator.evaluations[(world.cluster_id, "PodCrashLooping")] > 0


async def test_a_disconnected_cluster_holds_its_other_alerts_back_until_it_is_back(world: World) -> None:
    rule_id = await add_rule(world, "QueueTooDeep")
    start = len(world.heard.messages)
    await make_crash_loop(world.fleet, "steady")
    crashing = await world.heard.first(matching("PodCrashLooping", "steady-", "FIRING"), after=start)
    assert crashing["delivered"]

    await world.fleet.set_reachable("cluster-0", False)
    changes = await world.services.health.check_all()
    assert [c.new for c in changes if c.cluster_id == world.cluster_id] == ["disconnected"]
    down = await world.heard.first(lambda m: m["type"] == "FIRING" and m["alert"]["rule"] == "ClusterDisconnected",
                                   after=start)
    assert down["delivered"] and not down["inhibited"]
    await world.heard.first(lambda m: m["id"] == crashing["id"] and m["type"] == "UPDATED" and m["inhibited"],
                            after=start)

    await sample(world, 50, "worker-1")  # a new alert while the cluster is away: stored, held back
    deep = await world.heard.first(lambda m: m["type"] == "FIRING" and m["alert"]["rule"] == rule_id, after=start)
    assert deep["inhibited"] and not deep["delivered"] and deep["alert"]["summary"] == "queue of worker-1 is 50 deep"
    await world.delivery.idle()
    assert world.hook.about(deep["id"]) == [] and await deliveries_of(world.db, deep["id"]) == []

    await world.fleet.set_reachable("cluster-0", True)

    async def reconnected() -> bool:
        return any(c.cluster_id == world.cluster_id and c.new == "connected"
                   for c in await world.services.health.check_all())

    await eventually(reconnected, 20, "the cluster answering again")
    up = await world.heard.first(lambda m: m["type"] == "RESOLVED" and m["id"] == down["id"], after=start)
    assert up["delivered"]
    late = await world.heard.first(lambda m: m["type"] == "FIRING" and m["id"] == deep["id"] and m["delivered"],
                                   after=start)
    assert not late["inhibited"]
    await world.heard.first(lambda m: m["id"] == crashing["id"] and m["type"] == "UPDATED" and not m["inhibited"],
                            after=start)
    await world.hook.until(lambda: len(world.hook.about(deep["id"])) == 1)
    assert [m["status"] for m in world.hook.about(crashing["id"])] == ["firing"], "told once, not again"
    assert world.evaluator.evaluations[(world.cluster_id, "ClusterDisconnected")] >= 2

    await sample(world, 1, "worker-1")
    await world.heard.first(lambda m: m["type"] == "RESOLVED" and m["id"] == deep["id"], after=start)
    await fix_crash_loop(world.fleet, "steady")
    await world.heard.first(lambda m: m["type"] == "RESOLVED" and m["id"] == crashing["id"], after=start)


async def test_a_silence_mutes_what_it_matches_and_ends_on_time(world: World) -> None:
    rule_id = await add_rule(world, "QueueStuck", threshold=20)
    now = utcnow()
    ends = now + timedelta(seconds=2)
    silence_id = new_id("silence")
    async with world.db.transaction() as session:
        session.add(Silence(id=silence_id, tenant_id=world.tenant_id, starts_at=now - timedelta(seconds=1),
                            ends_at=ends, comment="maintenance",
                            matchers=[{"name": "pod", "value": "worker-[2]", "is_regex": True, "is_equal": True}]))
    await told(world.services.bus, silences_channel(world.tenant_id), {"type": "CREATED", "id": silence_id})
    await world.evaluator.flush()
    start = len(world.heard.messages)

    await sample(world, 50, "worker-2")
    muted = await world.heard.first(lambda m: m["type"] == "FIRING" and m["alert"]["rule"] == rule_id, after=start)
    assert not muted["delivered"] and muted["silencedBy"] == [silence_id] and not muted["inhibited"]
    [row] = await rows_of(world.db, world.cluster_id, muted["alert"]["fingerprint"])
    assert row.state == "firing", "a silenced alert is stored as its rule says"
    await world.delivery.idle()
    assert await deliveries_of(world.db, row.id) == [] and await notifications_of(world.db, row.id) == []

    late = await world.heard.first(lambda m: m["type"] == "FIRING" and m["id"] == row.id and m["delivered"],
                                   after=start, seconds=15)  # no event: the silence's end wakes the evaluator
    assert utcnow() >= ends and late["silencedBy"] == []
    await world.hook.until(lambda: len(world.hook.about(row.id)) == 1)
    await world.delivery.idle()
    assert [n.kind for n in await notifications_of(world.db, row.id)] == ["alert.firing"]
    await sample(world, 1, "worker-2")
    await world.heard.first(lambda m: m["type"] == "RESOLVED" and m["id"] == row.id, after=start)


async def test_a_restarted_evaluator_carries_the_open_alerts_on(world: World) -> None:
    start = len(world.heard.messages)
    await make_crash_loop(world.fleet, "restart")
    firing = await world.heard.first(matching("PodCrashLooping", "restart-", "FIRING"), after=start)
    await world.evaluator.stop()

    restarted = len(world.heard.messages)
    world.evaluator = evaluator_for(world.services, world.services.settings, world.store_backend, world.delivery)
    await world.evaluator.start()
    await asyncio.wait_for(world.evaluator.primed(world.cluster_id), 30)
    await world.evaluator.flush()
    again = [m for m in world.heard.messages[restarted:]
             if m["alert"]["fingerprint"] == firing["alert"]["fingerprint"] and m["type"] in ("PENDING", "FIRING")]
    assert again == [], "the open alert goes on: not raised again"

    await fix_crash_loop(world.fleet, "restart")
    resolved = await world.heard.first(matching("PodCrashLooping", "restart-", "RESOLVED"), after=restarted)
    assert resolved["id"] == firing["id"] and resolved["delivered"]
    assert "crash-looping" in resolved["alert"]["summary"] and "{" not in resolved["alert"]["summary"]
    rows = await rows_of(world.db, world.cluster_id, firing["alert"]["fingerprint"])
    assert [(r.id, r.state) for r in rows] == [(firing["id"], "resolved")]
    await world.hook.until(lambda: len(world.hook.about(firing["id"])) == 2)
    assert [m["status"] for m in world.hook.about(firing["id"])] == ["firing", "resolved"]


async def test_the_store_keeps_one_open_row_per_fingerprint_and_drops_pending_ones(world: World) -> None:
    cluster_id = new_id("cluster")  # no connection: no evaluator looks at it
    async with world.db.transaction() as session:
        session.add(Cluster(id=cluster_id, tenant_id=world.tenant_id, name="rows", server_url="https://127.0.0.1:1",
                            connection_sealed="", kubeconfig_sealed=""))
    cluster = store.ClusterRef(cluster_id, world.tenant_id)
    rule = RULES["JobFailed"]
    facts = store.RuleFacts(rule.code, rule.name, rule.severity, rule.runbook)
    condition = make_condition(rule, ObjectRef("Job", "batch", "nightly"), 3.0, None, {"reason": "BackoffLimit"})
    t0 = datetime(2030, 1, 1, tzinfo=UTC)

    first = advance(None, True, t0, 0, fingerprint=condition.fingerprint, rule=rule.code)
    assert first is not None and first.kind == "firing"
    [fired] = await store.record(world.db, cluster, [store.Update("FIRING", condition, facts, "s", first)], t0)
    ended = advance(first.state, False, t0 + timedelta(seconds=1), 0)
    assert ended is not None
    await store.record(world.db, cluster, [store.Update("RESOLVED", condition, facts, "s", ended)],
                       t0 + timedelta(seconds=1))
    again = advance(ended.state, True, t0 + timedelta(seconds=2), 0)
    assert again is not None and again.new_alert
    [refired] = await store.record(world.db, cluster, [store.Update("FIRING", condition, facts, "s", again)],
                                   t0 + timedelta(seconds=2))
    rows = await rows_of(world.db, cluster_id, condition.fingerprint)
    assert [(r.id, r.state) for r in rows] == [(fired.alert_id, "resolved"), (refired.alert_id, "firing")]
    assert rows[0].incident_id != rows[1].incident_id, "a resolved incident is never joined again"

    waiting = make_condition(RULES["PodNotReady"], ObjectRef("Pod", "batch", "p"), None, None, {})
    pending = advance(None, True, t0, 60, fingerprint=waiting.fingerprint, rule="PodNotReady")
    assert pending is not None and pending.kind == "pending"
    await store.record(world.db, cluster, [store.Update("PENDING", waiting, facts, "w", pending)], t0)
    dropped = advance(pending.state, False, t0 + timedelta(seconds=5), 60)
    assert dropped is not None and dropped.kind == "dropped"
    [gone] = await store.record(world.db, cluster, [store.Update("DROPPED", waiting, facts, "w", dropped)],
                                t0 + timedelta(seconds=5))
    assert gone.alert["state"] == "dropped" and await rows_of(world.db, cluster_id, waiting.fingerprint) == []
    assert [(o.alert_id, o.state.state) for o in await store.load_open(world.db, cluster_id)] == [
        (refired.alert_id, "firing")]
    async with world.db.session() as session:
        count = (await session.execute(select(func.count()).select_from(Incident)
                                       .where(Incident.cluster_id == cluster_id))).scalar_one()
    assert count == 2
