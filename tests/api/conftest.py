from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.db.session import Database
from app.seed import ensure_provider_admin
from app.services import Services
from app.settings import load_settings
from app.web import create_app
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.server import serving

PROVIDER_EMAIL = "root@provider.test"
PROVIDER_PASSWORD = "provider-password-42"
SECRET = "test-secret-key-that-is-long-enough-0123456789"


@pytest.fixture(scope="session")
async def services(database_url: str) -> AsyncIterator[Services]:
    settings = load_settings(
        database_url=database_url,
        secret_key=SECRET,
        lockout_threshold=3,
        k8s_breaker_reset_seconds=1,
        k8s_timeout_seconds=2,
        cluster_health_seconds=0,
        subscription_recheck_seconds=0.5,
        rest_rate_limits=False,  # tests/rest/test_rate_limits.py and the journeys serve an app with them
        operation_workers=0,  # operations run in the lifecycle tests' own app, with a simulator
        # the isolation matrix reads tenant_a's whole state after each refused attempt, hundreds of
        # times a minute; the budgets themselves are tested in apps of their own
        principal_cost_budget=5_000_000,
        tenant_cost_budget=20_000_000,
    )
    services = Services.from_settings(settings)
    yield services
    await services.db.dispose()


@pytest.fixture(scope="session")
async def base_url(services: Services) -> AsyncIterator[str]:
    await ensure_provider_admin(services.db, PROVIDER_EMAIL, PROVIDER_PASSWORD)
    async with serving(create_app(services.settings, services)) as url:
        yield url


@pytest.fixture(scope="session")
async def api(base_url: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        yield Api(http)


@pytest.fixture(scope="session")
async def provider_token(api: Api) -> str:
    return str((await api.login(PROVIDER_EMAIL, PROVIDER_PASSWORD))["accessToken"])


@pytest.fixture(scope="session")
async def tenant_a(api: Api, provider_token: str) -> TenantUsers:
    return await make_tenant(api, provider_token, roles=("operator", "developer", "viewer"))


@pytest.fixture(scope="session")
async def tenant_b(api: Api, provider_token: str) -> TenantUsers:
    return await make_tenant(api, provider_token)


@pytest.fixture
def db(services: Services) -> Database:
    return services.db
