"""Node status as a kubelet reports it: capacity, allocatable, conditions, addresses, nodeInfo."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kubesim.clock import format_time, parse_time
from kubesim.controllers.base import Context, Controller, Key
from kubesim.controllers.util import suffix
from kubesim.resources import ResourceType

NODES = ("", "nodes")
HEARTBEAT = timedelta(minutes=5)
KUBELET_VERSION = "v1.31.2"
# instance type -> (cores, memory GiB)
INSTANCE_TYPES = {"m5.large": (2, 8), "m5.xlarge": (4, 16), "m5.2xlarge": (8, 32), "m5.4xlarge": (16, 64),
                  "c5.4xlarge": (16, 32), "r5.2xlarge": (8, 64)}
DEFAULT_TYPE = "m5.xlarge"
CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def capacity(node: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    labels = node["metadata"].get("labels") or {}
    cores, gib = INSTANCE_TYPES.get(labels.get("node.kubernetes.io/instance-type", ""),
                                    INSTANCE_TYPES[DEFAULT_TYPE])
    memory_ki = gib * 1024 * 1024 - 262_144
    cap = {"cpu": str(cores), "memory": f"{memory_ki}Ki", "pods": "110",
           "ephemeral-storage": "104845292Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
    alloc = {"cpu": f"{cores * 1000 - 80}m", "memory": f"{memory_ki - 700_000}Ki", "pods": "110",
             "ephemeral-storage": "95551679124", "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
    return cap, alloc


def node_index(node: dict[str, Any]) -> int | None:
    cidr = (node.get("spec") or {}).get("podCIDR") or ""
    parts = cidr.split(".")
    return int(parts[2]) if len(parts) == 4 and parts[2].isdigit() else None


def node_ready(node: dict[str, Any]) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def internal_ip(node: dict[str, Any]) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return str(address.get("address"))
    return ""


def triggers(ctx: Context, event: str, rt: ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None) -> list[Key]:
    if rt.key == NODES and event != "DELETED":
        return [("", obj["metadata"]["name"])]
    return []


def _assign_cidr(ctx: Context, node: dict[str, Any]) -> None:
    used = {node_index(n) for n in ctx.cache.all(NODES)}
    index = next(i for i in range(256) if i not in used)
    fresh = ctx.state.get(ctx.rt(*NODES), None, node["metadata"]["name"])
    if fresh is None:
        return
    fresh.setdefault("spec", {})["podCIDR"] = f"10.244.{index}.0/24"
    fresh["spec"]["podCIDRs"] = [f"10.244.{index}.0/24"]
    ctx.state.update(ctx.rt(*NODES), fresh)


def _status(ctx: Context, node: dict[str, Any], index: int) -> dict[str, Any]:
    old = node.get("status") or {}
    version = (old.get("nodeInfo") or {}).get("kubeletVersion") or KUBELET_VERSION
    return kubelet_status(ctx.state.name, node, index, ctx.now(), version)


def kubelet_status(cluster: str, node: dict[str, Any], index: int, moment: datetime, version: str) -> dict[str, Any]:
    """The status a kubelet at ``version`` posts for ``node``: a heartbeat keeps transition times."""
    name = node["metadata"]["name"]
    now = format_time(moment)
    old = node.get("status") or {}
    old_conditions = {c.get("type"): c for c in old.get("conditions") or []}
    conditions = []
    for kind, status, reason, message in CONDITIONS:
        previous = old_conditions.get(kind, {})
        since = previous.get("lastTransitionTime") if previous.get("status") == status else now
        conditions.append({"type": kind, "status": status, "lastHeartbeatTime": now,
                           "lastTransitionTime": since, "reason": reason, "message": message})
    cap, alloc = capacity(node)
    machine = suffix(cluster, name, "machine", length=16)
    return {
        **old, "capacity": cap, "allocatable": alloc, "conditions": conditions,
        "addresses": [{"type": "InternalIP", "address": f"172.18.{index // 250}.{index % 250 + 2}"},
                      {"type": "Hostname", "address": name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {"machineID": machine, "systemUUID": suffix(name, "uuid", length=16),
                     "bootID": suffix(cluster, name, "boot", length=16),
                     "kernelVersion": "6.1.0-27-cloud-amd64", "osImage": "Ubuntu 22.04.5 LTS",
                     "containerRuntimeVersion": "containerd://1.7.22", "kubeletVersion": version,
                     "kubeProxyVersion": version, "operatingSystem": "linux", "architecture": "amd64"},
    }


def _needs_status(ctx: Context, node: dict[str, Any]) -> bool:
    status = node.get("status") or {}
    if not status.get("nodeInfo") or not status.get("allocatable") or not status.get("conditions"):
        return True
    beats = [c.get("lastHeartbeatTime") for c in status["conditions"] if c.get("lastHeartbeatTime")]
    if not beats:
        return True
    return ctx.now() - parse_time(min(beats)) >= HEARTBEAT


def reconcile(ctx: Context, key: Key) -> None:
    node = ctx.obj(NODES, "", key[1])
    if node is None:
        return
    index = node_index(node)
    if index is None:
        _assign_cidr(ctx, node)
        return
    if not _needs_status(ctx, node):
        return
    fresh = ctx.state.get(ctx.rt(*NODES), None, key[1])
    if fresh is not None:
        fresh["status"] = _status(ctx, fresh, index)
        ctx.state.update(ctx.rt(*NODES), fresh, subresource="status")


def tick(ctx: Context) -> None:
    last = ctx.memory.get("nodes.heartbeat")
    now = ctx.now()
    if last is not None and now - last < HEARTBEAT:
        return
    ctx.memory["nodes.heartbeat"] = now
    for node in ctx.cache.all(NODES):
        ctx.enqueue("nodes", ("", node["metadata"]["name"]))


CONTROLLER = Controller("nodes", triggers, reconcile, tick)
