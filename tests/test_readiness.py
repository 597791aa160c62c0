"""`/ready` against real databases: 200 when the database answers, the bus carries a message and
the schema is at the migrations' head; 503 naming the failing checks otherwise. `/health`
(liveness) answers 200 with its old body throughout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory

from app import probes
from app.db.migrate import alembic_config, upgrade
from app.db.session import Database, make_engine
from app.services import Services
from app.settings import load_settings
from app.web import create_app
from tests.conftest import require_postgres
from tests.support.databases import fresh_database, scratch_postgres
from tests.support.server import serving

SECRET = "test-secret-key-that-is-long-enough-0123456789"
HEAD = probes.script_heads()
BEHIND = ScriptDirectory.from_config(alembic_config("")).get_revision(HEAD[0]).down_revision
assert isinstance(BEHIND, str)


@pytest.fixture(params=["sqlite", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        require_postgres()
    return str(request.param)


@asynccontextmanager
async def database(kind: str, tmp_path: Path, revision: str = "head") -> AsyncIterator[str]:
    """A new database of `kind`, migrated to `revision`."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'ready.db'}"
        await fresh_database(url) if revision == "head" else await _upgrade(url, revision)
        yield url
        return
    async with scratch_postgres(require_postgres()) as url:
        await fresh_database(url) if revision == "head" else await _upgrade(url, revision)
        yield url


async def _upgrade(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        await upgrade(engine, revision)
    finally:
        await engine.dispose()


def broken_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'x.db'}"
    return "postgresql+asyncpg://postgres@127.0.0.1:1/nothing"


@asynccontextmanager
async def app_on(url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    settings = load_settings(database_url=url, secret_key=SECRET, operation_workers=0, cluster_health_seconds=0)
    services = Services.from_settings(settings)
    async with serving(create_app(settings, services)) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        yield http, services


async def assert_alive(http: httpx.AsyncClient) -> None:
    health = await http.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "healthy" and "version" in health.json()


async def test_ready_when_everything_answers(kind: str, tmp_path: Path) -> None:
    async with database(kind, tmp_path) as url, app_on(url) as (http, _):
        answer = await http.get("/ready")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "ready" and body["failing"] == []
        assert {name: check["status"] for name, check in body["checks"].items()} == {
            "database": "ok", "bus": "ok", "migrations": "ok"
        }  # fmt: skip
        assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["head"] == ",".join(HEAD)
        assert body["checks"]["database"]["latencyMs"] >= 0
        await assert_alive(http)


async def test_not_ready_when_the_database_is_unreachable(kind: str, tmp_path: Path) -> None:
    async with app_on(broken_url(kind, tmp_path)) as (http, _):
        answer = await http.get("/ready")
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "not ready" and body["failing"] == ["database", "migrations"]
        assert body["checks"]["database"]["error"] and body["checks"]["bus"]["status"] == "ok"
        await assert_alive(http)


async def test_not_ready_when_migrations_are_behind(kind: str, tmp_path: Path) -> None:
    async with database(kind, tmp_path, BEHIND) as url, app_on(url) as (http, _):
        answer = await http.get("/ready")
        assert answer.status_code == 503
        body = answer.json()
        assert body["failing"] == ["migrations"]
        assert body["checks"]["migrations"] | {"error": None} == {
            "status": "down", "current": BEHIND, "head": ",".join(HEAD), "error": None
        }  # fmt: skip
        await assert_alive(http)


async def test_not_ready_while_the_bus_is_stopped(kind: str, tmp_path: Path) -> None:
    async with database(kind, tmp_path) as url, app_on(url) as (http, services):
        await services.bus.disconnect()
        try:
            answer = await http.get("/ready")
            assert answer.status_code == 503 and answer.json()["failing"] == ["bus"]
            assert "no message came back" in answer.json()["checks"]["bus"]["error"]
            await assert_alive(http)
        finally:
            await services.bus.connect()
        assert (await http.get("/ready")).status_code == 200


async def test_the_database_probe_fails_on_a_broken_url(kind: str, tmp_path: Path) -> None:
    broken = Database(broken_url(kind, tmp_path))
    try:
        probe = await probes.database(broken)
    finally:
        await broken.dispose()
    assert probe.status == "down" and probe.error
    async with database(kind, tmp_path) as url:
        working = Database(url)
        try:
            assert (await probes.database(working)).status == "ok"
        finally:
            await working.dispose()
