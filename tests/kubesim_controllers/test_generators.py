from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kubesim import logs, metrics
from kubesim.clock import Clock
from kubesim.controllers import cron
from kubesim.quantity import parse_quantity
from kubesim.store import ClusterState
from tests.kubesim_controllers.conftest import make_deployment, rt, settle


def _running_pod(state: ClusterState, image: str = "nginx:1.27") -> dict:
    state.create(rt(state, "apps", "deployments"), make_deployment("web", replicas=1, image=image))
    settle(state)
    return state.list(rt(state, "", "pods"), "shop")[0]


def test_pod_metrics_are_deterministic_bounded_and_moving(state: ClusterState) -> None:
    pod = _running_pod(state)
    first = metrics.pod_metrics(state, pod)
    assert first["kind"] == "PodMetrics" and first["window"] == "15s"
    assert metrics.pod_metrics(state, pod)["containers"] == first["containers"]
    samples = set()
    for _ in range(40):
        state.clock.advance(60)
        usage = metrics.pod_metrics(state, pod)["containers"][0]["usage"]
        cpu, memory = parse_quantity(usage["cpu"]), parse_quantity(usage["memory"])
        assert Decimal(0) < cpu <= Decimal("0.1") and Decimal(0) < memory <= 64 * 2**20  # below the requests
        samples.add(usage["cpu"])
    assert len(samples) > 10


def test_node_metrics_include_pods_and_stay_below_allocatable(state: ClusterState) -> None:
    pod = _running_pod(state)
    node = state.get(rt(state, "", "nodes"), None, pod["spec"]["nodeName"])
    idle = state.get(rt(state, "", "nodes"), None, next(
        n for n in ("node-0", "node-1", "node-2") if n != pod["spec"]["nodeName"]))
    result = metrics.node_metrics(state, node)
    assert result["kind"] == "NodeMetrics" and result["metadata"]["name"] == node["metadata"]["name"]
    assert result == {**metrics.node_metrics(state, node), "metadata": result["metadata"]}
    cpu = parse_quantity(result["usage"]["cpu"])
    assert Decimal(0) < cpu < parse_quantity(node["status"]["allocatable"]["cpu"])
    pod_cpu = parse_quantity(metrics.pod_metrics(state, pod)["containers"][0]["usage"]["cpu"])
    system = metrics.node_usage(state, idle, metrics.sample_time(state))[0]
    assert cpu >= pod_cpu and system > 0


def test_logs_are_deterministic_windowed_and_kind_specific(state: ClusterState) -> None:
    pod = _running_pod(state)
    started = datetime.fromisoformat(pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
                                     .replace("Z", "+00:00"))
    until = started + timedelta(minutes=5)
    lines = logs.log_lines(state, pod, "main", None, until)
    assert lines == logs.log_lines(state, pod, "main", None, until)
    assert 50 < len(lines) < 110
    assert all(started <= at <= until for at, _ in lines)
    assert [at for at, _ in lines] == sorted(at for at, _ in lines)
    assert any('"GET /' in text and "HTTP/1.1" in text for _, text in lines)
    since = started + timedelta(minutes=2)
    tail = logs.log_lines(state, pod, "main", since, until)
    assert tail == [line for line in lines if line[0] > since]
    assert logs.log_lines(state, pod, "missing", None, until) == []


def test_log_kinds_follow_the_image() -> None:
    assert logs.kind_of({"name": "db", "image": "postgres:16"}) == "postgres"
    assert logs.kind_of({"name": "api", "image": "ghcr.io/acme/api:1"}) == "app"
    assert logs.kind_of({"name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.11.3"}) == "coredns"


async def test_follow_yields_new_lines_as_time_passes(state: ClusterState) -> None:
    pod = _running_pod(state, image="postgres:16")
    state.clock.speed = 200.0
    received: list[tuple[datetime, str]] = []

    async def collect() -> None:
        async for line in logs.follow(state, pod, "main"):
            received.append(line)
            if len(received) >= 3:
                return

    await asyncio.wait_for(collect(), timeout=5)
    assert all("LOG:" in text for _, text in received)
    assert [at for at, _ in received] == sorted(at for at, _ in received)


def test_clock_runs_fast_and_advances() -> None:
    clock = Clock(speed=1000.0, start=datetime(2026, 1, 1, tzinfo=UTC))
    before = clock.monotonic()
    clock.advance(3600)
    assert clock.monotonic() - before >= 3600
    assert clock.now() >= datetime(2026, 1, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.advance(-1)


@pytest.mark.parametrize(("expr", "after", "expected"), [
    ("*/15 * * * *", datetime(2026, 1, 1, 10, 7, tzinfo=UTC), datetime(2026, 1, 1, 10, 15, tzinfo=UTC)),
    ("0 3 * * mon", datetime(2026, 1, 1, 10, 0, tzinfo=UTC), datetime(2026, 1, 5, 3, 0, tzinfo=UTC)),
    ("@monthly", datetime(2026, 1, 31, 0, 0, tzinfo=UTC), datetime(2026, 2, 1, 0, 0, tzinfo=UTC)),
    ("30 9 1-7 * 1", datetime(2026, 1, 2, 12, 0, tzinfo=UTC), datetime(2026, 1, 3, 9, 30, tzinfo=UTC)),
])
def test_cron_next_run(expr: str, after: datetime, expected: datetime) -> None:
    assert cron.parse(expr).next_after(after) == expected


def test_cron_rejects_bad_expressions() -> None:
    for bad in ("* * * *", "61 * * * *", "*/0 * * * *", "a b c d e"):
        with pytest.raises(cron.CronError):
            cron.parse(bad)


def test_init_containers_complete_and_have_logs(state: ClusterState) -> None:
    body = make_deployment("migrate", replicas=1, image="ghcr.io/acme/api:2")
    body["spec"]["template"]["spec"]["initContainers"] = [{"name": "migrate", "image": "ghcr.io/acme/migrate:2"}]
    state.create(rt(state, "apps", "deployments"), body)
    settle(state)
    [pod] = state.list(rt(state, "", "pods"), "shop")
    [init] = pod["status"]["initContainerStatuses"]
    assert init["state"]["terminated"]["reason"] == "Completed" and init["ready"] is True
    finished = datetime.fromisoformat(init["state"]["terminated"]["finishedAt"].replace("Z", "+00:00"))
    lines = logs.log_lines(state, pod, "migrate", None, finished + timedelta(hours=1))
    assert lines and all(at <= finished + timedelta(seconds=1) for at, _ in lines)
    assert lines[0][1] == "starting job"
