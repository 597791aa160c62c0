"""The kubelet: a scheduled pod goes Pending (ContainerCreating) → Running → Ready, and pods that are
meant to finish (restartPolicy Never/OnFailure) go on to Succeeded.

Annotations steer it: ``kubesim.io/run-seconds`` (how long a finishing pod runs),
``kubesim.io/fail: "true"`` (a finishing pod ends Failed) and ``kubesim.io/crash-loop: "true"``
(the first container exits with an error after running a while and is restarted with the
kubelet's exponential back-off, showing CrashLoopBackOff and a growing restartCount)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from kubesim.clock import format_time, parse_time
from kubesim.controllers.base import Context, Controller, Key
from kubesim.controllers.cache import PODS, is_terminal
from kubesim.controllers.nodes import NODES, internal_ip, node_index
from kubesim.controllers.util import deleting, set_condition
from kubesim.metrics import unit
from kubesim.resources import ResourceType

RUN_SECONDS = "kubesim.io/run-seconds"
FAIL = "kubesim.io/fail"
CRASH_LOOP = "kubesim.io/crash-loop"
ORPHAN_QUARANTINE = 40.0  # seconds a pod's node must stay absent before the pod is collected


def pull_delay(pod: dict[str, Any]) -> float:
    return 1.0 + 3.0 * unit(pod["metadata"].get("uid"), "pull")


def readiness_delay(pod: dict[str, Any]) -> float:
    delays = [0.0]
    for container in (pod.get("spec") or {}).get("containers") or []:
        probe = container.get("readinessProbe")
        if probe:
            delays.append(float(probe.get("initialDelaySeconds", 0)) + float(probe.get("periodSeconds", 10)) / 2)
    return max(delays)


def run_time(pod: dict[str, Any]) -> float:
    annotations = pod["metadata"].get("annotations") or {}
    if RUN_SECONDS in annotations:
        return float(annotations[RUN_SECONDS])
    return 5.0 + 10.0 * unit(pod["metadata"].get("uid"), "run")


def finishes(pod: dict[str, Any]) -> bool:
    return (pod.get("spec") or {}).get("restartPolicy", "Always") != "Always"


def _digest(*parts: object) -> str:
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()


def _image_id(image: str) -> str:
    return f"docker.io/library/{image.split(':')[0]}@sha256:{_digest(image)}"


def _container_id(pod: dict[str, Any], name: str) -> str:
    return "containerd://" + _digest(pod["metadata"].get("uid"), name)


def _allocate_ip(ctx: Context, pod: dict[str, Any], node: dict[str, Any]) -> str:
    if (pod.get("spec") or {}).get("hostNetwork"):
        return internal_ip(node)
    index = node_index(node) or 0
    start = int(unit(pod["metadata"].get("uid"), "ip") * 250)
    for step in range(253):
        ip = f"10.244.{index}.{(start + step) % 253 + 2}"
        if ip not in ctx.cache.pod_ips:
            return ip
    return f"10.244.{index}.254"


def _conditions(status: dict[str, Any], ready: bool, now: datetime, reason: str | None) -> list[dict[str, Any]]:
    conditions = status.get("conditions") or []
    names = " ".join(entry.get("name", "") for entry in status.get("containerStatuses") or [])
    message = None if ready else f"containers with unready status: [{names}]"
    flag = "True" if ready else "False"
    started = "True" if status.get("phase") in ("Running", "Succeeded", "Failed") else "False"
    for kind, value, why in (("PodReadyToStartContainers", started, None), ("Initialized", "True", None),
                             ("Ready", flag, reason), ("ContainersReady", flag, reason),
                             ("PodScheduled", "True", None)):
        conditions = set_condition(conditions, kind, value, why, message if value == "False" and why else None,
                                   now)
    return conditions


def _container_states(pod: dict[str, Any], state: dict[str, Any], ready: bool, started: bool) -> list[dict[str, Any]]:
    result = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        image = container.get("image", "")
        entry: dict[str, Any] = {"name": container["name"], "state": state, "lastState": {}, "ready": ready,
                                 "restartCount": 0, "image": image, "imageID": "", "started": started}
        if "waiting" not in state:
            entry["imageID"] = _image_id(image)
            entry["containerID"] = _container_id(pod, container["name"])
        result.append(entry)
    return result


def _init_states(pod: dict[str, Any], started: str, finished: str) -> list[dict[str, Any]]:
    """Init containers have all run to completion by the time the app containers start."""
    states = []
    for container in (pod.get("spec") or {}).get("initContainers") or []:
        done = {"exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": finished,
                "containerID": _container_id(pod, container["name"])}
        states.append({"name": container["name"], "state": {"terminated": done}, "lastState": {}, "ready": True,
                       "restartCount": 0, "image": container.get("image", ""),
                       "imageID": _image_id(container.get("image", "")), "started": False})
    return states


def _write(ctx: Context, pod: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    fresh = ctx.state.get(ctx.rt(*PODS), pod["metadata"].get("namespace"), pod["metadata"]["name"])
    if fresh is None:
        return pod
    fresh["status"] = status
    return ctx.state.update(ctx.rt(*PODS), fresh, subresource="status")


def _pending(ctx: Context, pod: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    now = ctx.now()
    status = dict(pod.get("status") or {})
    host = internal_ip(node)
    status.update({"phase": "Pending", "hostIP": host, "hostIPs": [{"ip": host}], "startTime": format_time(now)})
    status["conditions"] = _conditions(status, False, now, "ContainersNotReady")
    status["containerStatuses"] = _container_states(
        pod, {"waiting": {"reason": "ContainerCreating"}}, False, False)
    if not ctx.settling:
        status = _write(ctx, pod, status)["status"]
        for container in (pod.get("spec") or {}).get("containers") or []:
            ctx.event(pod, "Normal", "Pulling", f'Pulling image "{container.get("image")}"', "kubelet")
    return status


def _running(ctx: Context, pod: dict[str, Any], node: dict[str, Any], status: dict[str, Any]) -> None:
    now = ctx.now()
    status = dict(status)
    ip = _allocate_ip(ctx, pod, node)
    status.update({"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]})
    ready = readiness_delay(pod) <= 0
    status["containerStatuses"] = _container_states(
        pod, {"running": {"startedAt": format_time(now)}}, ready, True)
    inits = _init_states(pod, status.get("startTime") or format_time(now), format_time(now))
    if inits:
        status["initContainerStatuses"] = inits
    status["conditions"] = _conditions(status, ready, now, None if ready else "ContainersNotReady")
    written = _write(ctx, pod, status)
    for container in (pod.get("spec") or {}).get("containers") or []:
        name, image = container["name"], container.get("image")
        ctx.event(written, "Normal", "Pulled", f'Successfully pulled image "{image}" in '
                  f"{pull_delay(pod):.3f}s ({pull_delay(pod):.3f}s including waiting)", "kubelet")
        ctx.event(written, "Normal", "Created", f"Created container {name}", "kubelet")
        ctx.event(written, "Normal", "Started", f"Started container {name}", "kubelet")


def _ready(ctx: Context, pod: dict[str, Any]) -> None:
    status = dict(pod.get("status") or {})
    status["containerStatuses"] = [{**entry, "ready": True} for entry in status.get("containerStatuses") or []]
    status["conditions"] = _conditions(status, True, ctx.now(), None)
    _write(ctx, pod, status)


def _finish(ctx: Context, pod: dict[str, Any]) -> None:
    failed = (pod["metadata"].get("annotations") or {}).get(FAIL) == "true"
    now = format_time(ctx.now())
    status = dict(pod.get("status") or {})
    status["phase"] = "Failed" if failed else "Succeeded"
    entries = []
    for entry in status.get("containerStatuses") or []:
        started = ((entry.get("state") or {}).get("running") or {}).get("startedAt", now)
        terminated = {"exitCode": 1 if failed else 0, "reason": "Error" if failed else "Completed",
                      "startedAt": started, "finishedAt": now, "containerID": entry.get("containerID")}
        entries.append({**entry, "ready": False, "started": False, "state": {"terminated": terminated}})
    status["containerStatuses"] = entries
    status["conditions"] = _conditions(status, False, ctx.now(), "PodFailed" if failed else "PodCompleted")
    _write(ctx, pod, status)


def crash_loops(pod: dict[str, Any]) -> bool:
    return (pod["metadata"].get("annotations") or {}).get(CRASH_LOOP) == "true" and not finishes(pod)


def backoff(restarts: int) -> float:
    return float(min(10 * 2 ** max(restarts - 1, 0), 300))


def _crash(ctx: Context, pod: dict[str, Any], entry: dict[str, Any]) -> None:
    now = format_time(ctx.now())
    restarts = int(entry.get("restartCount", 0)) + 1
    terminated = {"exitCode": 1, "reason": "Error", "startedAt": entry["state"]["running"]["startedAt"],
                  "finishedAt": now, "containerID": entry.get("containerID")}
    name, meta = entry["name"], pod["metadata"]
    message = f"back-off {int(backoff(restarts))}s restarting failed container={name} pod={meta['name']}_" \
              f"{meta.get('namespace')}({meta.get('uid')})"
    crashed = {**entry, "ready": False, "started": False, "restartCount": restarts, "lastState": {
        "terminated": terminated}, "state": {"waiting": {"reason": "CrashLoopBackOff", "message": message}}}
    status = dict(pod.get("status") or {})
    status["containerStatuses"] = [crashed, *status["containerStatuses"][1:]]
    status["conditions"] = _conditions(status, False, ctx.now(), "ContainersNotReady")
    written = _write(ctx, pod, status)
    ctx.event(written, "Warning", "BackOff", f"Back-off restarting failed container {name} in pod "
              f"{meta['name']}_{meta.get('namespace')}({meta.get('uid')})", "kubelet")


def _restart(ctx: Context, pod: dict[str, Any], entry: dict[str, Any]) -> None:
    ready = readiness_delay(pod) <= 0
    running = {**entry, "ready": ready, "started": True,
               "state": {"running": {"startedAt": format_time(ctx.now())}}}
    status = dict(pod.get("status") or {})
    status["containerStatuses"] = [running, *status["containerStatuses"][1:]]
    status["conditions"] = _conditions(status, ready, ctx.now(), None if ready else "ContainersNotReady")
    written = _write(ctx, pod, status)
    image = entry.get("image")
    ctx.event(written, "Normal", "Pulled", f'Container image "{image}" already present on machine', "kubelet")
    ctx.event(written, "Normal", "Created", f"Created container {entry['name']}", "kubelet")
    ctx.event(written, "Normal", "Started", f"Started container {entry['name']}", "kubelet")


def cycle(ctx: Context, pod: dict[str, Any], key: Key) -> bool:
    """Drive a crash-looping first container; False when the ordinary lifecycle should act."""
    entries = (pod.get("status") or {}).get("containerStatuses") or []
    if not entries:
        return False
    entry, restarts = entries[0], int(entries[0].get("restartCount", 0))
    state = entry.get("state") or {}
    if (state.get("waiting") or {}).get("reason") == "CrashLoopBackOff":
        finished = parse_time(entry["lastState"]["terminated"]["finishedAt"])
        if ctx.wait_until(finished + timedelta(seconds=backoff(restarts)), "pods", key, instant_when_settling=False):
            _restart(ctx, pod, entry)
        return True
    if "running" not in state or not all(e.get("ready") for e in entries):
        return False
    started = parse_time(state["running"]["startedAt"])
    if ctx.wait_until(started + timedelta(seconds=run_time(pod)), "pods", key, instant_when_settling=False):
        _crash(ctx, pod, entry)
    return True


def _started_at(pod: dict[str, Any]) -> datetime | None:
    for entry in (pod.get("status") or {}).get("containerStatuses") or []:
        started = ((entry.get("state") or {}).get("running") or {}).get("startedAt")
        if started:
            return parse_time(started)
    return None


def sync(ctx: Context, pod: dict[str, Any], node: dict[str, Any], key: Key) -> None:
    status = pod.get("status") or {}
    phase = status.get("phase", "Pending")
    if phase == "Pending":
        if not status.get("containerStatuses"):
            status = _pending(ctx, pod, node)
        start = parse_time(status.get("startTime") or format_time(ctx.now()))
        if ctx.wait_until(start + timedelta(seconds=pull_delay(pod)), "pods", key):
            _running(ctx, pod, node, status)
        return
    if phase == "Running" and crash_loops(pod) and cycle(ctx, pod, key):
        return
    started = _started_at(pod)
    if phase != "Running" or started is None:
        return
    all_ready = all(entry.get("ready") for entry in status.get("containerStatuses") or [])
    if not all_ready:
        if ctx.wait_until(started + timedelta(seconds=readiness_delay(pod)), "pods", key):
            _ready(ctx, pod)
        return
    if finishes(pod) and ctx.wait_until(started + timedelta(seconds=run_time(pod)), "pods", key):
        _finish(ctx, pod)


def reconcile(ctx: Context, key: Key) -> None:
    pod = ctx.obj(PODS, key[0], key[1])
    node_name = (pod or {}).get("spec", {}).get("nodeName")
    node = ctx.obj(NODES, "", node_name) if node_name else None
    if pod is not None and node_name and node is None and not deleting(pod):
        collect(ctx, key)
        return
    ctx.memory.get("pods.orphaned", {}).pop(key, None)
    if pod is None or deleting(pod):
        return
    if node is None or node_index(node) is None or is_terminal(pod):
        return
    sync(ctx, pod, node, key)


def triggers(ctx: Context, event: str, rt: ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None) -> list[Key]:
    if rt.key == PODS and event != "DELETED" and (obj.get("spec") or {}).get("nodeName"):
        return [(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])]
    if rt.key == NODES and (event == "DELETED" or old is None or node_index(old) != node_index(obj)):
        return [(p["metadata"].get("namespace", ""), p["metadata"]["name"])
                for p in ctx.cache.pods_on(obj["metadata"]["name"])]
    return []


def collect(ctx: Context, key: Key) -> None:
    """Pod garbage collection: a pod bound to a node that stays absent for a while is deleted."""
    missing: dict[Key, datetime] = ctx.memory.setdefault("pods.orphaned", {})
    since = missing.setdefault(key, ctx.now())
    if ctx.wait_until(since + timedelta(seconds=ORPHAN_QUARANTINE), "pods", key):
        missing.pop(key, None)
        ctx.state.delete(ctx.rt(*PODS), key[0], key[1])


CONTROLLER = Controller("pods", triggers, reconcile)
