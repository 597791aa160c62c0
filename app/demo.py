"""`fleetgraph demo`: everything embedded, for a first look."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from app.datafiles import private_dir
from app.services import Services
from app.settings import Settings, load_settings
from app.telemetry.logs import configure_logging


def run_demo(args: argparse.Namespace) -> int:
    base = load_settings()
    host, port = args.host or base.host, args.port or base.port
    try:
        listener = bind_listener(host, port)
    except OSError as exc:
        print(f"fleetgraph: cannot listen on {host}:{port}: {exc.strerror or exc}; "
              "choose another port with --port (make demo PORT=8123)", file=sys.stderr)  # fmt: skip
        return 2
    with listener:
        settings = _demo_settings(base, args.data_dir, host, port)
        explicit = "FLEETGRAPH_LOG_FORMAT" in os.environ  # the demo's default is the console format
        configure_logging(settings.log_level, settings.log_format if explicit else "console")
        _serve(settings, listener)
    return 0


def _demo_settings(base: Settings, data_dir: Path | None, host: str, port: int) -> Settings:
    from app.cli import demo_secret

    data_dir = private_dir((data_dir or base.data_dir).resolve())
    overrides: dict[str, object] = {
        "data_dir": data_dir,
        "secret_key": base.secret_key.get_secret_value() if base.secret_key else demo_secret(data_dir),
        "port": port,
        "host": host,
        "cluster_allowed_networks": [*map(str, base.cluster_allowed_networks), "127.0.0.0/8"],  # kubesim's loopback
    }
    if "FLEETGRAPH_DATABASE_URL" not in os.environ:
        overrides["database_url"] = f"sqlite+aiosqlite:///{data_dir / 'fleetgraph.db'}"
    return load_settings(**overrides)


def _serve(settings: Settings, listener: socket.socket) -> None:
    import uvicorn

    from app.cli import _migrate
    from app.web import create_app

    asyncio.run(_migrate(settings))
    password = settings.admin_password.get_secret_value() if settings.admin_password else None
    created_password = asyncio.run(_seed(settings, password))
    app = create_app(settings, attach=lambda services: _with_fleet(services, settings, created_password))
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again; the stop is done
    with contextlib.suppress(KeyboardInterrupt):
        config = uvicorn.Config(app, log_level="warning", log_config=None, ws_max_size=settings.max_body_bytes)
        uvicorn.Server(config).run(sockets=[listener])


def bind_listener(host: str, port: int) -> socket.socket:
    """The demo's listening socket, bound before anything is printed or written, so a busy port
    stops the start at once with a clear line instead of after the banner."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(2048)
    except OSError:
        listener.close()
        raise
    listener.set_inheritable(True)
    return listener


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
        + (password or f"(unchanged since the first run; `fleetgraph reset-password --data-dir {settings.data_dir}` "
                       "sets a new one)"),
    ]
    lines += [f"  {c.tenant:<10} {c.role:<13} {c.email} / {c.password}" for c in credentials]
    lines += ["", "  Simulated clusters (kubesim)"] + clusters
    print("\n".join(lines + [""]), flush=True)
