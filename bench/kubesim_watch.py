"""Benchmark: watch delivery at a target rate of 1,000 events/s to one or more watchers.

Run: .venv/bin/python bench/kubesim_watch.py [--rate 1000] [--seconds 5] [--watchers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import httpx

from kubesim.fleet import start_fleet
from kubesim.store import ClusterState


async def produce(state: ClusterState, rate: int, seconds: float, sent: dict[str, float]) -> None:
    configmaps = state.resources.get("", "v1", "configmaps")
    assert configmaps is not None
    tick, total = 0.01, int(rate * seconds)
    per_tick = max(1, int(rate * tick))
    started = time.perf_counter()
    index = 0
    while index < total:
        for _ in range(min(per_tick, total - index)):
            name = f"ev-{index:06d}"
            sent[name] = time.perf_counter()
            state.create(configmaps, {"metadata": {"name": name, "namespace": "default"}, "data": {"i": str(index)}})
            index += 1
        target = started + tick * (index // per_tick)
        await asyncio.sleep(max(0.0, target - time.perf_counter()))


async def consume(http: httpx.AsyncClient, rv: str, expected: int, sent: dict[str, float],
                  latencies: list[float]) -> int:
    received = 0
    params = {"watch": "1", "resourceVersion": rv, "timeoutSeconds": "120"}
    async with http.stream("GET", "/api/v1/namespaces/default/configmaps", params=params) as response:
        async for line in response.aiter_lines():
            if not line:
                continue
            event: dict[str, Any] = json.loads(line)
            latencies.append(time.perf_counter() - sent[event["object"]["metadata"]["name"]])
            received += 1
            if received >= expected:
                break
    return received


async def run(rate: int, seconds: float, watchers: int) -> None:
    async with start_fleet(1, profile=None, seed=0, controllers=False, history_size=50_000) as fleet:
        cluster = fleet.cluster("cluster-0")
        headers = {"Authorization": f"Bearer {cluster.token}"}
        expected = int(rate * seconds)
        sent: dict[str, float] = {}
        latencies: list[float] = []
        async with httpx.AsyncClient(base_url=fleet.server_url("cluster-0"), headers=headers, timeout=120) as http:
            rv = str(cluster.state.resource_version())
            consumers = [asyncio.create_task(consume(http, rv, expected, sent, latencies)) for _ in range(watchers)]
            await asyncio.sleep(0.2)
            started = time.perf_counter()
            await produce(cluster.state, rate, seconds, sent)
            produced_in = time.perf_counter() - started
            counts = await asyncio.gather(*consumers)
            delivered_in = time.perf_counter() - started
    latencies.sort()
    print(f"produced {expected} events in {produced_in:.2f} s ({expected / produced_in:.0f}/s)")
    print(f"delivered {sum(counts)} events to {watchers} watcher(s) in {delivered_in:.2f} s "
          f"({sum(counts) / delivered_in:.0f} events/s)")
    print(f"latency commit->client: p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--watchers", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(run(args.rate, args.seconds, args.watchers))


if __name__ == "__main__":
    main()
