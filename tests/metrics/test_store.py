"""The embedded store on SQLite and PostgreSQL: write, read back, roll up, prune, statement counts."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import event, func, select

from app.db.metrics import MetricSample, MetricSeries
from app.db.models import Cluster, Tenant
from app.db.session import Database
from app.metrics.evaluate import evaluate_instant, evaluate_range
from app.metrics.promql import LabelMatch
from app.metrics.series import Entry, series_key
from app.metrics.store import ROLLUP, EmbeddedStore, pack, roll_up_window, unpack

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # a window boundary: 12:00:00
RAW_RETENTION = timedelta(hours=1)
ROLLUP_RETENTION = timedelta(days=1)
BASE = 1e6  # where the counters start: far from 0, so rate() does not stop its extrapolation at zero


@dataclass
class Place:
    db: Database
    tenant_id: str
    cluster_id: str


@pytest_asyncio.fixture(loop_scope="session")
async def place(database_url: str) -> AsyncIterator[Place]:
    """A tenant and a cluster of its own, in a database of each kind."""
    db = Database(database_url)
    suffix = secrets.token_hex(4)
    tenant_id, cluster_id = f"ten_store{suffix}", f"cls_store{suffix}"
    async with db.transaction() as session:
        session.add(Tenant(id=tenant_id, name=f"store {suffix}", slug=f"store-{suffix}", admin_email="a@example.com"))
        await session.flush()
        session.add(Cluster(id=cluster_id, tenant_id=tenant_id, name="metrics", server_url="https://127.0.0.1:1",
                            connection_sealed="", kubeconfig_sealed=""))
    try:
        yield Place(db, tenant_id, cluster_id)
    finally:
        await db.dispose()


def entry(name: str, value: float, cluster_id: str, **labels: str) -> tuple[str, Entry]:
    full = {"cluster_id": cluster_id, **labels}
    return series_key(name, full), (name, full, value)


def sample(cluster_id: str, minute: float, pods: int = 3) -> dict[str, Entry]:
    """Memory that follows the clock, and a counter growing 2 × (pod + 1) per second, for `pods` pods."""
    values = dict(
        [entry("container_memory_working_set_bytes", 1000.0 * p + minute, cluster_id, namespace="shop", pod=f"p{p}",
               container="main") for p in range(pods)]
        + [entry("container_cpu_usage_seconds_total", BASE + 120.0 * minute * (p + 1), cluster_id, namespace="shop",
                 pod=f"p{p}", container="main") for p in range(pods)]
    )
    return values


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def inserts_into(seen: list[str], table: str) -> int:
    return sum(1 for s in seen if s.lstrip().upper().startswith(f"INSERT INTO {table.upper()}"))


async def rows(place: Place, step: int) -> list[datetime]:
    async with place.db.session() as session:
        query = select(MetricSample.at).where(MetricSample.cluster_id == place.cluster_id, MetricSample.step == step)
        return sorted((await session.scalars(query)).all())


async def test_a_write_is_one_sample_row_and_reads_back(place: Place) -> None:
    store = EmbeddedStore(place.db, RAW_RETENTION, ROLLUP_RETENTION)
    with statements(place.db) as first:
        await store.write(place.tenant_id, place.cluster_id, T0, sample(place.cluster_id, 0))
    assert inserts_into(first, "metric_samples") == 1
    assert inserts_into(first, "metric_series") == 1  # six new series, one statement
    with statements(place.db) as second:
        await store.write(place.tenant_id, place.cluster_id, T0 + timedelta(minutes=1), sample(place.cluster_id, 1))
    assert inserts_into(second, "metric_samples") == 1
    assert inserts_into(second, "metric_series") == 0  # all known: no series statement at all
    assert not any("metric_series" in s for s in second)  # and the map is not read again
    with statements(place.db) as third:  # one new pod: only its two series are registered
        await store.write(place.tenant_id, place.cluster_id, T0 + timedelta(minutes=2),
                          sample(place.cluster_id, 2, pods=4))
    assert inserts_into(third, "metric_series") == 1 and inserts_into(third, "metric_samples") == 1
    async with place.db.session() as session:
        count = await session.scalar(select(func.count()).select_from(MetricSeries).where(
            MetricSeries.cluster_id == place.cluster_id))
    assert count == 8

    source = await store.source([place.cluster_id], T0, T0 + timedelta(minutes=2))
    matchers = [LabelMatch("pod", "=", "p1")]
    [memory] = list(source.series("container_memory_working_set_bytes", matchers, T0.timestamp(), 1e12))
    assert memory.labels == {"cluster_id": place.cluster_id, "namespace": "shop", "pod": "p1", "container": "main"}
    assert [(p[0] - T0.timestamp(), p[1]) for p in memory.points] == [(0, 1000.0), (60, 1001.0), (120, 1002.0)]
    [new_pod] = list(source.series("container_memory_working_set_bytes", [LabelMatch("pod", "=", "p3")], 0, 1e12))
    assert [p[1] for p in new_pod.points] == [3002.0]

    # what another store (another replica) reads: the same, from the database alone
    other = EmbeddedStore(place.db, RAW_RETENTION, ROLLUP_RETENTION)
    at = (T0 + timedelta(minutes=2)).timestamp()
    query = f'sum(container_memory_working_set_bytes{{cluster_id="{place.cluster_id}"}})'
    result = evaluate_instant(query, await other.source([place.cluster_id], T0, T0 + timedelta(minutes=2)), at)
    assert result["result"][0]["value"] == [at, str(0 + 1000 + 2000 + 3000 + 4 * 2)]


async def test_a_query_builds_only_the_series_it_selects(place: Place) -> None:
    store = EmbeddedStore(place.db, RAW_RETENTION, ROLLUP_RETENTION)
    start = T0 + timedelta(days=10)
    await store.write(place.tenant_id, place.cluster_id, start, sample(place.cluster_id, 0, pods=500))
    source = await store.source([place.cluster_id], start, start)
    chosen = list(source.series("container_cpu_usage_seconds_total",
                                [LabelMatch("pod", "=~", "p1|p2|p3")], 0, 1e12))
    assert sorted(s.labels["pod"] for s in chosen) == ["p1", "p2", "p3"]
    everything = list(source.series(None, [LabelMatch("__name__", "=~", "container_.*")], 0, 1e12))
    assert len(everything) == 1000


async def test_a_repeated_read_takes_decoded_rows_from_the_cache(place: Place) -> None:
    store = EmbeddedStore(place.db, RAW_RETENTION, ROLLUP_RETENTION)
    start = T0 + timedelta(days=20)
    for minute in range(5):
        await store.write(place.tenant_id, place.cluster_id, start + timedelta(minutes=minute),
                          sample(place.cluster_id, minute))
    with statements(place.db) as cold:
        await store.source([place.cluster_id], start, start + timedelta(minutes=5))
    with statements(place.db) as warm:
        source = await store.source([place.cluster_id], start, start + timedelta(minutes=5))
    assert any('"values"' in s or "metric_samples.values" in s for s in cold)
    assert not any('"values"' in s or "metric_samples.values" in s for s in warm)  # only IDs and times
    [cpu] = list(source.series("container_cpu_usage_seconds_total", [LabelMatch("pod", "=", "p0")], 0, 1e12))
    assert [p[1] - BASE for p in cpu.points] == [0.0, 120.0, 240.0, 360.0, 480.0]


async def test_roll_up_means_gauges_keeps_counters_last_prunes_and_is_idempotent(place: Place) -> None:
    store = EmbeddedStore(place.db, RAW_RETENTION, ROLLUP_RETENTION)
    start = T0 + timedelta(days=30)
    for second in range(0, 900, 15):  # three 5-minute windows of raw samples every 15 s
        await store.write(place.tenant_id, place.cluster_id, start + timedelta(seconds=second),
                          sample(place.cluster_id, second / 60))
    end = start + timedelta(seconds=900)

    # now: the first two windows are older than the raw retention, the third is not yet
    now = start + timedelta(seconds=600) + RAW_RETENTION + timedelta(seconds=30)
    done = await store.roll_up(place.cluster_id, now)
    assert (done.windows, done.raw_deleted, done.rollups_deleted) == (2, 40, 0)
    assert await rows(place, ROLLUP) == [start + timedelta(seconds=300), start + timedelta(seconds=600)]
    remaining = [at for at in await rows(place, 0) if at >= start]
    assert remaining[0] == start + timedelta(seconds=600) and len(remaining) == 20
    again = await store.roll_up(place.cluster_id, now)
    assert (again.windows, again.raw_deleted, again.rollups_deleted) == (0, 0, 0)
    assert await rows(place, ROLLUP) == [start + timedelta(seconds=300), start + timedelta(seconds=600)]

    fresh = EmbeddedStore(place.db, RAW_RETENTION, ROLLUP_RETENTION)  # nothing cached
    source = await fresh.source([place.cluster_id], start, end)
    [memory] = list(source.series("container_memory_working_set_bytes", [LabelMatch("pod", "=", "p2")], 0, 1e12))
    [cpu] = list(source.series("container_cpu_usage_seconds_total", [LabelMatch("pod", "=", "p2")], 0, 1e12))
    base = start.timestamp()
    # the first window held minutes 0, 0.25 ... 4.75: its mean is 2.375; the counter's last is at 4.75 min
    assert memory.points[:2] == [(base + 300, 2000.0 + 2.375), (base + 600, 2000.0 + 7.375)]
    assert cpu.points[:2] == [(base + 300, BASE + 120.0 * 4.75 * 3), (base + 600, BASE + 120.0 * 9.75 * 3)]
    assert [p[0] - base for p in memory.points[2:]] == [615 + 15 * i for i in range(19)]  # raw after the roll-ups

    # rate() over the roll-ups is the counter's slope (6 per second for p2), as over the raw samples
    query = f'sum(rate(container_cpu_usage_seconds_total{{cluster_id="{place.cluster_id}",pod="p2"}}[10m]))'
    result = evaluate_range(query, source, base + 600, base + 600, 60)
    assert float(result["result"][0]["values"][0][1]) == pytest.approx(6.0)

    # later, the roll-ups outlive their own retention
    much_later = start + ROLLUP_RETENTION + timedelta(seconds=700)
    pruned = await store.roll_up(place.cluster_id, much_later)
    assert pruned.windows == 1 and pruned.raw_deleted == 20 and pruned.rollups_deleted == 2
    assert [at for at in await rows(place, ROLLUP) if at >= start] == [start + timedelta(seconds=900)]
    assert [at for at in await rows(place, 0) if at >= start] == []


def test_rolling_up_rows_with_different_series_averages_each_over_its_own_rows() -> None:
    ids = [pack("I", [1, 2]), pack("I", [2, 3]), pack("I", [1, 2, 3])]
    values = [pack("d", [10.0, 1.0]), pack("d", [3.0, 100.0]), pack("d", [20.0, 5.0, 200.0])]
    series, means = roll_up_window(list(zip(ids, values, strict=True)), counters={3})
    assert list(unpack("I", series)) == [1, 2, 3]
    assert list(unpack("d", means)) == [15.0, 3.0, 200.0]
