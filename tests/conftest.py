"""Shared fixtures: the app served by uvicorn over real HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

POSTGRES_URL = os.environ.get("FLEETGRAPH_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("FLEETGRAPH_TEST_REDIS_URL")
IN_CI = bool(os.environ.get("CI"))
# kubesim, sshd and the other servers the tests call listen on loopback, which the outbound
# policy refuses unless allowed; the tests of the policy itself choose their own setting.
os.environ.setdefault("FLEETGRAPH_CLUSTER_ALLOWED_NETWORKS", "127.0.0.0/8")
# Sampling and alert evaluation read every registered cluster in the background, which would add
# LISTs and watches to the tests that count them; the tests of metrics and alerts turn them on.
os.environ.setdefault("FLEETGRAPH_METRICS_INTERVAL_SECONDS", "0")
os.environ.setdefault("FLEETGRAPH_ALERT_EVALUATION", "false")


def require_postgres() -> str:
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail("FLEETGRAPH_TEST_POSTGRES_URL must be set in CI")
        pytest.skip("PostgreSQL tests need FLEETGRAPH_TEST_POSTGRES_URL")
    return POSTGRES_URL


def require_redis() -> str:
    if not REDIS_URL:
        if IN_CI:
            pytest.fail("FLEETGRAPH_TEST_REDIS_URL must be set in CI")
        pytest.skip("Redis tests need FLEETGRAPH_TEST_REDIS_URL")
    return REDIS_URL


@pytest.fixture(scope="session")
def tmp_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fleetgraph")


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_data: Path) -> AsyncIterator[str]:
    """A freshly migrated database of each kind."""
    from tests.support.databases import fresh_database, scratch_postgres

    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_data / 'api.db'}"
        await fresh_database(url)
        yield url
        return
    async with scratch_postgres(require_postgres()) as url:
        await fresh_database(url)
        yield url
