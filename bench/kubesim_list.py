"""Benchmark: LIST of 5,000 pods over HTTP, and store memory per 10,000 objects.

Run: .venv/bin/python bench/kubesim_list.py [--pods 5000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
import tracemalloc
from typing import Any

import httpx

from kubesim.fleet import start_fleet
from kubesim.store import ClusterState


def make_pod(index: int, namespace: str) -> dict[str, Any]:
    app = f"app-{index % 50}"
    return {
        "metadata": {"name": f"{app}-{index:05d}", "namespace": namespace,
                     "labels": {"app": app, "tier": "web" if index % 2 else "worker"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{app}-rs",
                                          "uid": f"00000000-0000-4000-8000-{index % 50:012d}", "controller": True}]},
        "spec": {"nodeName": f"node-{index % 40}", "containers": [{
            "name": "main", "image": f"registry.example.com/{app}:1.{index % 7}",
            "ports": [{"containerPort": 8080, "name": "http"}],
            "env": [{"name": "APP", "value": app}, {"name": "LOG_LEVEL", "value": "info"}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                          "limits": {"cpu": "500m", "memory": "256Mi"}}}]},
    }


def fill(state: ClusterState, pods: int) -> None:
    namespaces = state.resources.get("", "v1", "namespaces")
    pod_type = state.resources.get("", "v1", "pods")
    assert namespaces is not None and pod_type is not None
    names = [f"bench-{i}" for i in range(10)]
    for ns in names:
        if state.get(namespaces, None, ns) is None:
            state.create(namespaces, {"metadata": {"name": ns}})
    for i in range(pods):
        state.create(pod_type, make_pod(i, names[i % len(names)]))


def memory_per_objects(count: int) -> float:
    """MiB held by a store with `count` pods (the watch history included)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    state = ClusterState("memory", history_size=count)
    fill(state, count)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del state
    return (after - before) / 2**20


async def list_timings(pods: int, rounds: int) -> dict[str, float]:
    async with start_fleet(1, profile=None, seed=0, controllers=False) as fleet:
        cluster = fleet.cluster("cluster-0")
        fill(cluster.state, pods)
        headers = {"Authorization": f"Bearer {cluster.token}"}
        results: dict[str, float] = {}
        async with httpx.AsyncClient(base_url=fleet.server_url("cluster-0"), headers=headers, timeout=60) as http:
            for label, extra in (("json", {}), ("table", {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})):
                samples, parse, size = [], [], 0
                for _ in range(rounds):
                    started = time.perf_counter()
                    response = await http.get("/api/v1/pods", headers=extra)
                    received = time.perf_counter()
                    body = response.json()
                    samples.append(received - started)
                    parse.append(time.perf_counter() - received)
                    size = len(response.content)
                    count = len(body.get("items") or body.get("rows") or [])
                    assert count == pods, count
                results[f"{label}_median_s"] = statistics.median(samples)
                results[f"{label}_parse_s"] = statistics.median(parse)
                results[f"{label}_MiB"] = size / 2**20
            started = time.perf_counter()
            token, pages = None, 0
            while True:
                params = {"limit": "500", **({"continue": token} if token else {})}
                page = (await http.get("/api/v1/pods", params=params)).json()
                pages += 1
                token = page["metadata"].get("continue")
                if not token:
                    break
            results["paged_500_total_s"] = time.perf_counter() - started
            results["pages"] = pages
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    timings = asyncio.run(list_timings(args.pods, args.rounds))
    for label, title in (("json", "JSON "), ("table", "Table")):
        print(f"LIST {args.pods} pods ({title}): median {timings[f'{label}_median_s'] * 1000:.0f} ms to the last "
              f"byte, {timings[f'{label}_MiB']:.1f} MiB (+{timings[f'{label}_parse_s'] * 1000:.0f} ms client parse)")
    print(f"LIST {args.pods} pods in pages of 500: {timings['paged_500_total_s'] * 1000:.0f} ms "
          f"({timings['pages']:.0f} requests)")
    print(f"store memory for 10,000 pods: {memory_per_objects(10_000):.1f} MiB")


if __name__ == "__main__":
    main()
