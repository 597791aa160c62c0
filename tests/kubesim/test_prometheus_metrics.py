"""A cluster's /metrics: kube-state-metrics' and cAdvisor's series, in agreement with metrics.k8s.io and the objects.

The cluster's clock is all but stopped (speed 1e-9) and its controllers are driven by the test, so every
moment a scrape sees is one the test chose; scrapes and API reads go over real HTTP.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from kubesim import controllers, metrics
from kubesim.controllers.manager import ControllerManager
from kubesim.fleet import start_fleet
from kubesim.quantity import parse_quantity
from tests.kubesim.conftest import deployment, http
from tests.support.prometheus import Target, running_prometheus
from tests.support.stepped import SteppedCluster
from tests.support.waiting import eventually

NS = "shop"
FAMILIES = {  # name as the parser gives it: (type, help, labels)
    "kube_pod_status_phase": ("gauge", "The pods current phase.", {"namespace", "pod", "uid", "phase"}),
    "kube_pod_container_status_restarts": (
        "counter",
        "The number of container restarts per container.",
        {"namespace", "pod", "uid", "container"},
    ),
    "kube_deployment_status_replicas_available": (
        "gauge",
        "The number of available replicas per deployment.",
        {"namespace", "deployment"},
    ),
    "kube_node_status_condition": ("gauge", "The condition of a cluster node.", {"node", "condition", "status"}),
    "kube_resourcequota": (
        "gauge",
        "Information about resource quota.",
        {"namespace", "resourcequota", "resource", "type"},
    ),
    "container_cpu_usage_seconds": (
        "counter",
        "Cumulative cpu time consumed in seconds.",
        {"namespace", "pod", "container"},
    ),
    "container_memory_working_set_bytes": (
        "gauge",
        "Current working set of the container in bytes",
        {"namespace", "pod", "container"},
    ),
}
Labels = frozenset[tuple[str, str]]


@dataclass
class Sim(SteppedCluster):
    client: httpx.AsyncClient

    async def scrape(self) -> dict[str, dict[Labels, float]]:
        response = await self.client.get("/metrics")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        return by_sample_name(response.text)

    async def get(self, path: str) -> Any:
        response = await self.client.get(path)
        assert response.status_code == 200, response.text
        return response.json()


def by_sample_name(text: str) -> dict[str, dict[Labels, float]]:
    found: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return found


def labels(**values: str) -> Labels:
    return frozenset(values.items())


def container_key(pod: dict[str, Any], container: str = "main") -> Labels:
    return labels(namespace=pod["metadata"]["namespace"], pod=pod["metadata"]["name"], container=container)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sim() -> AsyncIterator[Sim]:
    async with start_fleet(1, profile=None, seed=11, controllers=False, speed=1e-9) as fleet:
        cluster = fleet.cluster("cluster-0")
        manager = ControllerManager(cluster.state, controllers.all_controllers())
        async with http(fleet) as client:
            await client.post("/api/v1/namespaces", json={"metadata": {"name": NS}})
            for index in range(2):
                await client.post("/api/v1/nodes", json={"metadata": {"name": f"node-{index}"}})
            manager.settle()
            yield Sim(fleet, cluster, manager, client)
        manager.detach()


async def make_deployment(
    sim: Sim, name: str, replicas: int, annotations: dict[str, str] | None = None, cpu: str | None = "250m"
) -> list[dict[str, Any]]:
    body = deployment(name, NS, replicas=replicas)
    if annotations:
        body["spec"]["template"]["metadata"]["annotations"] = annotations
    if cpu:
        body["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": cpu, "memory": "64Mi"}}
    created = await sim.client.post(f"/apis/apps/v1/namespaces/{NS}/deployments", json=body)
    assert created.status_code == 201, created.text
    sim.manager.settle()
    pods = (await sim.get(f"/api/v1/namespaces/{NS}/pods?labelSelector=app={name}"))["items"]
    assert len(pods) == replicas
    return list(pods)


async def test_families_have_kube_state_metrics_and_cadvisor_names_types_help_and_labels(sim: Sim) -> None:
    quota = {"metadata": {"name": "objects"}, "spec": {"hard": {"configmaps": "10"}}}
    assert (await sim.client.post(f"/api/v1/namespaces/{NS}/resourcequotas", json=quota)).status_code == 201
    await make_deployment(sim, "shape", replicas=1)
    response = await sim.client.get("/metrics")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert set(FAMILIES) <= set(families)
    for name, (kind, documentation, label_names) in FAMILIES.items():
        family = families[name]
        assert (family.type, family.documentation) == (kind, documentation), name
        assert family.samples, name
        assert all(set(sample.labels) == label_names for sample in family.samples), name
    assert "# TYPE kube_pod_container_status_restarts_total counter" in response.text
    assert "# TYPE container_cpu_usage_seconds_total counter" in response.text


async def test_metrics_needs_the_cluster_token_as_the_api_server_does(sim: Sim) -> None:
    url = sim.fleet.server_url("cluster-0") + "/metrics"
    async with httpx.AsyncClient() as anonymous:
        assert (await anonymous.get(url)).status_code == 401
        assert (await anonymous.get(url, headers={"Authorization": "Bearer wrong"})).status_code == 401
    assert (await sim.client.post("/metrics")).status_code == 405
    openmetrics = await sim.client.get("/metrics", headers={"Accept": "application/openmetrics-text;version=1.0.0"})
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")


async def test_pod_phase_is_one_for_the_current_phase_and_zero_for_the_others(sim: Sim) -> None:
    await make_deployment(sim, "phases", replicas=2)
    job = {
        "metadata": {"name": "once", "namespace": NS},
        "spec": {
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox:1.36"}]}}
        },
    }
    assert (await sim.client.post(f"/apis/batch/v1/namespaces/{NS}/jobs", json=job)).status_code == 201
    sim.manager.settle()
    pods = (await sim.get(f"/api/v1/namespaces/{NS}/pods"))["items"]
    assert {"Running", "Succeeded"} <= {p["status"]["phase"] for p in pods}
    phases = (await sim.scrape())["kube_pod_status_phase"]
    for pod in pods:
        meta = pod["metadata"]
        got = {
            dict(key)["phase"]: value
            for key, value in phases.items()
            if dict(key)["pod"] == meta["name"] and dict(key)["uid"] == meta["uid"]
        }
        assert got == {
            phase: float(phase == pod["status"]["phase"])
            for phase in ("Pending", "Running", "Succeeded", "Failed", "Unknown")
        }


async def test_usage_agrees_with_metrics_k8s_io_window_by_window(sim: Sim) -> None:
    pods = await make_deployment(sim, "usage", replicas=2)
    sim.align(1e-5)
    before = await sim.scrape()
    for _ in range(4):
        sim.run(metrics.RESOLUTION)
        after = await sim.scrape()
        for pod in pods:
            answer = await sim.get(f"/apis/metrics.k8s.io/v1beta1/namespaces/{NS}/pods/{pod['metadata']['name']}")
            [usage] = answer["containers"]
            key = container_key(pod)
            cores = float(parse_quantity(usage["usage"]["cpu"]))
            increase = (
                after["container_cpu_usage_seconds_total"][key] - before["container_cpu_usage_seconds_total"][key]
            )
            assert increase == pytest.approx(cores * metrics.RESOLUTION, abs=1e-6)
            assert after["container_memory_working_set_bytes"][key] == float(parse_quantity(usage["usage"]["memory"]))
        before = after


async def test_the_cpu_counter_over_an_hour_is_the_sum_of_the_sampled_usage(sim: Sim) -> None:
    [pod] = await make_deployment(sim, "hour", replicas=1, cpu=None)
    spec = pod["spec"]["containers"][0]
    identity = f"{NS}/{pod['metadata']['name']}/main"
    sim.align(1e-5)
    start = sim.cluster.state.clock.now().timestamp()
    before = (await sim.scrape())["container_cpu_usage_seconds_total"][container_key(pod)]
    sim.run(3600)
    after = (await sim.scrape())["container_cpu_usage_seconds_total"][container_key(pod)]
    first = math.ceil(start / metrics.RESOLUTION)
    expected = (
        sum(
            metrics.container_usage(identity, spec, _sample(first + step))[0]
            for step in range(3600 // metrics.RESOLUTION)
        )
        * metrics.RESOLUTION
    )
    assert after - before == pytest.approx(float(expected), abs=1e-3)
    assert 0 < after - before < 3600 * float(metrics.DEFAULT_CPU)


def _sample(index: int) -> datetime:
    return datetime.fromtimestamp(index * metrics.RESOLUTION, UTC)


async def test_scaling_a_deployment_changes_its_available_replicas(sim: Sim) -> None:
    await make_deployment(sim, "scaled", replicas=2)
    key = labels(namespace=NS, deployment="scaled")
    assert (await sim.scrape())["kube_deployment_status_replicas_available"][key] == 2.0
    patched = await sim.client.patch(
        f"/apis/apps/v1/namespaces/{NS}/deployments/scaled/scale",
        json={"spec": {"replicas": 4}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    sim.manager.settle()
    status = (await sim.get(f"/apis/apps/v1/namespaces/{NS}/deployments/scaled"))["status"]
    assert status["availableReplicas"] == 4
    assert (await sim.scrape())["kube_deployment_status_replicas_available"][key] == 4.0


async def test_a_crash_looping_container_restarts_grow_while_its_pod_stays_running(sim: Sim) -> None:
    [pod] = await make_deployment(
        sim, "flaky", replicas=1, annotations={"kubesim.io/crash-loop": "true", "kubesim.io/run-seconds": "20"}
    )
    meta = pod["metadata"]
    restarts_key = labels(namespace=NS, pod=meta["name"], uid=meta["uid"], container="main")
    running_key = labels(namespace=NS, pod=meta["name"], uid=meta["uid"], phase="Running")
    seen: list[float] = []
    cpu: list[float] = []
    for step in (21, 11, 21, 21, 21):  # crash, restart after 10 s, crash, restart after 20 s, crash
        sim.run(step)
        scraped = await sim.scrape()
        status = (await sim.get(f"/api/v1/namespaces/{NS}/pods/{meta['name']}"))["status"]
        [entry] = status["containerStatuses"]
        assert scraped["kube_pod_container_status_restarts_total"][restarts_key] == float(entry["restartCount"])
        assert status["phase"] == "Running" and scraped["kube_pod_status_phase"][running_key] == 1.0
        seen.append(scraped["kube_pod_container_status_restarts_total"][restarts_key])
        cpu.append(scraped["container_cpu_usage_seconds_total"][container_key(pod)])
    assert seen == [1.0, 1.0, 2.0, 2.0, 3.0]
    assert "waiting" in entry["state"] and entry["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cpu == sorted(cpu) and cpu[0] < cpu[-1]


async def test_quota_reports_hard_and_used_from_its_status(sim: Sim) -> None:
    quota = {
        "metadata": {"name": "compute"},
        "spec": {"hard": {"pods": "50", "requests.cpu": "20", "requests.memory": "4Gi"}},
    }
    assert (await sim.client.post(f"/api/v1/namespaces/{NS}/resourcequotas", json=quota)).status_code == 201
    await make_deployment(sim, "quota", replicas=2)
    status = (await sim.get(f"/api/v1/namespaces/{NS}/resourcequotas/compute"))["status"]
    assert parse_quantity(status["used"]["requests.cpu"]) >= Decimal("0.5")
    found = (await sim.scrape())["kube_resourcequota"]
    for kind in ("hard", "used"):
        for resource in ("pods", "requests.cpu", "requests.memory"):
            key = labels(namespace=NS, resourcequota="compute", resource=resource, type=kind)
            assert found[key] == float(parse_quantity(status[kind][resource])), (kind, resource)
    assert found[labels(namespace=NS, resourcequota="compute", resource="requests.memory", type="hard")] == 4 * 2.0**30


async def test_node_conditions_one_hot_over_true_false_unknown(sim: Sim) -> None:
    assert (await sim.client.post("/api/v1/nodes", json={"metadata": {"name": "spare"}})).status_code == 201
    sim.manager.settle()
    node = await sim.get("/api/v1/nodes/spare")
    conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert conditions["Ready"] == "True" and conditions["MemoryPressure"] == "False"
    found = (await sim.scrape())["kube_node_status_condition"]
    for condition, status in conditions.items():
        for label in ("true", "false", "unknown"):
            value = found[labels(node="spare", condition=condition, status=label)]
            assert value == float(label == status.lower()), (condition, label)
    lost = [
        {**c, "status": "Unknown", "reason": "NodeStatusUnknown"} if c["type"] == "Ready" else c
        for c in node["status"]["conditions"]
    ]
    patched = await sim.client.patch(
        "/api/v1/nodes/spare/status",
        json={"status": {"conditions": lost}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    found = (await sim.scrape())["kube_node_status_condition"]
    assert found[labels(node="spare", condition="Ready", status="unknown")] == 1.0
    assert found[labels(node="spare", condition="Ready", status="true")] == 0.0
    assert (await sim.client.delete("/api/v1/nodes/spare")).status_code == 200
    sim.manager.settle()


# -- a real Prometheus scraping the cluster ----------------------------------------------------------


@pytest.fixture
def prometheus(sim: Sim, tmp_path: Path) -> Iterator[str]:
    """A Prometheus scraping the cluster every second with its bearer token; yields its URL."""
    with running_prometheus(tmp_path, [Target(sim.cluster.address, sim.cluster.token)]) as url:
        yield url


async def _query(client: httpx.AsyncClient, url: str, promql: str) -> list[dict[str, Any]]:
    try:
        response = await client.get(f"{url}/api/v1/query", params={"query": promql})
    except httpx.TransportError:
        return []
    if response.status_code != 200:
        return []
    body = response.json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


async def test_a_real_prometheus_scrapes_the_cluster(sim: Sim, prometheus: str) -> None:
    [pod] = await make_deployment(sim, "scraped", replicas=1)
    async with httpx.AsyncClient(timeout=5) as client:

        async def up() -> list[dict[str, Any]]:
            return [r for r in await _query(client, prometheus, 'up{job="kubesim"}') if r["value"][1] == "1"]

        async def phase() -> list[dict[str, Any]]:
            return await _query(client, prometheus, f'kube_pod_status_phase{{pod="{pod["metadata"]["name"]}"}} == 1')

        await eventually(up, seconds=60, what="Prometheus scraping kubesim with up == 1")
        [series] = await eventually(phase, seconds=30, what="a kube_pod_status_phase series in Prometheus")
    assert series["metric"]["phase"] == "Running" and series["metric"]["namespace"] == NS
    assert series["metric"]["job"] == "kubesim"
