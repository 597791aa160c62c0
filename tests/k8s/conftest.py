"""Fixtures: simulated clusters over real HTTP, their control API, and clients with short timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio

from app.k8s.client import ClusterClient
from app.k8s.kubeconfig import ClusterConnection, parse_kubeconfig
from kubesim.fleet import Fleet, start_fleet

# Small enough that failure paths finish in a second or two.
FAST: dict[str, Any] = {
    "timeout": 1.0, "qps": 0, "retries": 2, "backoff_base": 0.02, "backoff_max": 0.1, "max_retry_after": 1.0,
    "breaker_threshold": 3, "breaker_reset": 1.0,
}


def connection(fleet: Fleet, name: str = "cluster-0") -> ClusterConnection:
    return parse_kubeconfig(fleet.kubeconfigs[name].read_text()).connection()


def make_client(fleet: Fleet, name: str = "cluster-0", **settings: Any) -> ClusterClient:
    return ClusterClient(name, connection(fleet, name), **{**FAST, **settings})


class Control:
    """kubesim's control API: request counters, faults, dropped watches."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{fleet.control_port}", timeout=30)

    async def stats(self, name: str = "cluster-0") -> dict[str, Any]:
        response = await self.http.get(f"/clusters/{name}/stats")
        response.raise_for_status()
        return dict(response.json())

    async def calls(self, verb: str, resource: str, name: str = "cluster-0") -> int:
        return int((await self.stats(name))["counters"].get(f"{verb} {resource}", 0))

    async def wait_calls(self, verb: str, resource: str, count: int = 1, name: str = "cluster-0") -> None:
        """Until kubesim has counted ``count`` such calls (a cache's watch starts just after its LIST)."""
        for _ in range(250):
            if await self.calls(verb, resource, name) >= count:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"kubesim never counted {count} {verb} {resource}")

    async def faults(self, name: str = "cluster-0", **body: Any) -> None:
        (await self.http.post(f"/clusters/{name}/faults", json=body)).raise_for_status()

    async def reset(self, name: str = "cluster-0") -> None:
        (await self.http.post(f"/clusters/{name}/reset")).raise_for_status()

    async def drop_watches(self, name: str = "cluster-0") -> None:
        (await self.http.post(f"/clusters/{name}/drop-watches")).raise_for_status()


def raw(fleet: Fleet, name: str = "cluster-0") -> httpx.AsyncClient:
    """A plain HTTP client for making changes behind the back of the code under test."""
    headers = {"Authorization": f"Bearer {fleet.cluster(name).token}"}
    return httpx.AsyncClient(base_url=fleet.server_url(name), headers=headers, timeout=30)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fleet() -> AsyncIterator[Fleet]:
    """Two empty clusters without controllers, with the control API: the API server alone."""
    async with start_fleet(2, profile=None, seed=11, controllers=False, control=True) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def control(fleet: Fleet) -> AsyncIterator[Control]:
    ctl = Control(fleet)
    for name in ("cluster-0", "cluster-1"):
        await ctl.reset(name)
    yield ctl
    for name in ("cluster-0", "cluster-1"):
        await ctl.reset(name)
    await ctl.http.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def kube(fleet: Fleet) -> AsyncIterator[httpx.AsyncClient]:
    async with raw(fleet) as opened:
        yield opened


@pytest_asyncio.fixture(loop_scope="session")
async def k8s(fleet: Fleet) -> AsyncIterator[ClusterClient]:
    async with make_client(fleet) as opened:
        yield opened
