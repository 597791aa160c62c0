"""The REST tests use the API tests' app, databases and tenants (tests/api/conftest.py)."""

import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.services import Services
from app.web import create_app
from kubesim.fleet import start_fleet
from tests.api.conftest import api, base_url, db, provider_token, services, tenant_a, tenant_b
from tests.rest.world import CLUSTER, World
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.clusters import register_cluster
from tests.support.server import serving

__all__ = ["api", "base_url", "db", "provider_token", "services", "tenant_a", "tenant_b"]


@pytest.fixture(scope="session")
async def world(api: Api, services: Services, provider_token: str, tenant_b: TenantUsers) -> AsyncIterator[World]:
    """A tenant of its own: every path's sample creates and deletes clusters in it (more than a
    tenant's default limit of 10 over a run)."""
    tenant = await make_tenant(api, provider_token, roles=("operator", "developer", "viewer"), maxClusters=100)
    async with start_fleet(1, profile="small", seed=5, control=True, speed=20) as fleet:
        cluster_id = await register_cluster(api, tenant, fleet, "rest-cluster", CLUSTER)
        yield World(api, provider_token, tenant, tenant_b, cluster_id, fleet, services=services)


@pytest.fixture
def executed() -> Iterator[list[str]]:
    """The GraphQL operations the REST layer runs while a test calls it, in order."""
    names: list[str] = []

    class Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            names.append(str(getattr(record, "operation", "")))

    logger = logging.getLogger("fleetgraph.rest")
    handler, level = Seen(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield names
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
async def limited(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """The same services behind an app with the documented rate limits on and QAssure answering
    the bare /api/v1 (FLEETGRAPH_REST_V1_DIALECT=qassure)."""
    settings = services.settings.model_copy(update={"rest_rate_limits": True, "rest_v1_dialect": "qassure"})
    async with serving(create_app(settings, services), lifespan="off") as url, httpx.AsyncClient(base_url=url) as http:
        yield http
