"""metrics.k8s.io/v1beta1 NodeMetrics and PodMetrics computed from object identity and the clock.

Usage is deterministic: the same object at the same simulated moment always reports
the same numbers.  It moves smoothly over time and stays below each container's
request (or its limit when it has no request, or a default when it has neither), as in
a cluster whose workloads are sized with some headroom.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from kubesim.clock import format_time
from kubesim.quantity import parse_quantity

RESOLUTION = 15  # seconds between two samples, as metrics-server scrapes
WINDOW = "15s"
DEFAULT_CPU = Decimal("0.2")
DEFAULT_MEMORY = Decimal(256 * 2**20)
_pods_by_node: dict[int, tuple[int, dict[str, list[dict[str, Any]]]]] = {}


class _State(Protocol):
    @property
    def clock(self) -> Any: ...
    @property
    def resources(self) -> Any: ...
    def list(self, rt: Any, namespace: str | None = None) -> list[dict[str, Any]]: ...
    def resource_version(self) -> int: ...


def unit(*parts: object) -> float:
    """A deterministic number in [0, 1) derived from ``parts``."""
    digest = hashlib.blake2b("/".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def sample_time(state: _State) -> datetime:
    now: datetime = state.clock.now()
    epoch = math.floor(now.timestamp() / RESOLUTION) * RESOLUTION
    return datetime.fromtimestamp(epoch, UTC)


def _wave(identity: str, seconds: float) -> float:
    """A smooth value in [0, 1] built from two sines with identity-derived phases and periods."""
    slow = 600 + 1800 * unit(identity, "p1")
    fast = 60 + 240 * unit(identity, "p2")
    a = math.sin(2 * math.pi * (seconds / slow + unit(identity, "f1")))
    b = math.sin(2 * math.pi * (seconds / fast + unit(identity, "f2")))
    return (0.7 * a + 0.3 * b + 1) / 2


def _bound(resources: dict[str, Any], name: str, default: Decimal) -> Decimal:
    for section in ("requests", "limits"):
        value = (resources.get(section) or {}).get(name)
        if value is not None and parse_quantity(value) > 0:
            return parse_quantity(value)
    return default


def container_usage(identity: str, container: dict[str, Any], at: datetime) -> tuple[Decimal, Decimal]:
    """(cpu cores, memory bytes) for one container at a sample time."""
    resources = container.get("resources") or {}
    cpu_cap = _bound(resources, "cpu", DEFAULT_CPU)
    mem_cap = _bound(resources, "memory", DEFAULT_MEMORY)
    seconds = at.timestamp()
    cpu_share = 0.05 + 0.85 * _wave(identity + "/cpu", seconds)
    mem_base = 0.45 + 0.3 * unit(identity, "mem")
    mem_share = mem_base + 0.1 * (_wave(identity + "/mem", seconds) - 0.5)
    cpu = (cpu_cap * Decimal(cpu_share)).quantize(Decimal("1e-9"))
    memory = (mem_cap * Decimal(mem_share)).quantize(Decimal(1024))
    return cpu, memory


def format_nanocores(cores: Decimal) -> str:
    return f"{int(cores * 10**9)}n"


def format_kibibytes(amount: Decimal) -> str:
    return f"{int(amount) // 1024}Ki"


def _running(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and not pod["metadata"].get(
        "deletionTimestamp"
    )


def _pod_usages(pod: dict[str, Any], at: datetime) -> list[tuple[str, Decimal, Decimal]]:
    if not _running(pod):
        return []
    meta = pod["metadata"]
    usages = []
    for container in pod.get("spec", {}).get("containers", []):
        identity = f"{meta.get('namespace')}/{meta['name']}/{container['name']}"
        cpu, memory = container_usage(identity, container, at)
        usages.append((container["name"], cpu, memory))
    return usages


def pod_metrics(state: _State, pod_obj: dict[str, Any]) -> dict[str, Any]:
    at = sample_time(state)
    meta = pod_obj["metadata"]
    containers = [
        {"name": name, "usage": {"cpu": format_nanocores(cpu), "memory": format_kibibytes(memory)}}
        for name, cpu, memory in _pod_usages(pod_obj, at)
    ]
    return {
        "kind": "PodMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "creationTimestamp": format_time(state.clock.now()),
            "labels": dict(meta.get("labels") or {}),
        },
        "timestamp": format_time(at),
        "window": WINDOW,
        "containers": containers,
    }


def _pods_on(state: _State, node_name: str) -> list[dict[str, Any]]:
    version = state.resource_version()
    cached = _pods_by_node.get(id(state))
    if cached is None or cached[0] != version:
        index: dict[str, list[dict[str, Any]]] = {}
        pod_type = state.resources.get("", "v1", "pods")
        for pod in state.list(pod_type):
            index.setdefault(pod.get("spec", {}).get("nodeName") or "", []).append(pod)
        cached = (version, index)
        _pods_by_node[id(state)] = cached
    return cached[1].get(node_name, [])


def node_usage(state: _State, node_obj: dict[str, Any], at: datetime) -> tuple[Decimal, Decimal]:
    name = node_obj["metadata"]["name"]
    cpu = Decimal("0.08") + Decimal("0.12") * Decimal(_wave(name + "/system", at.timestamp()))
    memory = Decimal(600 * 2**20) + Decimal(400 * 2**20) * Decimal(unit(name, "system-mem"))
    for pod in _pods_on(state, name):
        for _, pod_cpu, pod_memory in _pod_usages(pod, at):
            cpu += pod_cpu
            memory += pod_memory
    allocatable = (node_obj.get("status") or {}).get("allocatable") or {}
    if allocatable.get("cpu"):
        cpu = min(cpu, parse_quantity(allocatable["cpu"]))
    if allocatable.get("memory"):
        memory = min(memory, parse_quantity(allocatable["memory"]))
    return cpu.quantize(Decimal("1e-9")), memory


def node_metrics(state: _State, node_obj: dict[str, Any]) -> dict[str, Any]:
    at = sample_time(state)
    cpu, memory = node_usage(state, node_obj, at)
    meta = node_obj["metadata"]
    return {
        "kind": "NodeMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {
            "name": meta["name"],
            "creationTimestamp": format_time(state.clock.now()),
            "labels": dict(meta.get("labels") or {}),
        },
        "timestamp": format_time(at),
        "window": WINDOW,
        "usage": {"cpu": format_nanocores(cpu), "memory": format_kibibytes(memory)},
    }


