"""Benchmark: the embedded metrics store's sampling cost, its history query, and its growth.

Run: .venv/bin/python bench/observability.py [--clusters 5] [--rounds 20] [--interval 15] [--hours 24]
                                             [--warm 7] [--database-url URL] [--json FILE]

Targets: sampling --clusters clusters of about 5,000 pods every --interval seconds costs < 5 % of one
core (CPU time per round / interval); a warm ``history`` over 24 h at 5-minute steps on a 5,000-pod
cluster answers in < 50 ms (median) for a pod, a workload (25 pods), a namespace (125 pods) and the
whole cluster. Exit status 0 when all are met, 1 when not. The database growth per cluster-day is
reported without a target.

The cluster is kubesim's ``large`` profile (seed 42) built in-process, plus one ResourceQuota per
team namespace, settled by kubesim's controllers: its Pods, Deployments, Nodes and ResourceQuotas
are the objects a sample reads, as the watch-fed caches hold them (shared, unchanged between
samples). Each round, kubesim's clock moves on by the interval and kubesim encodes its PodMetrics
LIST (not measured: the cluster's work); what is measured is the sampler's work per cluster:
decoding that JSON, ``sample_cluster`` and ``EmbeddedStore.write`` (the database thread included,
as process CPU time). Every cluster samples the same objects under its own ID. Roll-ups run once
per 5 minutes: their cost per window, measured after the rounds, is added per round pro rata.

Baselines measured in the same run: for sampling, decoding the PodMetrics LIST alone (the least
any sampler does); for history, the same series read from the store (``source().series``) and
summed point by point by hand, without PromQL (for a namespace and the cluster, the recorded sums
of ``app.metrics.recording`` the history reads). Those two are also answered from the raw series
(``history(..., raw=True)``, what the prometheus backend asks), timed, and checked to agree on
memory, running pods and restarts.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.db.metrics import MetricSample, MetricSeries  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.models import Cluster, Tenant  # noqa: E402
from app.db.session import Database, make_engine  # noqa: E402
from app.metrics.backend import HistoryTarget, history, rate_window  # noqa: E402
from app.metrics.embedded import EmbeddedBackend  # noqa: E402
from app.metrics.promql import LabelMatch  # noqa: E402
from app.metrics.recording import HISTORY, recorded_name  # noqa: E402
from app.metrics.series import KINDS, ContainerRef, CpuCounter, SeriesMemo, sample_cluster  # noqa: E402
from app.metrics.store import ROLLUP, EmbeddedStore  # noqa: E402

SAMPLING_TARGET = 0.05  # of one core
HISTORY_TARGET = 0.050  # seconds, warm median
RAW_RETENTION = timedelta(hours=6)
ROLLUP_RETENTION = timedelta(days=30)
PLURALS = {"Pod": ("", "v1", "pods"), "Deployment": ("apps", "v1", "deployments"), "Node": ("", "v1", "nodes"),
           "ResourceQuota": ("", "v1", "resourcequotas")}


@dataclass
class Results:
    clusters: int
    pods: int
    series: int
    interval: float
    rounds: int
    sample_ms: list[float] = field(default_factory=list)  # CPU per cluster sample (decode + sample + write)
    decode_ms: list[float] = field(default_factory=list)  # CPU per PodMetrics decode alone
    rollup_ms_per_window: float = 0.0
    sampling_share: float = 0.0
    baseline_share: float = 0.0
    history_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    history_points: dict[str, int] = field(default_factory=dict)
    raw_row_bytes: int = 0
    rollup_row_bytes: int = 0
    series_bytes: int = 0
    disk_bytes_per_raw_row: float | None = None
    growth_per_cluster_day: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- the cluster


def large_cluster(seed: int) -> Any:
    from kubesim import controllers, profiles
    from kubesim.clock import Clock
    from kubesim.fleet import _bootstrap
    from kubesim.store import ClusterState

    state = ClusterState("bench", Clock(1e-9), history_size=100)
    _bootstrap(state)
    profiles.load_profile(state, "large", seed, 0)
    quotas = state.resources.get("", "v1", "resourcequotas")
    assert quotas is not None
    for team in range(profiles.LARGE_NAMESPACES):
        state.create(quotas, {"metadata": {"name": "compute", "namespace": f"team-{team:02d}"},
                              "spec": {"hard": {"pods": "200", "requests.cpu": "20", "requests.memory": "16Gi"}}})
    controllers.settle(state, record_events=False)
    return state


def cluster_objects(state: Any) -> dict[str, list[dict[str, Any]]]:
    return {kind: state.list(state.resources.get(*PLURALS[kind])) for kind in KINDS}


def pod_metrics_body(state: Any, pods: list[dict[str, Any]]) -> bytes:
    from kubesim import metrics

    items = [metrics.pod_metrics(state, pod) for pod in pods]
    return json.dumps({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "items": items}).encode()


# --------------------------------------------------------------------------- the database


async def prepare(url: str, count: int) -> tuple[Database, str, list[str]]:
    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    db = Database(url)
    suffix = secrets.token_hex(4)
    tenant_id = f"ten_bench{suffix}"
    ids = [f"cls_bench{suffix}{i}" for i in range(count)]
    async with db.transaction() as session:
        session.add(Tenant(id=tenant_id, name="bench", slug=f"bench-{suffix}", admin_email="bench@example.com"))
        await session.flush()
        for cluster_id in ids:
            session.add(Cluster(id=cluster_id, tenant_id=tenant_id, name=cluster_id, server_url="https://127.0.0.1:1",
                                connection_sealed="", kubeconfig_sealed=""))
    return db, tenant_id, ids


async def disk_bytes(db: Database) -> int | None:
    from sqlalchemy import text

    async with db.session() as session:
        if db.url.startswith("sqlite"):
            pages = await session.scalar(text("PRAGMA page_count"))
            size = await session.scalar(text("PRAGMA page_size"))
            free = await session.scalar(text("PRAGMA freelist_count"))
            return int(pages - free) * int(size)
        total = await session.scalar(text(
            "SELECT pg_total_relation_size('metric_samples') + pg_total_relation_size('metric_series')"))
        return int(total)


# --------------------------------------------------------------------------- sampling


@dataclass
class Sampled:
    counters: dict[ContainerRef, CpuCounter] = field(default_factory=dict)
    memo: SeriesMemo = field(default_factory=SeriesMemo)


async def sample_once(store: EmbeddedStore, tenant_id: str, cluster_id: str, objects: dict[str, list[Any]],
                      body: bytes, at: datetime, state: Sampled) -> int:
    items = json.loads(body)["items"]
    sample = sample_cluster(objects, items, state.counters, at, cluster_id=cluster_id, memo=state.memo)
    await store.write(tenant_id, cluster_id, at, sample.values)
    state.counters = sample.counters
    return len(sample.values)


async def cpu(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.process_time()
    result = await work()
    return time.process_time() - started, result


async def measure_sampling(args: argparse.Namespace, kube: Any, results: Results) -> tuple[Database, str, str]:
    db, tenant_id, ids = await prepare(args.database_url, args.clusters)
    store = EmbeddedStore(db, RAW_RETENTION, ROLLUP_RETENTION)
    objects = cluster_objects(kube)
    pods = objects["Pod"]
    states = {cluster_id: Sampled() for cluster_id in ids}
    clock = kube.clock
    body = pod_metrics_body(kube, pods)
    for cluster_id in ids:  # registers every series: not a steady round
        results.series = await sample_once(store, tenant_id, cluster_id, objects, body, clock.now(), states[cluster_id])
    before_disk = await disk_bytes(db)
    for _ in range(args.rounds):
        clock.advance(args.interval)
        body = pod_metrics_body(kube, pods)
        at = clock.now()
        for cluster_id in ids:
            decode, _ = await cpu(partial(_decode, body))
            spent, _ = await cpu(partial(sample_once, store, tenant_id, cluster_id, objects, body, at,
                                         states[cluster_id]))
            results.decode_ms.append(decode * 1000)
            results.sample_ms.append(spent * 1000)
    after_disk = await disk_bytes(db)
    if before_disk is not None and after_disk is not None:
        results.disk_bytes_per_raw_row = (after_disk - before_disk) / (args.rounds * args.clusters)
    results.raw_row_bytes = await _row_size(db, ids[0], 0)
    # roll up what the rounds wrote: their windows count as older than the raw retention
    now = clock.now() + RAW_RETENTION + timedelta(seconds=ROLLUP)
    spent, done = await cpu(lambda: _roll_up_all(store, ids, now))
    results.rollup_ms_per_window = spent * 1000 / max(1, done)
    results.rollup_row_bytes = await _row_size(db, ids[0], ROLLUP)
    per_round = statistics.mean(results.sample_ms) * args.clusters  # the mean: collector pauses included
    per_round += results.rollup_ms_per_window * args.clusters * args.interval / ROLLUP
    results.sampling_share = per_round / 1000 / args.interval
    results.baseline_share = statistics.mean(results.decode_ms) * args.clusters / 1000 / args.interval
    results.series_bytes = await _series_size(db, ids[0])
    return db, tenant_id, ids[0]


async def _decode(body: bytes) -> Any:
    return json.loads(body)["items"]


async def _roll_up_all(store: EmbeddedStore, ids: list[str], now: datetime) -> int:
    windows = 0
    for cluster_id in ids:
        windows += (await store.roll_up(cluster_id, now)).windows
    return windows


async def _row_size(db: Database, cluster_id: str, step: int) -> int:
    """The mean bytes of a cluster's rows of one step (packed IDs and values)."""
    from sqlalchemy import func, select

    async with db.session() as session:
        size = await session.scalar(select(func.avg(func.length(MetricSample.series) + func.length(
            MetricSample.values))).where(MetricSample.cluster_id == cluster_id, MetricSample.step == step))
    return int(size or 0)


async def _series_size(db: Database, cluster_id: str) -> int:
    """The bytes of a cluster's series metadata: keys, names and labels (as JSON)."""
    from sqlalchemy import select

    async with db.session() as session:
        rows = await session.execute(select(MetricSeries.key, MetricSeries.name, MetricSeries.labels).where(
            MetricSeries.cluster_id == cluster_id))
        return sum(len(key) + len(name) + len(json.dumps(labels)) for key, name, labels in rows)


# --------------------------------------------------------------------------- history


async def measure_history(args: argparse.Namespace, kube: Any, db: Database, tenant_id: str,
                          results: Results) -> None:
    store = EmbeddedStore(db, RAW_RETENTION, ROLLUP_RETENTION)
    cluster_id = f"cls_hist{secrets.token_hex(4)}"
    async with db.transaction() as session:
        session.add(Cluster(id=cluster_id, tenant_id=tenant_id, name=cluster_id, server_url="https://127.0.0.1:1",
                            connection_sealed="", kubeconfig_sealed=""))
    objects = cluster_objects(kube)
    pods = objects["Pod"]
    # 24 h of samples (and a rate window before), one per roll-up window, older than the raw retention
    end = datetime.fromtimestamp(math.floor(time.time() / ROLLUP) * ROLLUP, UTC) - RAW_RETENTION - timedelta(hours=1)
    first = end - timedelta(hours=args.hours)  # the history's range: [first, end]
    start = first - timedelta(seconds=rate_window(ROLLUP, ROLLUP) + ROLLUP)  # data for the first point's rate
    clock, state = kube.clock, Sampled()
    moment = start
    while moment <= end:
        clock.advance(ROLLUP)  # usage moves on with kubesim's clock; the samples are stamped in the past
        await sample_once(store, tenant_id, cluster_id, objects, pod_metrics_body(kube, pods), moment, state)
        moment += timedelta(seconds=ROLLUP)
    await store.roll_up(cluster_id, datetime.now(UTC))
    backend = EmbeddedBackend(store, sample_interval=args.interval)
    workload = tuple(("team-00", p["metadata"]["name"]) for p in pods
                     if p["metadata"].get("namespace") == "team-00" and p["metadata"]["name"].startswith("svc-0-"))
    targets = {"pod": HistoryTarget("pod", "team-00", workload[:1]),
               "workload (25 pods)": HistoryTarget("workload", "team-00", workload),
               "namespace (125 pods)": HistoryTarget("namespace", "team-00"),
               f"cluster ({len(pods)} pods)": HistoryTarget("cluster")}
    last = end
    for name, target in targets.items():
        ask = partial(history, backend, cluster_id, target, first, last, ROLLUP)
        cold, found = await _timed(ask)
        warm = [(await _timed(ask))[0] for _ in range(args.warm)]
        by_hand = [(await _timed(partial(_by_hand, store, cluster_id, target, first, last)))[0]
                   for _ in range(args.warm)]
        results.history_ms[name] = {"cold": cold * 1000, "warm": statistics.median(warm) * 1000,
                                    "baseline": statistics.median(by_hand) * 1000}
        results.history_points[name] = len(found.cpu)
        expected = round(args.hours * 3600 / ROLLUP) + 1
        lengths = (len(found.memory), len(found.cpu), len(found.pods), len(found.restarts))
        assert lengths == (expected,) * 4, (name, lengths, expected)
        if target.pods is None:  # recorded: the raw series' answer, once warm (seconds for the cluster)
            await history(backend, cluster_id, target, first, last, ROLLUP, raw=True)
            spent, raw = await _timed(partial(history, backend, cluster_id, target, first, last, ROLLUP, raw=True))
            results.history_ms[name]["raw"] = spent * 1000
            for metric in ("memory", "pods", "restarts"):
                ours, theirs = getattr(found, metric), getattr(raw, metric)
                assert [t for t, _ in ours] == [t for t, _ in theirs], (name, metric)
                assert all(math.isclose(a, b, rel_tol=1e-9) for (_, a), (_, b) in zip(ours, theirs, strict=True)), \
                    (name, metric)


async def _timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await work()
    return time.perf_counter() - started, result


async def _by_hand(store: EmbeddedStore, cluster_id: str, target: HistoryTarget, start: datetime,
                   end: datetime) -> dict[str, dict[float, float]]:
    """The history's four sums from the store's series, without PromQL (CPU as a plain slope), or
    for a namespace or the cluster, the recorded sums' points."""
    window = rate_window(ROLLUP, ROLLUP)
    source = await store.source([cluster_id], start - timedelta(seconds=window), end)
    matchers = [LabelMatch("cluster_id", "=", cluster_id)]
    if target.pods is None:
        level = "cluster" if target.namespace is None else "namespace"
        if target.namespace is not None:
            matchers.append(LabelMatch("namespace", "=", target.namespace))
        recorded: dict[str, dict[float, float]] = {}
        for metric, name in HISTORY.items():
            into = recorded.setdefault(metric, {})
            for series in source.series(recorded_name(level, name), matchers, start.timestamp(), end.timestamp()):
                for t, v in series.points:
                    into[t] = into.get(t, 0.0) + v
        return recorded
    if target.pods is not None:
        matchers.append(LabelMatch("pod", "=~", "|".join(p for _, p in target.pods)))
    if target.namespace is not None:
        matchers.append(LabelMatch("namespace", "=", target.namespace))
    sums: dict[str, dict[float, float]] = {}
    for metric, extra in (("container_memory_working_set_bytes", []), ("container_cpu_usage_seconds_total", []),
                          ("kube_pod_status_phase", [LabelMatch("phase", "=", "Running")]),
                          ("kube_pod_container_status_restarts_total", [])):
        into = sums.setdefault(metric, {})
        for series in source.series(metric, [*matchers, *extra], start.timestamp() - window, end.timestamp()):
            points = series.points
            for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
                into[t1] = into.get(t1, 0.0) + ((v1 - v0) / (t1 - t0) if metric.endswith("_total") else v1)
    return sums


# --------------------------------------------------------------------------- report


def report(args: argparse.Namespace, results: Results) -> bool:
    day_raw = results.raw_row_bytes * 86_400 / args.interval
    day_rollup = results.rollup_row_bytes * 86_400 / ROLLUP
    results.growth_per_cluster_day = {"raw": day_raw, "rollups": day_rollup, "total": day_raw + day_rollup,
                                      "raw_kept": results.raw_row_bytes * RAW_RETENTION.total_seconds() / args.interval,
                                      "rollups_kept": day_rollup * ROLLUP_RETENTION.days}
    mib = 2**20
    print(f"{results.clusters} clusters × {results.pods} pods, {results.series} series per sample, "
          f"every {args.interval:g} s ({results.rounds} rounds)")
    print(f"  per cluster sample, CPU: mean {statistics.mean(results.sample_ms):.1f} ms, median "
          f"{statistics.median(results.sample_ms):.1f} ms, p95 {_p95(results.sample_ms):.1f} ms; "
          f"PodMetrics decode alone: mean {statistics.mean(results.decode_ms):.1f} ms")
    print(f"  roll-up: {results.rollup_ms_per_window:.0f} ms CPU per cluster and window")
    sampling_ok = results.sampling_share < SAMPLING_TARGET
    print(f"  sampling CPU share of one core: {results.sampling_share:.2%} (target < {SAMPLING_TARGET:.0%}: "
          f"{'met' if sampling_ok else 'MISSED'}); baseline (decode only) {results.baseline_share:.2%}, "
          f"ratio {results.sampling_share / results.baseline_share:.1f}")
    history_ok = True
    for name, times in results.history_ms.items():
        ok = times["warm"] < HISTORY_TARGET * 1000
        history_ok = history_ok and ok
        raw = f"; from the raw series {times['raw']:.1f} ms" if "raw" in times else ""
        print(f"  history {args.hours:g} h / 5 min, {name}: cold {times['cold']:.0f} ms, warm {times['warm']:.1f} ms "
              f"({'met' if ok else 'MISSED'}); by hand {times['baseline']:.1f} ms, ratio "
              f"{times['warm'] / times['baseline']:.1f} ({results.history_points[name]} points){raw}")
    growth = results.growth_per_cluster_day
    print(f"  row: raw {results.raw_row_bytes / 1024:.0f} KiB, roll-up {results.rollup_row_bytes / 1024:.0f} KiB"
          + (f", on disk {results.disk_bytes_per_raw_row / 1024:.0f} KiB per raw row"
             if results.disk_bytes_per_raw_row else ""))
    print(f"  growth per cluster-day: raw {growth['raw'] / mib:.0f} MiB + roll-ups {growth['rollups'] / mib:.0f} MiB; "
          f"held at the default retentions: raw {growth['raw_kept'] / mib:.0f} MiB, roll-ups "
          f"{growth['rollups_kept'] / mib:.0f} MiB; series metadata about {results.series_bytes / mib:.0f} MiB once")
    return sampling_ok and history_ok


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


async def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    kube = large_cluster(args.seed)
    pods = len(cluster_objects(kube)["Pod"])
    print(f"kubesim large profile: {pods} pods, built in {time.perf_counter() - started:.1f} s", flush=True)
    results = Results(args.clusters, pods, 0, args.interval, args.rounds)
    gc.collect()
    db, tenant_id, _ = await measure_sampling(args, kube, results)
    try:
        await measure_history(args, kube, db, tenant_id, results)
    finally:
        await db.dispose()
    ok = report(args, results)
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(results), indent=2))
    return 0 if ok else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=20, help="measured sampling rounds")
    parser.add_argument("--interval", type=float, default=15.0, help="seconds between samples")
    parser.add_argument("--hours", type=float, default=24.0, help="history range")
    parser.add_argument("--warm", type=int, default=7, help="warm history queries per target")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file in a temporary directory")
    parser.add_argument("--json", default=None)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    with tempfile.TemporaryDirectory(prefix="fleetgraph-bench-") as tmp:
        if arguments.database_url is None:
            arguments.database_url = f"sqlite+aiosqlite:///{Path(tmp) / 'metrics.db'}"
        sys.exit(asyncio.run(main(arguments)))
