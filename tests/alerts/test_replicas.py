"""Two replicas on one PostgreSQL and one Redis (the bus), sharing the watches as `fleetgraph serve` does.

Only the replica holding a cluster's watch lock evaluates its rules: every Pod event the owner's
cache delivers is one PodCrashLooping evaluation there and none in the other replica, so the two
together count what one replica alone would. Each change is one alert row and one delivery per
receiver; when the owner stops, the other replica takes the lock over and carries the open alert
on (the same row) to its resolution.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from app.alerts.channels import alerts_channel
from app.alerts.delivery import AlertDelivery
from app.alerts.evaluator import AlertEvaluator
from app.metrics.backend import embedded_store
from app.metrics.embedded import EmbeddedBackend
from app.services import Services
from app.settings import Settings
from kubesim.fleet import start_fleet
from tests.alerts.test_evaluator import (
    ALERT_RULES,
    HOOK_SECRET,
    Heard,
    Hook,
    add_cluster,
    add_node,
    add_receiver,
    add_tenant,
    alert_settings,
    deliveries_of,
    fast_sender,
    fix_crash_loop,
    make_crash_loop,
    matching,
    rows_of,
)
from tests.conftest import require_postgres, require_redis
from tests.support.databases import fresh_database, scratch_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@dataclass
class Replica:
    name: str
    services: Services
    evaluator: AlertEvaluator
    delivery: AlertDelivery
    heard: Heard
    stack: contextlib.AsyncExitStack

    def counted(self, cluster_id: str) -> int:
        return sum(n for (cid, _), n in self.evaluator.evaluations.items() if cid == cluster_id)

    async def stop(self) -> None:
        await self.evaluator.stop()
        await self.delivery.stop()
        await self.stack.aclose()
        await self.services.close()  # closes the lock connection: the watch lock is released


@contextlib.asynccontextmanager
async def replica(name: str, settings: Settings, tenant_id: str) -> AsyncIterator[Replica]:
    services = Services.from_settings(settings)
    assert services.watches.distributed, "two replicas share the watches through PostgreSQL"
    await services.start()
    stack = contextlib.AsyncExitStack()
    heard = Heard()
    await stack.enter_async_context(services.bus.listen(alerts_channel(tenant_id), heard.put))
    delivery = AlertDelivery(settings, services.db, services.bus, sender=fast_sender(settings))
    evaluator = AlertEvaluator(settings, services.db, services.gateway, services.sealer, services.bus,
                               services.watches, services.health,
                               backend=EmbeddedBackend(embedded_store(settings, services.db)), rules=ALERT_RULES)
    evaluator.listeners.append(delivery.submit)
    delivery.start()
    await evaluator.start()
    running = Replica(name, services, evaluator, delivery, heard, stack)
    stopped = False

    async def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            await Replica.stop(running)

    running.stop = stop  # type: ignore[method-assign]
    try:
        yield running
    finally:
        await stop()


async def owner_of(cluster_id: str, *replicas: Replica) -> Replica:
    """The replica that took the cluster's lock, once it has listed and evaluated everything."""
    waits = {asyncio.create_task(r.evaluator.primed(cluster_id)): r for r in replicas}
    try:
        done, _ = await asyncio.wait(waits, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
    assert done, "no replica took the cluster"
    return waits[next(iter(done))]


async def test_each_rule_is_evaluated_once_and_each_change_delivered_once_across_replicas() -> None:
    redis = require_redis()
    async with scratch_postgres(require_postgres()) as url, \
            start_fleet(1, profile=None, seed=12, speed=5, control=True) as fleet:
        await fresh_database(url)
        await add_node(fleet)
        settings = alert_settings(url, broadcast_url=redis)
        setup = Services.from_settings(settings)
        tenant_id = await add_tenant(setup.db, "replicas")
        cluster_id = await add_cluster(setup, tenant_id, fleet.kubeconfigs["cluster-0"].read_text())
        hook = await Hook(HOOK_SECRET).start()
        await add_receiver(setup.db, settings, tenant_id, hook.url)
        await setup.db.dispose()
        try:
            async with replica("a", settings, tenant_id) as a, replica("b", settings, tenant_id) as b:
                owner = await owner_of(cluster_id, a, b)
                other = b if owner is a else a
                assert cluster_id in owner.services.watches.owned()
                assert cluster_id not in other.services.watches.owned()
                assert cluster_id not in other.evaluator.evaluating()
                await once_each(owner, other, fleet, cluster_id, hook)
                await carried_over(owner, other, fleet, cluster_id, hook)
        finally:
            await hook.stop()


async def once_each(owner: Replica, other: Replica, fleet: Any, cluster_id: str, hook: Hook) -> None:
    pod_events = 0

    def counting(_: str, __: dict[str, Any]) -> None:
        nonlocal pod_events
        pod_events += 1

    before = owner.evaluator.evaluations[(cluster_id, "PodCrashLooping")]
    owner.services.gateway.cache(cluster_id, "Pod").add_listener(counting)
    start = len(other.heard.messages)
    await make_crash_loop(fleet, "flaky")
    firing = await other.heard.first(matching("PodCrashLooping", "flaky-", "FIRING"), after=start)
    await fix_crash_loop(fleet, "flaky")
    resolved = await other.heard.first(matching("PodCrashLooping", "flaky-", "RESOLVED"), after=start)
    assert resolved["id"] == firing["id"]
    await hook.until(lambda: len(hook.about(firing["id"])) == 2)

    owner.services.gateway.cache(cluster_id, "Pod").remove_listener(counting)
    await owner.evaluator.flush()
    assert pod_events > 0
    assert owner.evaluator.evaluations[(cluster_id, "PodCrashLooping")] - before == pod_events
    assert other.counted(cluster_id) == 0, "the replica without the lock evaluates nothing of the cluster"
    assert owner.counted(cluster_id) + other.counted(cluster_id) == owner.counted(cluster_id)

    await owner.delivery.idle()
    await other.delivery.idle()
    assert len(await rows_of(owner.services.db, cluster_id, firing["alert"]["fingerprint"])) == 1
    assert [(d.alert_status, d.status) for d in await deliveries_of(owner.services.db, firing["id"])] == [
        ("firing", "delivered"), ("resolved", "delivered")]
    assert [m["status"] for m in hook.about(firing["id"])] == ["firing", "resolved"]
    heard_by_both = [m["type"] for m in other.heard.messages[start:] if m["id"] == firing["id"]]
    assert heard_by_both.count("FIRING") == 1 and heard_by_both.count("RESOLVED") == 1


async def carried_over(owner: Replica, other: Replica, fleet: Any, cluster_id: str, hook: Hook) -> None:
    start = len(other.heard.messages)
    await make_crash_loop(fleet, "moved")
    firing = await other.heard.first(matching("PodCrashLooping", "moved-", "FIRING"), after=start)
    await hook.until(lambda: len(hook.about(firing["id"])) == 1)
    await owner.delivery.idle()
    await owner.stop()

    await asyncio.wait_for(other.evaluator.primed(cluster_id), 30)
    assert cluster_id in other.services.watches.owned()
    taken = len(other.heard.messages)
    await fix_crash_loop(fleet, "moved")
    resolved = await other.heard.first(matching("PodCrashLooping", "moved-", "RESOLVED"), after=taken)
    assert resolved["id"] == firing["id"] and resolved["delivered"]
    assert not [m for m in other.heard.messages[taken:] if m["id"] == firing["id"] and m["type"] == "FIRING"]
    await hook.until(lambda: len(hook.about(firing["id"])) == 2)
    await other.delivery.idle()
    rows = await rows_of(other.services.db, cluster_id, firing["alert"]["fingerprint"])
    assert [(r.id, r.state) for r in rows] == [(firing["id"], "resolved")]
    assert [(d.alert_status, d.status) for d in await deliveries_of(other.services.db, firing["id"])] == [
        ("firing", "delivered"), ("resolved", "delivered")]
    assert [m["status"] for m in hook.about(firing["id"])] == ["firing", "resolved"]
    assert other.evaluator.evaluations[(cluster_id, "PodCrashLooping")] > 0
