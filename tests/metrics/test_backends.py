"""The same typed history on both backends, over the same kubesim cluster, agrees.

kubesim runs at real speed (its clock is the wall clock, which both Prometheus and the Sampler stamp
samples with). The Sampler samples the cluster every second into the embedded store (SQLite); a
real Prometheus scrapes the cluster's /metrics every second with its bearer token, labelling it
``cluster_id``. About a minute and a half later, ``history`` is asked of both for the cluster, its
namespace and a crash-looping workload, at points 2.5 s after metrics.k8s.io's 15-second usage
boundaries, and compared: with each other (when Prometheus is installed), and with the usage
kubesim computes for those moments.

Tolerances. Memory, running pods and restarts are compared exactly, or against the values
Prometheus has within a second either side of the point (one sample: the cache the Sampler reads
and the scrape see a change at slightly different moments). CPU is a rate over a 60-second window
(``rate_window``: 4 × the 15-second usage resolution), and the embedded counter is integrated from
metrics.k8s.io, whose usage is known per 15-second window: it grows by a window's usage at the
first sample after the window ends, where cAdvisor's (kubesim's) counter grows steadily. So the
embedded rate over (t - 60 s, t], t = B + 2.5 s, counts the four whole windows ending at B where
the true rate counts 2.5 s of the window after B instead of 2.5 s of the first one: at most
2 × 2.5 / 60 × the containers' usage bound (0.9 × their CPU request) apart. And Prometheus'
extrapolation divides a whole window's increase by the span sampled, up to two sampling intervals
short of 60 s: up to 2 / 58 of the value more.

Also here: which replica samples a cluster (the owner of its watches, on PostgreSQL advisory locks),
and how the Prometheus backend talks to Prometheus (its errors, the scoped query, credentials).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import math
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.crypto import Sealer
from app.db.metrics import MetricSample
from app.db.models import Cluster, Tenant
from app.db.session import Database
from app.errors import BadUserInput, UpstreamUnavailable
from app.k8s.gateway import Gateway
from app.k8s.kubeconfig import parse_kubeconfig
from app.metrics.backend import History, HistoryTarget, MetricsBackend, history, rate_window
from app.metrics.embedded import EmbeddedBackend
from app.metrics.prometheus import PrometheusBackend
from app.metrics.sampler import Sampler
from app.metrics.store import EmbeddedStore
from app.realtime.bus import RealtimeBus
from app.realtime.ownership import LocalWatches, SharedWatches
from app.realtime.publisher import WatchPublisher
from app.services import register_cluster
from kubesim import metrics
from kubesim.fleet import Fleet, start_fleet
from tests.conftest import require_postgres
from tests.kubesim.conftest import deployment, http
from tests.support.databases import fresh_database, scratch_postgres
from tests.support.prometheus import Target, prometheus_binary, running_prometheus
from tests.support.server import free_port, serving
from tests.support.waiting import eventually

NS = "shop"
INTERVAL = 1.0  # the Sampler's and Prometheus' interval
STEP = 15.0
DELTA = 2.5  # seconds after a usage boundary the points are at
POINTS = 3
CAPS = {"web": Decimal("0.25"), "flaky": Decimal("0.1")}  # CPU requests: usage stays below 0.9 of them
REPLICAS = {"web": 3, "flaky": 1}
SECRET = "test-secret-key-that-is-long-enough-0123456789"


@dataclass
class Run:
    fleet: Fleet
    cluster_id: str
    embedded: EmbeddedBackend
    prometheus: PrometheusBackend | None
    start: datetime
    end: datetime
    pods: list[dict[str, Any]]  # the cluster's pods at the end

    def targets(self) -> dict[str, HistoryTarget]:
        flaky = tuple((NS, p["metadata"]["name"]) for p in self.pods if p["metadata"]["name"].startswith("flaky-"))
        return {"cluster": HistoryTarget("cluster"), "namespace": HistoryTarget("namespace", NS),
                "workload": HistoryTarget("workload", NS, flaky)}


def has_prometheus() -> bool:
    try:
        prometheus_binary()
    except pytest.skip.Exception:
        return False
    return True


async def make_deployment(raw: httpx.AsyncClient, name: str, annotations: dict[str, str] | None = None) -> None:
    body = deployment(name, NS, replicas=REPLICAS[name])
    if annotations:
        body["spec"]["template"]["metadata"]["annotations"] = annotations
    body["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "requests": {"cpu": str(CAPS[name]), "memory": "64Mi"}}
    created = await raw.post(f"/apis/apps/v1/namespaces/{NS}/deployments", json=body)
    assert created.status_code == 201, created.text


async def running_pods(raw: httpx.AsyncClient) -> list[dict[str, Any]]:
    pods = (await raw.get(f"/api/v1/namespaces/{NS}/pods")).json()["items"]
    return [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]


async def registered_cluster(db: Database, fleet: Fleet, sealer: Sealer) -> tuple[str, str]:
    suffix = secrets.token_hex(4)
    tenant_id, cluster_id = f"ten_hist{suffix}", f"cls_hist{suffix}"
    connection = parse_kubeconfig(fleet.kubeconfigs["cluster-0"].read_text()).connection()
    async with db.transaction() as session:
        session.add(Tenant(id=tenant_id, name="history", slug=f"history-{suffix}", admin_email="a@example.com"))
        await session.flush()
        session.add(Cluster(id=cluster_id, tenant_id=tenant_id, name="sim", server_url=connection.server,
                            connection_sealed=sealer.seal(connection.to_json()), kubeconfig_sealed=""))
    return tenant_id, cluster_id


async def prometheus_reached(backend: PrometheusBackend, cluster_id: str, moment: datetime) -> bool:
    """Whether Prometheus holds a scrape of the cluster at or after ``moment``."""
    try:
        answer = await backend.query_instant("timestamp(up)", [cluster_id], datetime.now(UTC))
    except Exception:  # not up yet
        return False
    return any(float(r["value"][1]) >= moment.timestamp() for r in answer["result"])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def run(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Run]:
    directory = tmp_path_factory.mktemp("histories")
    url = f"sqlite+aiosqlite:///{directory / 'metrics.db'}"
    await fresh_database(url)
    db, sealer = Database(url), Sealer(SECRET, "cluster-connection")
    gateway = Gateway()
    store = EmbeddedStore(db, timedelta(hours=6), timedelta(days=30))
    async with start_fleet(1, profile=None, seed=31, control=True, speed=1.0) as fleet, http(fleet) as raw:
        await raw.post("/api/v1/namespaces", json={"metadata": {"name": NS}})
        for index in range(2):
            await raw.post("/api/v1/nodes", json={"metadata": {"name": f"node-{index}"}})
        await make_deployment(raw, "web")
        await make_deployment(raw, "flaky", {"kubesim.io/crash-loop": "true", "kubesim.io/run-seconds": "5"})

        async def all_running() -> bool:
            return len(await running_pods(raw)) == sum(REPLICAS.values())

        await eventually(all_running, 60, "every pod Running")
        _, cluster_id = await registered_cluster(db, fleet, sealer)
        watches = LocalWatches(WatchPublisher(gateway, RealtimeBus("memory://")))
        sampler = Sampler(db, gateway, sealer, watches, store, interval=INTERVAL)
        sampled: list[datetime] = []
        new_sample = asyncio.Condition()

        async def on_sample(cid: str, tenant_id: str | None, at: datetime) -> None:
            async with new_sample:
                sampled.append(at)
                new_sample.notify_all()

        sampler.listeners.append(on_sample)
        prometheus: PrometheusBackend | None = None
        cluster = fleet.cluster("cluster-0")
        target = Target(cluster.address, cluster.token, labels={"cluster_id": cluster_id})
        scraping = running_prometheus(directory, [target], "1s") if has_prometheus() else contextlib.nullcontext()
        with scraping as prom_url:
            if prom_url is not None:
                prometheus = PrometheusBackend(prom_url, scrape_interval=INTERVAL)
            sampler.start()
            try:
                async with asyncio.timeout(30), new_sample:
                    await new_sample.wait_for(lambda: bool(sampled))
                ready = datetime.now(UTC)
                if prometheus is not None:
                    await eventually(lambda: prometheus_reached(prometheus, cluster_id, ready), 60, "a scrape")
                ready = datetime.now(UTC)
                # the first point: DELTA after a usage boundary, with a whole rate window of data before it
                first = math.ceil((ready.timestamp() + rate_window(INTERVAL, STEP) + 2) / 15) * 15 + DELTA
                start = datetime.fromtimestamp(first, UTC)
                end = start + timedelta(seconds=STEP * (POINTS - 1))
                after = end + timedelta(seconds=2)
                async with asyncio.timeout(200), new_sample:
                    await new_sample.wait_for(lambda: sampled[-1] >= after)
                if prometheus is not None:
                    await eventually(lambda: prometheus_reached(prometheus, cluster_id, after), 30, "the last scrape")
                pods = (await raw.get(f"/api/v1/namespaces/{NS}/pods")).json()["items"]
                yield Run(fleet, cluster_id, EmbeddedBackend(store, sample_interval=INTERVAL), prometheus,
                          start, end, pods)
            finally:
                await sampler.stop()
                if prometheus is not None:
                    await prometheus.close()
    await gateway.close()
    await db.dispose()


def usage_at(pods: list[dict[str, Any]], names: set[str], moment: float) -> tuple[float, float]:
    """(cores, bytes) metrics.k8s.io reports for the named pods at the usage sample time ``moment``."""
    cpu, memory = Decimal(0), Decimal(0)
    at = datetime.fromtimestamp(moment, UTC)
    for pod in pods:
        if pod["metadata"]["name"] not in names:
            continue
        for container in pod["spec"]["containers"]:
            identity = f"{NS}/{pod['metadata']['name']}/{container['name']}"
            cores, working_set = metrics.container_usage(identity, container, at)
            cpu, memory = cpu + cores, memory + working_set // 1024 * 1024
    return float(cpu), float(memory)


def true_cpu(pods: list[dict[str, Any]], names: set[str], t: float, window: float) -> float:
    """The mean usage over (t - window, t]: each 15 s window (T - 15, T] runs at the usage sampled at T."""
    total, edge = 0.0, t - window
    boundary = math.floor(edge / 15) * 15 + 15
    while edge < t:
        until = min(boundary, t)
        total += (until - edge) * usage_at(pods, names, boundary)[0]
        edge, boundary = until, boundary + 15
    return total / window


def cpu_tolerance(pods: list[dict[str, Any]], names: set[str], value: float, window: float) -> float:
    caps = sum(float(CAPS[p["metadata"]["name"].split("-")[0]]) for p in pods if p["metadata"]["name"] in names)
    return 2 * DELTA / window * 0.9 * caps + 2 * INTERVAL / (window - 2 * INTERVAL) * value + 1e-6


def pod_names(run: Run, target: HistoryTarget) -> set[str]:
    if target.pods is not None:
        return {name for _, name in target.pods}
    return {p["metadata"]["name"] for p in run.pods}


def point_times(run: Run) -> list[datetime]:
    return [run.start + timedelta(seconds=STEP * i) for i in range(POINTS)]


async def histories(run: Run, backend: MetricsBackend, *, raw: bool = False) -> dict[str, History]:
    return {name: await history(backend, run.cluster_id, target, run.start, run.end, STEP, raw=raw)
            for name, target in run.targets().items()}


def recorded(target: HistoryTarget) -> bool:
    """Whether the embedded backend answers the target from the recorded sums."""
    return target.pods is None


@pytest.mark.parametrize("raw", [False, True], ids=["recorded", "raw"])
async def test_the_embedded_history_is_the_clusters_usage(run: Run, raw: bool) -> None:
    window = float(rate_window(INTERVAL, STEP))
    assert window == 60
    for name, found in (await histories(run, run.embedded, raw=raw)).items():
        target = run.targets()[name]
        names = pod_names(run, target)
        assert [t for t, _ in found.memory] == point_times(run), name
        for (t, cpu), (_, memory), (_, pods) in zip(found.cpu, found.memory, found.pods, strict=True):
            moment = t.timestamp()
            cores, working_set = usage_at(run.pods, names, moment - DELTA)
            assert memory == pytest.approx(working_set, rel=1e-12), (name, t)
            assert pods == len(names), (name, t)
            if recorded(target) and not raw:  # the cores in use at the last usage window's end
                assert cpu == pytest.approx(cores, rel=1e-9), (name, t)
                continue
            truth = true_cpu(run.pods, names, moment, window)
            assert cpu == pytest.approx(truth, abs=cpu_tolerance(run.pods, names, truth, window)), (name, t)
        assert found.restarts[-1][1] >= 1  # flaky has crashed by now
        assert [v for _, v in found.restarts] == sorted(v for _, v in found.restarts)


async def test_the_recorded_sums_give_the_history_the_raw_series_give(run: Run) -> None:
    """Cluster and namespace: memory, running pods and restarts from the recorded sums are the raw
    series' sums (to rounding: the same numbers added in another order); CPU, a gauge there, is the
    usage metrics.k8s.io reported (checked against kubesim above), the raw one a rate over a window."""
    ours, raw = await histories(run, run.embedded), await histories(run, run.embedded, raw=True)
    checked = 0
    for name, target in run.targets().items():
        if not recorded(target):
            assert ours[name] == raw[name], name  # a workload: the same queries
            continue
        for metric in ("memory", "pods", "restarts"):
            found, expected = getattr(ours[name], metric), getattr(raw[name], metric)
            assert [t for t, _ in found] == [t for t, _ in expected] == point_times(run), (name, metric)
            assert [v for _, v in found] == pytest.approx([v for _, v in expected], rel=1e-12), (name, metric)
        assert [t for t, _ in ours[name].cpu] == point_times(run)
        checked += 1
    assert checked == 2
    # the recorded queries are what was evaluated: the raw series alone give no such answer
    answer = await run.embedded.query_range("sum(cluster:kube_pod_running:count)", [run.cluster_id],
                                            run.start, run.end, STEP)
    assert [float(v) for _, v in answer["result"][0]["values"]] == [float(sum(REPLICAS.values()))] * POINTS


async def test_prometheus_and_the_embedded_store_answer_the_same_history(run: Run) -> None:
    if run.prometheus is None:
        prometheus_binary()  # skips, or fails where FLEETGRAPH_TEST_PROMETHEUS asks for Prometheus
        return
    prometheus = run.prometheus
    window = float(rate_window(INTERVAL, STEP))
    # the same raw queries on both: Prometheus holds no recorded sums
    embedded, scraped = await histories(run, run.embedded, raw=True), await histories(run, prometheus)
    for name, target in run.targets().items():
        ours, theirs = embedded[name], scraped[name]
        names = pod_names(run, target)
        assert [t for t, _ in theirs.cpu] == [t for t, _ in ours.cpu] == point_times(run), name
        assert ours.memory == theirs.memory, name
        for (t, cpu), (_, their_cpu) in zip(ours.cpu, theirs.cpu, strict=True):
            assert cpu == pytest.approx(their_cpu, abs=cpu_tolerance(run.pods, names, their_cpu, window)), (name, t)
        for t, (pods, restarts) in zip(point_times(run), zip(ours.pods, ours.restarts, strict=True), strict=True):
            around = await history(prometheus, run.cluster_id, target, t - timedelta(seconds=INTERVAL),
                                   t + timedelta(seconds=INTERVAL), INTERVAL)
            assert pods[1] in {v for _, v in around.pods}, (name, t, pods, around.pods)
            assert restarts[1] in {v for _, v in around.restarts}, (name, t, restarts, around.restarts)
        assert theirs.restarts[-1][1] >= 1


# -- which replica samples: the owner of the cluster's watches --------------------------------------


@dataclass
class Replica:
    gateway: Gateway
    watches: SharedWatches
    sampler: Sampler

    async def close(self) -> None:
        await self.watches.stop()  # its lock goes with its connection
        await self.gateway.close()


@contextlib.asynccontextmanager
async def replica(dsn: str, bus: RealtimeBus, db: Database, sealer: Sealer) -> AsyncIterator[Replica]:
    gateway = Gateway()
    publisher = WatchPublisher(gateway, bus)
    watches = SharedWatches(dsn, bus, publisher, gateway, lambda cid: register_cluster(db, gateway, sealer, cid),
                            interval=0.2)
    gateway.feeds = watches
    await watches.start()
    store = EmbeddedStore(db, timedelta(hours=6), timedelta(days=30))
    running = Replica(gateway, watches, Sampler(db, gateway, sealer, watches, store, interval=INTERVAL))
    try:
        yield running
    finally:
        await running.close()
        await publisher.stop()


async def sample_rows(db: Database, cluster_id: str) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(MetricSample).where(
            MetricSample.cluster_id == cluster_id)) or 0)


@pytest.mark.postgres
async def test_only_the_replica_owning_a_cluster_samples_it_and_another_takes_over() -> None:
    async with scratch_postgres(require_postgres()) as url, start_fleet(1, profile="small", seed=37) as fleet:
        await fresh_database(url)
        db, sealer = Database(url), Sealer(SECRET, "cluster-connection")
        bus = RealtimeBus("memory://")
        await bus.connect()
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        try:
            _, cluster_id = await registered_cluster(db, fleet, sealer)
            async with replica(dsn, bus, db, sealer) as a, replica(dsn, bus, db, sealer) as b:
                # nobody owns the cluster yet: neither samples it, both want it, and so one takes it
                assert await a.sampler.sample_round() == [] and await b.sampler.sample_round() == []

                async def owner() -> Replica | None:
                    owners = [r for r in (a, b) if r.watches.owned() == [cluster_id]]
                    assert len(owners) <= 1
                    return owners[0] if owners else None

                first = await eventually(owner, 30, "a replica owning the cluster")
                other = b if first is a else a
                assert await first.sampler.sample_round() == [cluster_id]
                assert await other.sampler.sample_round() == []
                assert first.sampler.last_sample(cluster_id) is not None
                assert other.sampler.last_sample(cluster_id) is None
                assert await sample_rows(db, cluster_id) == 1

                await first.close()  # the owner goes away: the other takes the lock it still wants

                async def taken_over() -> bool:
                    return other.watches.owned() == [cluster_id]

                await eventually(taken_over, 30, "the other replica owning the cluster")
                assert await other.sampler.sample_round() == [cluster_id]
                assert await sample_rows(db, cluster_id) == 2
        finally:
            await bus.disconnect()
            await db.dispose()


async def test_prometheus_refusing_a_query_is_the_users_error_with_its_message(run: Run) -> None:
    if run.prometheus is None:
        prometheus_binary()
        return
    day = timedelta(days=1)
    with pytest.raises(BadUserInput) as refused:  # 86,400 points: more than Prometheus answers
        await run.prometheus.query_range("up", [run.cluster_id], run.end - day, run.end, 1.0)
    assert refused.value.details[0]["field"] == "query"
    assert "11,000 points" in refused.value.message
    answer = await run.prometheus.query_instant("up", [run.cluster_id, "cls_someoneelse"], run.end)
    assert {r["metric"]["cluster_id"] for r in answer["result"]} == {run.cluster_id}


async def test_an_unreachable_prometheus_is_upstream_unavailable_without_its_credentials() -> None:
    backend = PrometheusBackend(f"http://metrics:s3cret-pass@127.0.0.1:{free_port()}", timeout=5)
    try:
        with pytest.raises(UpstreamUnavailable) as failed:
            await backend.query_instant("up", ["cls_a"], datetime.now(UTC))
    finally:
        await backend.close()
    assert "Prometheus" in failed.value.message
    assert "s3cret" not in failed.value.message and "metrics:" not in failed.value.message


async def test_prometheus_gets_the_scoped_query_with_the_urls_credentials_as_basic_auth() -> None:
    """A stand-in for Prometheus' HTTP API: the backend's requests are what is under test here."""
    sent: list[dict[str, str]] = []
    expected = "Basic " + base64.b64encode(b"metrics:s3cret-pass").decode()

    async def query(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != expected:
            return JSONResponse({"status": "error", "errorType": "unauthorized", "error": "no"}, status_code=401)
        sent.append({k: str(v) for k, v in (await request.form()).items()})
        if sent[-1]["query"].startswith("broken"):
            return JSONResponse({"status": "error", "errorType": "internal", "error": "disk"}, status_code=500)
        return JSONResponse({"status": "success", "data": {"resultType": "vector", "result": []}})

    app = Starlette(routes=[Route("/prom/api/v1/query", query, methods=["POST"])])
    async with serving(app, lifespan="off") as url:
        backend = PrometheusBackend(url.replace("http://", "http://metrics:s3cret-pass@") + "/prom")
        try:
            answer = await backend.query_instant('up{cluster_id="cls_other"}', ["cls_mine"], datetime.now(UTC))
            with pytest.raises(UpstreamUnavailable) as failed:
                await backend.query_instant("broken_metric", ["cls_mine"], datetime.now(UTC))
        finally:
            await backend.close()
    assert answer == {"resultType": "vector", "result": []}
    assert sent[0]["query"] == 'up{cluster_id=~"cls_mine"}'  # the caller's matcher replaced, never widened
    assert "Prometheus" in failed.value.message and "s3cret" not in failed.value.message
