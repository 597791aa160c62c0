"""Alerts end to end, through the API a user has: a crash-looping deployment on kubesim raises
PodCrashLooping, which reaches a `graphql-ws` subscriber and a tenant's signed webhook; an operator
acknowledges it (audited; a viewer may not); fixing the deployment resolves it; a cluster that
stops answering raises ClusterDisconnected and holds its other alerts back. Incidents group them,
and CKS's REST paths answer the same alerts. The embedded sampler feeds `metricsHistory`."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest_asyncio
from aiohttp import web
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from app.alerts.signing import verify
from app.services import Services
from app.settings import load_settings
from app.web import create_app
from kubesim.fleet import Fleet, start_fleet
from tests.api.conftest import SECRET
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.clusters import register_cluster
from tests.support.server import serving

NAMESPACE = "default"
RECEIVER = """mutation($t:ID!,$u:String!){ createAlertReceiver(tenantId:$t, input:{name:"pager", url:$u}){
  receiver { id } signingSecret } }"""
EVENTS = """subscription($t:ID!){ alerts(tenantId:$t){ type alert { id rule state severity inhibited
  topologyNodeId object { kind namespace name } summary runbook } } }"""
ACK = """mutation($i:ID!){ acknowledgeAlert(id:$i, note:"on it"){ id acknowledgedAt acknowledgedBy
  acknowledgementNote } }"""


@dataclass
class Hook:
    """A tenant's webhook receiver: a real HTTP server that checks each delivery's signature."""

    secret: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify(self.secret, body, dict(request.headers), now=time.time()):
            return web.Response(status=401)
        self.received.append(json.loads(body))
        self.arrived.set()
        return web.Response(status=200)

    async def until(self, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            found = next((p for p in self.received if check(p)), None)
            if found is not None:
                return found
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), timeout=30)


@dataclass
class Stage:
    api: Api
    url: str
    services: Services
    fleet: Fleet
    tenant: TenantUsers
    cluster_id: str
    hook: Hook


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stage(database_url: str, provider_token: str, api: Api) -> AsyncIterator[Stage]:
    settings = load_settings(
        database_url=database_url, secret_key=SECRET, operation_workers=0, cluster_health_seconds=0,
        alert_evaluation=True, alert_rule_for={"PodCrashLooping": 2}, alert_evaluation_seconds=1,
        metrics_interval_seconds=1, watch_ownership_seconds=0.5, k8s_timeout_seconds=2, k8s_breaker_reset_seconds=0.5,
    )  # fmt: skip
    services = Services.from_settings(settings)
    hook = Hook()
    receiver = web.Application()
    receiver.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(receiver)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    app = create_app(settings, services)
    async with start_fleet(1, profile="small", seed=11, speed=5, control=True) as fleet, serving(app) as url, \
            httpx.AsyncClient(base_url=url, timeout=30) as http:  # fmt: skip
        own = Api(http)
        tenant = await make_tenant(own, provider_token, roles=("operator", "viewer"))
        cluster_id = await register_cluster(own, tenant, fleet, "alerting")
        made = await own.ok(RECEIVER, {"t": tenant.id, "u": f"http://127.0.0.1:{port}/hook"},
                            tenant.tokens["tenant_admin"])  # fmt: skip
        hook.secret = made["createAlertReceiver"]["signingSecret"]
        yield Stage(own, url, services, fleet, tenant, cluster_id, hook)
    await runner.cleanup()


def kube(fleet: Fleet) -> httpx.AsyncClient:
    cluster = fleet.cluster("cluster-0")
    return httpx.AsyncClient(base_url=fleet.server_url("cluster-0"), timeout=10,
                             headers={"Authorization": f"Bearer {cluster.token}"})  # fmt: skip


def deployment(name: str, crashing: bool) -> dict[str, Any]:
    annotations = {"kubesim.io/crash-loop": "true" if crashing else "false", "kubesim.io/run-seconds": "1"}
    template = {"metadata": {"labels": {"app": name}, "annotations": annotations},
                "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]}}  # fmt: skip
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": template}}  # fmt: skip


async def crash(fleet: Fleet, name: str, crashing: bool = True) -> None:
    path = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments"
    async with kube(fleet) as http:
        if crashing:
            response = await http.post(path, json=deployment(name, True))
            assert response.status_code == 201, response.text
        else:
            response = await http.put(f"{path}/{name}", json=deployment(name, False))
            assert response.status_code == 200, response.text


class Heard:
    """What an `alerts` subscriber (the legacy graphql-ws protocol) has been told, in order."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.changed = asyncio.Event()

    async def follow(self, stream: Any) -> None:
        async for result in stream:
            self.events.append(result["alerts"])
            self.changed.set()

    async def first(self, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        while True:
            found = next((e for e in self.events if check(e)), None)
            if found is not None:
                return found
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), timeout=40)
            except TimeoutError:
                heard = [(e["type"], e["alert"]["rule"]) for e in self.events]
                raise AssertionError(f"not heard; heard {heard}") from None


def about(rule: str, prefix: str, kind: str) -> Callable[[dict[str, Any]], bool]:
    def matches(event: dict[str, Any]) -> bool:
        alert = event["alert"]
        return bool(event["type"] == kind and alert["rule"] == rule and alert["object"]["name"].startswith(prefix))

    return matches


async def test_a_crash_loop_fires_reaches_subscriber_and_webhook_is_acknowledged_and_resolves(stage: Stage) -> None:
    viewer, operator = stage.tenant.tokens["viewer"], stage.tenant.tokens["operator"]
    transport = WebsocketsTransport(url=stage.url.replace("http://", "ws://") + "/graphql",
                                    init_payload={"Authorization": f"Bearer {viewer}"}, subprotocols=["graphql-ws"])
    heard = Heard()
    async with Client(transport=transport) as session:
        stream = session.subscribe(gql(EVENTS), variable_values={"t": stage.tenant.id})
        listening = asyncio.ensure_future(heard.follow(stream))
        await crash(stage.fleet, "flaky")  # the pod only crashes after it started: the stream is open by then
        alert = (await heard.first(about("PodCrashLooping", "flaky-", "FIRING")))["alert"]
        assert alert["severity"] == "critical" and alert["state"] == "firing" and not alert["inhibited"]
        assert alert["object"]["kind"] == "Pod" and alert["object"]["namespace"] == NAMESPACE
        assert alert["topologyNodeId"] == f"Pod/{NAMESPACE}/{alert['object']['name']}"
        assert alert["runbook"] and "flaky-" in alert["summary"]

        payload = await stage.hook.until(lambda p: any(a["labels"].get("alertname") == "PodCrashLooping"
                                                       and a["status"] == "firing" for a in p["alerts"]))
        assert payload["version"] == "4" and payload["status"] == "firing"

        assert await stage.api.code(ACK, {"i": alert["id"]}, viewer) == "FORBIDDEN"
        acked = (await stage.api.ok(ACK, {"i": alert["id"]}, operator))["acknowledgeAlert"]
        assert acked["acknowledgedAt"] and acked["acknowledgementNote"] == "on it"
        assert acked["acknowledgedBy"] == stage.tenant.user_ids["operator"]
        audit = await stage.api.ok('query($t:ID!){ auditLogs(filter:{tenantId:$t, action:"alert.acknowledged"}){ '
                                   "nodes { actorId targetId changes } } }", {"t": stage.tenant.id},
                                   stage.tenant.tokens["tenant_admin"])  # fmt: skip
        entry = audit["auditLogs"]["nodes"][0]
        assert (entry["actorId"], entry["targetId"], entry["changes"]["note"]) == (
            stage.tenant.user_ids["operator"], alert["id"], "on it")
        await heard.first(lambda e: e["type"] == "ACKNOWLEDGED" and e["alert"]["id"] == alert["id"])

        await crash(stage.fleet, "flaky", crashing=False)
        resolved = await heard.first(lambda e: e["type"] == "RESOLVED" and e["alert"]["id"] == alert["id"])
        assert resolved["alert"]["state"] == "resolved"
        await stage.hook.until(lambda p: any(a["labels"].get("alertname") == "PodCrashLooping"
                                             and a["status"] == "resolved" for a in p["alerts"]))
        listening.cancel()

    incidents = await stage.api.ok(
        'query($t:ID!){ incidents(tenantId:$t){ nodes { status alerts { id } timeline { kind actorId } } } }',
        {"t": stage.tenant.id}, viewer,
    )  # fmt: skip
    incident = next(i for i in incidents["incidents"]["nodes"] if alert["id"] in [a["id"] for a in i["alerts"]])
    kinds = [line["kind"] for line in incident["timeline"]]
    assert kinds[0] == "alert_firing" and "alert_acknowledged" in kinds and "alert_resolved" in kinds
    assert incident["status"] == "resolved"

    rest = await stage.api.http.get(f"/api/tenants/{stage.tenant.id}/monitoring/alerts",
                                    params={"status": "resolved"}, headers={"Authorization": f"Bearer {viewer}"})
    assert rest.status_code == 200, rest.text
    shown = next(a for a in rest.json()["data"]["alerts"] if a["id"] == alert["id"])
    assert shown["status"] == "resolved" and shown["note"] == "on it" and shown["clusterId"] == stage.cluster_id


async def test_a_disconnected_cluster_fires_and_holds_its_object_alerts_back(stage: Stage) -> None:
    viewer = stage.tenant.tokens["viewer"]
    listing = ('query($t:ID!){ alerts(tenantId:$t, states:["firing"]){ nodes { id rule inhibited '
               "object { name } } } }")

    async def firing() -> list[dict[str, Any]]:
        return list((await stage.api.ok(listing, {"t": stage.tenant.id}, viewer))["alerts"]["nodes"])

    def crashing(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [a for a in alerts if a["rule"] == "PodCrashLooping" and a["object"]["name"].startswith("steady-")]

    await crash(stage.fleet, "steady")
    await until_true(lambda alerts: bool(crashing(alerts)), firing)
    await stage.fleet.set_reachable("cluster-0", False)
    try:
        changes = await stage.services.health.check_all()
        assert [c.new for c in changes if c.cluster_id == stage.cluster_id] == ["disconnected"]
        now = await until_true(lambda alerts: any(a["rule"] == "ClusterDisconnected" for a in alerts)
                               and all(a["inhibited"] for a in crashing(alerts)), firing)  # fmt: skip
        down = next(a for a in now if a["rule"] == "ClusterDisconnected")
        assert crashing(now) and not down["inhibited"]
    finally:
        await stage.fleet.set_reachable("cluster-0", True)


Alerts = list[dict[str, Any]]


async def until_true(check: Callable[[Alerts], bool], read: Callable[[], Any], seconds: float = 40) -> Alerts:
    """Reads the alerts list, as a user refreshing it does, until `check` holds of it."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        alerts: Alerts = await read()
        if check(alerts):
            return alerts
        assert asyncio.get_running_loop().time() < deadline, f"never held; last read {alerts}"
        await asyncio.sleep(0.2)


async def test_the_sampler_feeds_the_metrics_history(stage: Stage) -> None:
    sampled = asyncio.Event()

    async def heard(cluster_id: str, tenant_id: str | None, at: Any) -> None:
        if cluster_id == stage.cluster_id:
            sampled.set()

    stage.services.sampler.listeners.append(heard)
    for _ in range(2):  # two samples: CPU is a rate, it needs two
        sampled.clear()
        await asyncio.wait_for(sampled.wait(), timeout=30)
    history = """query($c:ID!){ cluster(id:$c){ metricsHistory(range:"5m", step:"1s"){ backend
      cpu { value } memory { value } pods { value } restarts { value } } } }"""
    found = (await stage.api.ok(history, {"c": stage.cluster_id}, stage.tenant.tokens["viewer"]))["cluster"]
    series = found["metricsHistory"]
    assert series["backend"] == "embedded"
    assert series["pods"] and series["pods"][-1]["value"] > 0 and series["memory"][-1]["value"] > 0
    promql = 'query($t:ID!){ metricsQuery(tenantId:$t, query:"sum(kube_pod_status_phase{phase=\\"Running\\"})") }'
    answer = (await stage.api.ok(promql, {"t": stage.tenant.id}, stage.tenant.tokens["viewer"]))["metricsQuery"]
    assert answer["resultType"] == "vector" and float(answer["result"][0]["value"][1]) > 0


async def test_system_health_reports_the_evaluators_lag(stage: Stage) -> None:
    query = """query($t:ID!){ systemHealth(tenantId:$t){ details { ruleEvaluation { status lagSeconds message } } } }"""
    found = (await stage.api.ok(query, {"t": stage.tenant.id}, stage.tenant.tokens["viewer"]))["systemHealth"]
    rules = found["details"]["ruleEvaluation"]
    assert rules["status"] == "ok" and 0 <= rules["lagSeconds"] < 30, rules
    assert "1 of your cluster(s) evaluated by this replica" in rules["message"]  # not the other tenants' ones
    await stage.services.alerts.stop()
    stopped = (await stage.api.ok(query, {"t": stage.tenant.id}, stage.tenant.tokens["viewer"]))["systemHealth"]
    assert stopped["details"]["ruleEvaluation"]["status"] == "down"
