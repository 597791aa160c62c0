"""The delivery worker with real HTTP receivers and a real Alertmanager, on SQLite and PostgreSQL.

Stored alert changes (written by `app.alerts.store`, as the evaluator does) go to the tenant's live
channel, to the users who ask for them, to each enabled receiver whose minimum severity they
meet (signed, retried, each attempt counted in an `alert_deliveries` row) and to Alertmanager.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from app.alerts import store
from app.alerts.alertmanager import AlertmanagerForwarder
from app.alerts.channels import alerts_channel
from app.alerts.delivery import AlertDelivery, wants
from app.alerts.lifecycle import advance
from app.alerts.payloads import ZERO_TIME, label_fingerprint, rfc3339
from app.alerts.rules import RULES, ObjectRef, make_condition
from app.alerts.webhooks import Backoff
from app.db.alerts import AlertReceiver
from app.db.models import Cluster, ClusterRoleOverride, Notification, Role
from app.db.session import Database
from app.db.types import utcnow
from app.ids import new_id
from app.realtime.bus import RealtimeBus
from app.settings import Settings
from tests.alerts.test_alertmanager import Alertmanager, alertmanager  # noqa: F401  (the fixture)
from tests.alerts.test_evaluator import (
    HOOK_SECRET,
    Heard,
    Hook,
    add_receiver,
    add_tenant,
    add_user,
    alert_settings,
    database,
    deliveries_of,
    fast_sender,
)
from tests.conftest import require_postgres
from tests.support.waiting import eventually


@dataclass
class Place:
    settings: Settings
    db: Database
    bus: RealtimeBus
    tenant_id: str
    cluster: store.ClusterRef
    heard: Heard


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        require_postgres()
    return str(request.param)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def place(kind: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Place]:
    async with database(kind, tmp_path_factory.mktemp("delivery")) as url:
        settings = alert_settings(url)
        db, bus = Database(url), RealtimeBus("memory://")
        await bus.connect()
        tenant_id = await add_tenant(db, "delivery")
        cluster_id = new_id("cluster")
        async with db.transaction() as session:
            session.add(Cluster(id=cluster_id, tenant_id=tenant_id, name="edge", server_url="https://127.0.0.1:1",
                                connection_sealed="", kubeconfig_sealed=""))
        heard = Heard()
        try:
            async with bus.listen(alerts_channel(tenant_id), heard.put):
                yield Place(settings, db, bus, tenant_id, store.ClusterRef(cluster_id, tenant_id), heard)
        finally:
            await bus.disconnect()
            await db.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def delivery(place: Place) -> AsyncIterator[AlertDelivery]:
    worker = AlertDelivery(place.settings, place.db, place.bus, sender=fast_sender(place.settings), forwarder=None)
    worker.start()
    try:
        yield worker
    finally:
        await worker.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def hooks() -> AsyncIterator[list[Hook]]:
    started: list[Hook] = []
    try:
        yield started
    finally:
        for hook in started:
            await hook.stop()


async def hook_for(place: Place, hooks: list[Hook], answers: list[int] | None = None,
                   min_severity: str = "info", enabled: bool = True) -> tuple[Hook, str]:
    hook = await Hook(HOOK_SECRET, answers).start()
    hooks.append(hook)
    receiver_id = await add_receiver(place.db, place.settings, place.tenant_id, hook.url, min_severity)
    if not enabled:
        async with place.db.transaction() as session:
            row = await session.get(AlertReceiver, receiver_id)
            assert row is not None
            row.enabled = False
    return hook, receiver_id


class Episode:
    """One alert of the place's cluster, moved through its lifecycle by the store as the evaluator would."""

    def __init__(self, place: Place, rule: str = "NodeNotReady", name: str | None = None) -> None:
        self.place = place
        self.rule = RULES[rule]
        ref = ObjectRef("Node", None, name or f"node-{secrets.token_hex(3)}")
        self.condition = make_condition(self.rule, ref, None, None, {"ready": "False", "reason": "KubeletDown"})
        self.facts = store.RuleFacts(self.rule.code, self.rule.name, self.rule.severity, self.rule.runbook)
        self.state: Any = None

    async def step(self, holding: bool, deliver: bool = True, silenced: tuple[str, ...] = ()) -> list[
            store.StoredChange]:
        now = utcnow()
        transition = advance(self.state, holding, now, 0, fingerprint=self.condition.fingerprint, rule=self.rule.code)
        assert transition is not None
        self.state = transition.state
        update = store.Update(transition.kind.upper(), self.condition, self.facts, self.rule.describe(self.condition),
                              transition, False, silenced, deliver)
        return await store.record(self.place.db, self.place.cluster, [update], now)


async def test_a_receiver_gets_the_signed_message_for_firing_and_resolved_and_attempts_are_kept(
        place: Place, delivery: AlertDelivery, hooks: list[Hook]) -> None:
    hook, receiver_id = await hook_for(place, hooks, answers=[500, 200])
    episode = Episode(place)
    start = len(place.heard.messages)
    [fired] = await episode.step(True)
    await delivery.submit([fired])
    await delivery.idle()
    [resolved] = await episode.step(False)
    await delivery.submit([resolved])
    await delivery.idle()

    assert hook.unverified == 0 and hook.calls == 3, "every attempt signed; the 500 was tried again"
    firing_message, resolved_message = hook.about(fired.alert_id)
    labels = {**episode.condition.labels, "cluster_id": place.cluster.id}
    assert firing_message["version"] == "4" and firing_message["receiver"] == "hook"
    assert firing_message["status"] == "firing" and firing_message["groupLabels"] == {
        "alertname": "NodeNotReady", "cluster_id": place.cluster.id}
    [alert] = firing_message["alerts"]
    assert alert["labels"] == labels and alert["fingerprint"] == label_fingerprint(labels)
    assert alert["startsAt"] == rfc3339(episode.state.fired_at) and alert["endsAt"] == ZERO_TIME
    assert alert["annotations"]["alert_id"] == fired.alert_id and "not ready" in alert["annotations"]["summary"]
    assert alert["annotations"]["runbook"] == RULES["NodeNotReady"].runbook
    assert resolved_message["status"] == "resolved"
    assert resolved_message["alerts"][0]["endsAt"] == rfc3339(episode.state.resolved_at)

    rows = await deliveries_of(place.db, fired.alert_id)
    assert [(r.receiver_id, r.alert_status, r.status, r.attempts, r.response_status, r.error) for r in rows] == [
        (receiver_id, "firing", "delivered", 2, 200, ""), (receiver_id, "resolved", "delivered", 1, 200, "")]
    assert all(r.delivered_at is not None for r in rows)
    events = [(m["type"], m["delivered"]) for m in place.heard.messages[start:] if m["id"] == fired.alert_id]
    assert events == [("FIRING", True), ("RESOLVED", True)]
    assert place.heard.messages[start]["alert"]["state"] == "firing"


async def test_only_the_receivers_an_alert_is_for_hear_of_it_and_a_refusal_is_final(
        place: Place, delivery: AlertDelivery, hooks: list[Hook]) -> None:
    critical_only, critical_id = await hook_for(place, hooks, min_severity="critical")
    disabled, disabled_id = await hook_for(place, hooks, enabled=False)
    refusing, refusing_id = await hook_for(place, hooks, answers=[400, 400, 400])
    episode = Episode(place)  # NodeNotReady: a warning
    [fired] = await episode.step(True)
    await delivery.submit([fired])
    await delivery.idle()
    assert critical_only.calls == 0 and disabled.calls == 0
    assert refusing.calls == 1, "a 400 is not tried again"
    refused = [r for r in await deliveries_of(place.db, fired.alert_id) if r.receiver_id == refusing_id]
    assert [(r.status, r.attempts, r.response_status) for r in refused] == [("failed", 1, 400)]
    assert refused[0].error == "the receiver answered 400" and HOOK_SECRET not in refused[0].error
    assert {r.receiver_id for r in await deliveries_of(place.db, fired.alert_id)}.isdisjoint({critical_id, disabled_id})

    muted = Episode(place)
    start = len(place.heard.messages)
    [silenced] = await muted.step(True, deliver=False, silenced=("sil_maintenance",))
    await delivery.submit([silenced])
    await delivery.idle()
    assert await deliveries_of(place.db, silenced.alert_id) == []
    [message] = [m for m in place.heard.messages[start:] if m["id"] == silenced.alert_id]
    assert (message["type"], message["delivered"], message["silencedBy"]) == ("FIRING", False, ["sil_maintenance"])


async def test_users_are_notified_as_their_preferences_and_their_role_on_the_cluster_allow(
        place: Place, delivery: AlertDelivery) -> None:
    warned = await add_user(place.db, place.tenant_id, {"alerts": {"notify": True, "minSeverity": "warning"}})
    picky = await add_user(place.db, place.tenant_id, {"alerts": {"notify": True, "minSeverity": "critical"}})
    quiet = await add_user(place.db, place.tenant_id, {"theme": "dark"})
    hidden = await add_user(place.db, place.tenant_id, {"alerts": {"notify": True, "minSeverity": "info"}})
    async with place.db.transaction() as session:
        session.add(Role(id=new_id("role"), tenant_id=place.tenant_id, display_name="Billing", code="billing_only",
                         permissions=["billing:read"]))
        session.add(ClusterRoleOverride(id=new_id("cluster_role"), tenant_id=place.tenant_id,
                                        user_id=hidden, cluster_id=place.cluster.id, role="billing_only"))
    episode = Episode(place)
    [fired] = await episode.step(True)
    await delivery.submit([fired])
    await delivery.idle()
    async with place.db.session() as session:
        notified = list((await session.execute(select(Notification).where(
            Notification.target_id == fired.alert_id))).scalars())
    assert [(n.user_id, n.kind, n.severity, n.target_type) for n in notified] == [
        (warned, "alert.firing", "warning", "alert")]
    assert notified[0].title == "Firing: node not ready" and "not ready" in notified[0].message
    assert {picky, quiet, hidden}.isdisjoint({n.user_id for n in notified})
    assert wants({"alerts": {"notify": True}}, "warning") and not wants({"alerts": {"notify": True}}, "info")
    assert not wants({"alerts": {"notify": "yes"}}, "critical") and not wants(None, "critical")


async def test_alertmanager_hears_each_delivered_change_and_keeps_hearing_what_fires(
        place: Place, alertmanager: Alertmanager, tmp_path: Path) -> None:  # noqa: F811
    forwarder = AlertmanagerForwarder(alertmanager.url, backoff=Backoff(attempts=3, base=0.01, cap=0.05))
    worker = AlertDelivery(place.settings, place.db, place.bus, sender=fast_sender(place.settings),
                           forwarder=forwarder, resend_seconds=0.3)
    worker.start()
    try:
        episode = Episode(place, name="am-node")
        [fired] = await episode.step(True)
        await worker.submit([fired])
        labels = {**episode.condition.labels, "cluster_id": place.cluster.id}

        async def listed() -> dict[str, Any] | None:
            return next((a for a in await alertmanager.alerts() if a["labels"] == labels), None)

        first = await eventually(listed, 20, "the alert in Alertmanager")
        assert first["annotations"]["alert_id"] == fired.alert_id and first["status"]["state"] == "active"

        async def heard_again() -> bool:  # no change happened: the worker sends what fires again
            again = await listed()
            return again is not None and again["updatedAt"] > first["updatedAt"]

        await eventually(heard_again, 20, "the firing alert sent again")
        [resolved] = await episode.step(False)
        await worker.submit([resolved])
        notice = await alertmanager.notifications.next("resolved")
        [ended] = [a for a in notice["alerts"] if a["labels"] == labels]
        assert ended["endsAt"] == rfc3339(episode.state.resolved_at)
        assert episode.state.resolved_at - episode.state.fired_at < timedelta(minutes=1)
    finally:
        await worker.stop()
