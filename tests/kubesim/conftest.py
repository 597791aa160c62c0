"""Fixtures: simulated fleets served over real HTTP, and clients for them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from kubernetes_asyncio import client, config

from kubesim.fleet import Fleet, start_fleet


async def api_client(fleet: Fleet, name: str = "cluster-0") -> client.ApiClient:
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(fleet.kubeconfigs[name]), client_configuration=configuration)
    return client.ApiClient(configuration)


def http(fleet: Fleet, name: str = "cluster-0", token: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
    cluster = fleet.cluster(name)
    headers = {"Authorization": f"Bearer {token or cluster.token}"}
    verify: Any = str(fleet.kubeconfig_dir / "tls" / "kubesim-ca.crt") if fleet.tls else True
    return httpx.AsyncClient(base_url=fleet.server_url(name), headers=headers, verify=verify, timeout=30, **kwargs)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fleet() -> AsyncIterator[Fleet]:
    """One empty cluster without controllers: the API server alone, so results are exact."""
    async with start_fleet(1, profile=None, seed=7, controllers=False, control=True) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def api(fleet: Fleet) -> AsyncIterator[client.ApiClient]:
    api_client_ = await api_client(fleet)
    async with api_client_ as opened:
        yield opened


@pytest_asyncio.fixture(loop_scope="session")
async def raw(fleet: Fleet) -> AsyncIterator[httpx.AsyncClient]:
    async with http(fleet) as opened:
        yield opened


def deployment(name: str, namespace: str = "default", replicas: int = 1, image: str = "nginx:1.25",
               labels: dict[str, str] | None = None) -> dict[str, Any]:
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": {"labels": dict(labels)},
                              "spec": {"containers": [{"name": "main", "image": image}]}}},
    }


def pod(name: str, namespace: str = "default", labels: dict[str, str] | None = None,
        node: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "main", "image": "nginx:1.25",
                                            "env": [{"name": "MODE", "value": "test"}]}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}}, "spec": spec}
