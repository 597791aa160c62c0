from typing import Any

from resolvers.overview import overview


def node(name: str, ready: bool) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "status": {
            "allocatable": {"cpu": "4", "memory": "8Gi"},
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def pod(phase: str, cpu: str = "250m", memory: str = "128Mi") -> dict[str, Any]:
    return {
        "spec": {"containers": [{"resources": {"requests": {"cpu": cpu, "memory": memory}}}]},
        "status": {"phase": phase},
    }


def deployment(replicas: int, ready: int) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"generation": 1},
        "spec": {"replicas": replicas},
        "status": {"readyReplicas": ready, "replicas": replicas, "updatedReplicas": replicas, "observedGeneration": 1},
    }


def test_requests_count_only_active_pods_and_capacity_is_allocatable() -> None:
    o = overview(
        [node("a", True), node("b", True)],
        [{}],
        [pod("Running"), pod("Pending"), pod("Succeeded")],
        [deployment(2, 2)],
        [],
    )
    assert o.health == "healthy"
    assert o.cpu_capacity == 8 and o.memory_capacity == 16 * 1024**3
    assert o.cpu_requested == 0.5 and o.memory_requested == 256 * 1024**2
    assert o.pods_by_phase == {"Pending": 1, "Running": 1, "Succeeded": 1}


def test_health_degrades_with_a_down_node_or_a_failed_pod_and_is_critical_without_ready_nodes() -> None:
    assert overview([node("a", True), node("b", False)], [], [], [], []).health == "degraded"
    assert overview([node("a", True)], [], [pod("Failed")], [], []).health == "degraded"
    assert overview([node("a", False)], [], [], [], []).health == "critical"
    assert overview([], [], [], [], []).health == "critical"


def test_latest_warnings_first_and_capped() -> None:
    events = [{"type": "Warning", "lastTimestamp": f"2026-01-01T00:00:{i:02d}Z", "n": i} for i in range(15)]
    events.append({"type": "Normal", "lastTimestamp": "2026-01-02T00:00:00Z"})
    warnings = overview([node("a", True)], [], [], [], events).warnings
    assert [w["n"] for w in warnings] == list(range(14, 4, -1))
