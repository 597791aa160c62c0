"""Benchmark: topology build + layout for 1k and 10k objects, incremental updates, memory.

Run: .venv/bin/python bench/topology.py [--sizes 1000,10000] [--rounds 7] [--events 2000]

Targets: build + layout of 10,000 objects < 300 ms (median wall time); LiveTopology.apply < 2 ms per
event (mean, and reported p99). Exit status 0 when both are met, 1 when not. The CPU time of the
process is printed too: on a shared machine it is the steadier figure.

The objects are synthetic but shaped like a real cluster: apps of one Deployment, its ReplicaSet,
5 pods, a Service, a ConfigMap and a Secret (10 objects each), across 20 namespaces, plus one Node
per 100 objects. Pods carry labels, an owner reference, a node, a mounted ConfigMap, env from the
Secret and the ConfigMap, a service account, resources, probes and a Running/Ready status.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
import tracemalloc
from typing import Any

from app.topology import LiveTopology, build, layout

Obj = dict[str, Any]
PODS_PER_APP = 5
NAMESPACES = 20


def _pod(ns: str, app: str, index: int, node: str, labels: dict[str, str]) -> Obj:
    container = {
        "name": app, "image": f"registry.example.com/{app}:1.{index % 7}",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"{app}-secret", "key": "password"}}},
                {"name": "LOG_LEVEL", "value": "info"}],
        "envFrom": [{"configMapRef": {"name": f"{app}-config"}}],
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
    }
    return {
        "metadata": {
            "name": f"{app}-7d9f8-{index:05d}", "namespace": ns, "uid": f"pod-{ns}-{app}-{index}",
            "labels": {**labels, "pod-template-hash": "7d9f8"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{app}-7d9f8",
                                 "uid": f"rs-{ns}-{app}", "controller": True}],
        },
        "spec": {"nodeName": node, "serviceAccountName": "default", "containers": [container],
                 "volumes": [{"name": "config", "configMap": {"name": f"{app}-config"}}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": [{"name": app, "ready": True, "restartCount": 0,
                                          "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]},
    }


def synthetic(count: int) -> dict[str, list[Obj]]:
    objects: dict[str, list[Obj]] = {k: [] for k in (
        "Node", "Namespace", "ServiceAccount", "Deployment", "ReplicaSet", "Pod", "Service", "ConfigMap", "Secret")}
    nodes = [f"node-{i:03d}" for i in range(max(1, count // 100))]
    objects["Node"] = [{"metadata": {"name": n, "uid": f"node-{n}"},
                        "status": {"conditions": [{"type": "Ready", "status": "True"}]}} for n in nodes]
    namespaces = [f"team-{i:02d}" for i in range(NAMESPACES)]
    objects["Namespace"] = [{"metadata": {"name": n}, "status": {"phase": "Active"}} for n in namespaces]
    objects["ServiceAccount"] = [{"metadata": {"name": "default", "namespace": n}} for n in namespaces]
    apps = max(1, (count - len(nodes) - 2 * NAMESPACES) // (5 + PODS_PER_APP))
    for i in range(apps):
        ns, app = namespaces[i % NAMESPACES], f"app-{i:04d}"
        labels = {"app": app, "tier": "web" if i % 2 else "worker"}
        meta = {"namespace": ns, "labels": labels}
        objects["Deployment"].append({"metadata": {"name": app, "uid": f"dep-{ns}-{app}", **meta},
                                      "spec": {"replicas": PODS_PER_APP},
                                      "status": {"availableReplicas": PODS_PER_APP, "readyReplicas": PODS_PER_APP}})
        objects["ReplicaSet"].append({
            "metadata": {"name": f"{app}-7d9f8", "uid": f"rs-{ns}-{app}", **meta, "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": f"dep-{ns}-{app}"}]},
            "spec": {"replicas": PODS_PER_APP}, "status": {"readyReplicas": PODS_PER_APP}})
        objects["Service"].append({"metadata": {"name": app, **meta}, "spec": {"selector": {"app": app}}})
        objects["ConfigMap"].append({"metadata": {"name": f"{app}-config", **meta}, "data": {"a": "b"}})
        objects["Secret"].append({"metadata": {"name": f"{app}-secret", **meta}, "type": "Opaque"})
        for p in range(PODS_PER_APP):
            objects["Pod"].append(_pod(ns, app, i * PODS_PER_APP + p, nodes[(i + p) % len(nodes)], labels))
    return objects


def time_build(objects: dict[str, list[Obj]], rounds: int) -> dict[str, float]:
    builds, layouts, cpu = [], [], []
    for _ in range(rounds):
        started, cpu_started = time.perf_counter(), time.process_time()
        graph = build(objects)
        built = time.perf_counter()
        layout(graph)
        builds.append(built - started)
        layouts.append(time.perf_counter() - built)
        cpu.append(time.process_time() - cpu_started)
    totals = [b + lay for b, lay in zip(builds, layouts, strict=True)]
    return {"build": statistics.median(builds), "layout": statistics.median(layouts),
            "total": statistics.median(totals), "cpu": statistics.median(cpu), "best": min(totals),
            "nodes": graph.number_of_nodes(), "edges": graph.number_of_edges()}


def event_series(objects: dict[str, list[Obj]], count: int, seed: int = 1) -> list[tuple[str, str, Obj]]:
    """Watch-like events: pods turning unready and back, pods replaced, Services re-pointed,
    ConfigMaps created and deleted."""
    rng = random.Random(seed)
    pods, services = objects["Pod"], objects["Service"]
    events: list[tuple[str, str, Obj]] = []
    while len(events) < count:
        roll = rng.random()
        if roll < 0.5:
            pod = rng.choice(pods)
            sick = {**pod, "status": {**pod["status"], "conditions": [{"type": "Ready", "status": "False"}]}}
            events += [("MODIFIED", "Pod", sick), ("MODIFIED", "Pod", pod)]
        elif roll < 0.8:
            pod = rng.choice(pods)
            fresh = {**pod, "metadata": {**pod["metadata"], "name": pod["metadata"]["name"] + "-r"}}
            events += [("ADDED", "Pod", fresh), ("DELETED", "Pod", fresh)]
        elif roll < 0.9:
            service = rng.choice(services)
            other = {**service, "spec": {"selector": {"tier": "web"}}}
            events += [("MODIFIED", "Service", other), ("MODIFIED", "Service", service)]
        else:
            config = rng.choice(objects["ConfigMap"])
            extra = {**config, "metadata": {**config["metadata"], "name": config["metadata"]["name"] + "-x"}}
            events += [("ADDED", "ConfigMap", extra), ("DELETED", "ConfigMap", extra)]
    return events[:count]


def time_events(objects: dict[str, list[Obj]], count: int) -> dict[str, float]:
    live = LiveTopology(objects)
    samples = []
    for event_type, kind, obj in event_series(objects, count):
        started = time.perf_counter()
        live.apply(event_type, kind, obj)  # type: ignore[arg-type]
        samples.append(time.perf_counter() - started)
    samples.sort()
    return {"mean": statistics.fmean(samples), "p50": samples[len(samples) // 2],
            "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))], "max": samples[-1]}


def memory(objects: dict[str, list[Obj]]) -> tuple[float, float]:
    """MiB held by the built graph, and the peak while building and laying it out (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    graph = build(objects)
    layout(graph)
    held = tracemalloc.get_traced_memory()[0] - base
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    del graph
    return held / 2**20, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    ok = True
    largest: dict[str, list[Obj]] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        objects = synthetic(size)
        total = sum(len(v) for v in objects.values())
        result = time_build(objects, args.rounds)
        held, peak = memory(objects)
        print(f"{total:,} objects ({result['nodes']:,.0f} nodes, {result['edges']:,.0f} edges): build "
              f"{result['build'] * 1000:.0f} ms + layout {result['layout'] * 1000:.0f} ms = "
              f"{result['total'] * 1000:.0f} ms (median of {args.rounds}; best {result['best'] * 1000:.0f} ms, "
              f"CPU {result['cpu'] * 1000:.0f} ms); graph {held:.1f} MiB, peak {peak:.1f} MiB")
        if size >= 10_000:
            ok &= result["total"] < 0.3
        largest = objects
    events = time_events(largest, args.events)
    print(f"incremental apply, {args.events:,} events on {sum(len(v) for v in largest.values()):,} objects: "
          f"mean {events['mean'] * 1000:.3f} ms, p50 {events['p50'] * 1000:.3f} ms, "
          f"p99 {events['p99'] * 1000:.3f} ms, max {events['max'] * 1000:.2f} ms")
    ok &= events["mean"] < 0.002
    print("targets met" if ok else "targets missed")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
