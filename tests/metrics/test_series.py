"""A sample of a real kubesim cluster agrees with the cluster's own /metrics at the same moment.

The cluster's clock is all but stopped (speed 1e-9) and its controllers are driven by the test,
so a LIST through the app's cluster client, the PodMetrics LIST and a scrape of /metrics all see
the same moment. Names, labels and values must agree exactly; the CPU counter, which the sample
integrates from metrics.k8s.io usage, must grow as kubesim's counter does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from app.k8s.client import ClusterClient
from app.k8s.kubeconfig import parse_kubeconfig
from app.metrics.recording import RECORDED_NAMES
from app.metrics.sampler import POD_METRICS
from app.metrics.series import KINDS, Sample, SeriesMemo, quantity, sample_cluster, series_key
from kubesim import controllers, metrics
from kubesim.controllers.manager import ControllerManager
from kubesim.fleet import start_fleet
from tests.kubesim.conftest import deployment, http
from tests.support.stepped import SteppedCluster

NS = "shop"
CLUSTER_ID = "cls_series0test"
FAMILIES = (
    "kube_pod_status_phase",
    "kube_pod_container_status_restarts_total",
    "kube_deployment_status_replicas_available",
    "kube_node_status_condition",
    "kube_resourcequota",
    "container_memory_working_set_bytes",
    "container_cpu_usage_seconds_total",
)
CPU = "container_cpu_usage_seconds_total"
Scraped = dict[str, float]  # series key (with cluster_id) → value


@dataclass
class Sim(SteppedCluster):
    http: httpx.AsyncClient
    client: ClusterClient

    async def scrape(self) -> Scraped:
        response = await self.http.get("/metrics")
        assert response.status_code == 200, response.text
        found: Scraped = {}
        for family in text_string_to_metric_families(response.text):
            for s in family.samples:
                if s.name in FAMILIES:
                    found[series_key(s.name, {**s.labels, "cluster_id": CLUSTER_ID})] = s.value
        return found

    async def sample(self, previous: Sample | None = None, memo: SeriesMemo | None = None) -> Sample:
        objects = {kind: (await self.client.list(kind, identity=None)).items for kind in KINDS}
        pod_metrics = (await self.client.list(POD_METRICS, identity=None)).items
        now = self.cluster.state.clock.now()
        return sample_cluster(objects, pod_metrics, previous.counters if previous else {}, now,
                              cluster_id=CLUSTER_ID, memo=memo)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sim() -> AsyncIterator[Sim]:
    async with start_fleet(1, profile=None, seed=23, controllers=False, speed=1e-9) as fleet:
        cluster = fleet.cluster("cluster-0")
        manager = ControllerManager(cluster.state, controllers.all_controllers())
        connection = parse_kubeconfig(fleet.kubeconfigs["cluster-0"].read_text()).connection()
        async with http(fleet) as raw, ClusterClient("cluster-0", connection, qps=0) as client:
            await raw.post("/api/v1/namespaces", json={"metadata": {"name": NS}})
            for index in range(2):
                await raw.post("/api/v1/nodes", json={"metadata": {"name": f"node-{index}"}})
            manager.settle()
            yield Sim(fleet, cluster, manager, raw, client)
        manager.detach()


async def make_deployment(sim: Sim, name: str, replicas: int, annotations: dict[str, str] | None = None,
                          cpu: str | None = "250m") -> None:
    body = deployment(name, NS, replicas=replicas)
    if annotations:
        body["spec"]["template"]["metadata"]["annotations"] = annotations
    if cpu:
        body["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": cpu, "memory": "64Mi"}}
    created = await sim.http.post(f"/apis/apps/v1/namespaces/{NS}/deployments", json=body)
    assert created.status_code == 201, created.text
    sim.manager.settle()


def values(sample: Sample, name: str | None = None) -> Scraped:
    """The sample's series of kubesim's families (not the recorded sums), or of one of them."""
    return {key: value for key, (metric, _, value) in sample.values.items()
            if metric in FAMILIES and name in (None, metric)}


def without(found: Scraped, name: str) -> Scraped:
    return {k: v for k, v in found.items() if not k.startswith(name + "{")}


async def test_a_sample_has_the_series_of_the_clusters_own_metrics_with_the_same_values(sim: Sim) -> None:
    quota = {"metadata": {"name": "compute"},
             "spec": {"hard": {"pods": "50", "requests.cpu": "20", "requests.memory": "4Gi"}}}
    assert (await sim.http.post(f"/api/v1/namespaces/{NS}/resourcequotas", json=quota)).status_code == 201
    await make_deployment(sim, "web", replicas=3)
    await make_deployment(sim, "worker", replicas=2, cpu=None)
    job = {"metadata": {"name": "once", "namespace": NS}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox:1.36"}]}}}}
    assert (await sim.http.post(f"/apis/batch/v1/namespaces/{NS}/jobs", json=job)).status_code == 201
    sim.manager.settle()

    sample, scraped = await sim.sample(), await sim.scrape()
    ours = values(sample)
    # every series kubesim serves, under the same name and labels (plus cluster_id), and no other
    assert set(ours) == set(scraped)
    assert without(ours, CPU) == without(scraped, CPU)
    assert {metric for metric, _, _ in sample.values.values()} == set(FAMILIES) | RECORDED_NAMES
    assert all(v == 0.0 for v in values(sample, CPU).values())  # a counter starts from 0 when first seen
    phases = {labels["phase"]: v for _, labels, v in sample.values.values()
              if labels.get("pod", "").startswith("once-") and "phase" in labels}
    assert phases == {"Pending": 0.0, "Running": 0.0, "Succeeded": 1.0, "Failed": 0.0, "Unknown": 0.0}
    [(_, labels, used)] = [e for e in sample.values.values() if e[1].get("resource") == "requests.cpu"
                           and e[1].get("type") == "used"]
    assert used == 0.75 and labels["resourcequota"] == "compute"


async def test_the_cpu_counter_grows_as_kubesims_counter_does(sim: Sim) -> None:
    await make_deployment(sim, "busy", replicas=2)
    sim.align(1e-5)
    memo = SeriesMemo()
    sample, before = await sim.sample(memo=memo), await sim.scrape()
    for _ in range(4):
        sim.run(metrics.RESOLUTION)
        later, after = await sim.sample(sample, memo), await sim.scrape()
        assert without(values(later), CPU) == without(after, CPU)  # the memo changes nothing
        earlier = values(sample, CPU)
        grown = {key: value - earlier[key] for key, value in values(later, CPU).items()}
        assert set(grown) == set(earlier) and len(grown) >= 7  # web, worker, busy: seven containers
        for key, ours in grown.items():
            # a window of 15 s: kubesim's counter grew by the usage metrics.k8s.io reports for it
            assert ours == pytest.approx(after[key] - before[key], abs=1e-3), key
            assert ours > 0
        sample, before = later, after


async def test_a_crash_looping_containers_restarts_agree_while_its_pod_runs(sim: Sim) -> None:
    await make_deployment(sim, "flaky", replicas=1,
                          annotations={"kubesim.io/crash-loop": "true", "kubesim.io/run-seconds": "20"})
    seen: list[float] = []
    for step in (21, 11, 21, 21, 21):  # crash, restart after 10 s, crash, restart after 20 s, crash
        sim.run(step)
        sample, scraped = await sim.sample(), await sim.scrape()
        assert without(values(sample), CPU) == without(scraped, CPU)
        [restarts] = [v for k, v in values(sample, "kube_pod_container_status_restarts_total").items()
                      if 'pod="flaky-' in k]
        [running] = [v for k, (_, labels, v) in sample.values.items()
                     if labels.get("pod", "").startswith("flaky-") and labels.get("phase") == "Running"]
        assert running == 1.0
        seen.append(restarts)
    assert seen == [1.0, 1.0, 2.0, 2.0, 3.0]


def test_keys_sort_labels_and_escape_values_as_promql_strings() -> None:
    key = series_key("m", {"b": 'say "hi"\n', "a": "back\\slash"})
    assert key == 'm{a="back\\\\slash",b="say \\"hi\\"\\n"}'


def raw_sums(sample: Sample, namespace: str | None) -> dict[str, float]:
    """The four sums a history computes from the raw series, over a namespace or the cluster."""
    sums: dict[str, float] = {}
    for metric, labels, value in sample.values.values():
        if metric not in FAMILIES or namespace not in (None, labels.get("namespace")):
            continue
        if metric == "kube_pod_status_phase" and labels["phase"] == "Running":
            sums["running"] = sums.get("running", 0.0) + value
        elif metric in ("container_memory_working_set_bytes", "kube_pod_container_status_restarts_total"):
            sums[metric] = sums.get(metric, 0.0) + value
    return sums


def recorded(sample: Sample, level: str, namespace: str | None) -> dict[str, float]:
    labels = {"cluster_id": CLUSTER_ID, **({"namespace": namespace} if namespace else {})}
    found = {}
    for metric, key in (("container_cpu_usage:cores", "cpu"), ("kube_pod_running:count", "running"),
                        ("container_memory_working_set_bytes:sum", "container_memory_working_set_bytes"),
                        ("kube_pod_container_status_restarts:sum", "kube_pod_container_status_restarts_total")):
        entry = sample.values.get(series_key(f"{level}:{metric}", labels))
        if entry is not None:
            found[key] = entry[2]
    return found


async def test_the_recorded_sums_are_the_sums_of_the_raw_series_and_of_the_usage(sim: Sim) -> None:
    await make_deployment(sim, "sums", replicas=2)
    sim.run(metrics.RESOLUTION)
    memo = SeriesMemo()
    first = await sim.sample(memo=memo)
    sim.run(metrics.RESOLUTION)
    sample, fresh = await sim.sample(first, memo), await sim.sample(first)  # with and without the memo
    pod_metrics = (await sim.client.list(POD_METRICS, identity=None)).items
    for level, namespace in (("namespace", NS), ("cluster", None)):
        ours = recorded(sample, level, namespace)
        assert ours == recorded(fresh, level, namespace), level
        cores = sum(quantity(c["usage"]["cpu"]) for m in pod_metrics for c in m["containers"]
                    if namespace in (None, m["metadata"]["namespace"]))
        expected = raw_sums(sample, namespace) | {"cpu": cores}
        assert set(ours) == set(expected), level
        for key, value in expected.items():
            assert ours[key] == pytest.approx(value, rel=1e-12), (level, key)
        assert ours["running"] >= 2 and ours["cpu"] > 0
    # a namespace without pods has no recorded series, as the raw sums have no series to sum
    assert recorded(sample, "namespace", "no-such-namespace") == {}
