"""`fleetgraph demo`: everything embedded, for a first look."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator

from app.datafiles import private_dir
from app.services import Services
from app.settings import Settings, load_settings


def run_demo(args: argparse.Namespace) -> int:
    import uvicorn

    from app.cli import _migrate, demo_secret
    from app.web import create_app

    base = load_settings()
    data_dir = private_dir((args.data_dir or base.data_dir).resolve())
    overrides = {
        "data_dir": data_dir,
        "secret_key": base.secret_key.get_secret_value() if base.secret_key else demo_secret(data_dir),
        "port": args.port or base.port,
        "host": args.host or base.host,
    }
    if "FLEETGRAPH_DATABASE_URL" not in __import__("os").environ:
        overrides["database_url"] = f"sqlite+aiosqlite:///{data_dir / 'fleetgraph.db'}"
    settings = load_settings(**overrides)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(_migrate(settings))
    password = settings.admin_password.get_secret_value() if settings.admin_password else None
    created_password = asyncio.run(_seed(settings, password))
    app = create_app(settings, attach=lambda services: _with_fleet(services, settings, created_password))
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return 0


@contextlib.asynccontextmanager
async def _with_fleet(services: Services, settings: Settings, seeded: tuple[str | None, list]) -> AsyncIterator[None]:
    from app.demo_fleet import demo_fleet

    async with demo_fleet(services) as lines:
        _banner(settings, seeded, lines)
        yield


async def _seed(settings: Settings, password: str | None) -> tuple[str | None, list]:
    from app.db.session import Database
    from app.seed import ensure_demo_tenants, ensure_provider_admin

    db = Database(settings.database_url)
    chosen = password or secrets.token_urlsafe(12)
    created = await ensure_provider_admin(db, settings.admin_email, chosen)
    credentials = await ensure_demo_tenants(db)
    await db.dispose()
    shown = chosen if created or password else None
    return shown, credentials


def _banner(settings: Settings, seeded: tuple[str | None, list], clusters: list[str]) -> None:
    password, credentials = seeded
    url = f"http://{settings.host}:{settings.port}"
    lines = [
        "",
        "Fleetgraph demo is running",
        f"  GraphQL + GraphiQL  {url}/graphql",
        f"  Health              {url}/health",
        f"  Data                {settings.data_dir}",
        "",
        f"  Provider admin      {settings.admin_email} / "
        + (password or "(unchanged since the first run; set FLEETGRAPH_ADMIN_PASSWORD to choose one)"),
    ]
    lines += [f"  {c.tenant:<10} {c.role:<13} {c.email} / {c.password}" for c in credentials]
    lines += ["", "  Simulated clusters (kubesim)"] + clusters
    print("\n".join(lines + [""]), flush=True)
