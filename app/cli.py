"""`fleetgraph`: serve, demo, migrate, create-admin, sim, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app import __version__
from app.settings import Settings, SettingsError, load_settings
from app.telemetry.logs import configure_logging

if TYPE_CHECKING:
    from starlette.types import ASGIApp


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fleetgraph", description="Fleetgraph control plane")
    parser.add_argument("--version", action="version", version=f"fleetgraph {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API server (production)")
    serve.add_argument("--host", help="address to listen on (default: FLEETGRAPH_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: FLEETGRAPH_PORT, 8000)")
    serve.add_argument("--no-migrate", action="store_true", help="do not run migrations at start")
    demo = sub.add_parser("demo", help="run the embedded demo (SQLite, in-memory bus, demo tenants)")
    demo.add_argument("--port", type=int, help="port to listen on (default: FLEETGRAPH_PORT, 8000)")
    demo.add_argument("--host", help="address to listen on (default: FLEETGRAPH_HOST, 127.0.0.1)")
    demo.add_argument("--data-dir", type=Path, help="where the demo keeps its database and key (default: .fleetgraph)")
    sub.add_parser("migrate", help="apply database migrations")
    admin = sub.add_parser("create-admin", help="create a provider admin")
    admin.add_argument("--email", help="the admin's email (default: FLEETGRAPH_ADMIN_EMAIL)")
    admin.add_argument("--password", help="default: FLEETGRAPH_ADMIN_PASSWORD, else asked")
    reset = sub.add_parser("reset-password", help="set a user's password (the provider admin's by default)")
    reset.add_argument("--email", help="whose password (default: FLEETGRAPH_ADMIN_EMAIL)")
    reset.add_argument("--tenant", help="the tenant's slug, for a tenant's user (default: a provider user)")
    reset.add_argument("--password", help="the new password (default: FLEETGRAPH_ADMIN_PASSWORD, else one is made)")
    reset.add_argument("--data-dir", type=Path, help="the demo's data directory, to reset a demo's user")
    sub.add_parser("export-schema", help="write the GraphQL SDL to schema.graphql")
    sub.add_parser("sim", help="run simulated Kubernetes clusters (kubesim); see `fleetgraph sim --help`")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sim"]:  # everything after `sim` belongs to the simulator's own parser
        import importlib

        return int(importlib.import_module("kubesim.cli").main(argv[1:]) or 0)
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except SettingsError as exc:
        print(f"fleetgraph: bad setting: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "export-schema":
        from schema.root import SDL_PATH, sdl

        SDL_PATH.write_text(sdl())
        print(f"wrote {SDL_PATH}")
        return 0
    if args.command == "demo":
        from app.demo import run_demo

        return run_demo(args)
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
        print("database is up to date")
        return 0
    if args.command == "create-admin":
        return asyncio.run(_create_admin(settings, args))
    if args.command == "reset-password":
        return asyncio.run(_reset_password(settings, args))
    return _serve(settings, args)


async def _migrate(settings: Settings) -> None:
    from app.datafiles import prepare_database_file
    from app.db.migrate import upgrade
    from app.db.session import make_engine

    prepare_database_file(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from app.db.session import Database
    from app.seed import ensure_provider_admin

    email = args.email or settings.admin_email
    password = args.password or (settings.admin_password.get_secret_value() if settings.admin_password else None)
    if password is None:
        password = getpass.getpass(f"password for {email}: ")
    if len(password) < 12:
        print("fleetgraph: the password must be at least 12 characters", file=sys.stderr)
        return 2
    await _migrate(settings)
    db = Database(settings.database_url)
    created = await ensure_provider_admin(db, email, password)
    await db.dispose()
    print(f"provider admin {email} {'created' if created else 'already exists'}")
    return 0


async def _reset_password(settings: Settings, args: argparse.Namespace) -> int:
    from app.db.session import Database
    from app.seed import reset_password

    if args.data_dir is not None:  # the demo's own database, as `fleetgraph demo --data-dir` keeps it
        settings = load_settings(database_url=f"sqlite+aiosqlite:///{args.data_dir.resolve() / 'fleetgraph.db'}")
    email = args.email or settings.admin_email
    given = args.password or (settings.admin_password.get_secret_value() if settings.admin_password else None)
    password = given or secrets.token_urlsafe(12)
    if len(password) < 12:
        print("fleetgraph: the password must be at least 12 characters", file=sys.stderr)
        return 2
    await _migrate(settings)
    db = Database(settings.database_url)
    try:
        found = await reset_password(db, email, password, args.tenant)
    finally:
        await db.dispose()
    if not found:
        where = f"tenant '{args.tenant}'" if args.tenant else "the provider"
        print(f"fleetgraph: no user {email} in {where}", file=sys.stderr)
        return 1
    print(f"password of {email} reset; its sessions are ended" + ("" if given else f"; new password: {password}"))
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from app.web import create_app

    settings.secret()  # serve refuses to start without a secret key
    if not args.no_migrate:
        asyncio.run(_migrate(settings))
    app = create_app(settings)
    with contextlib.suppress(KeyboardInterrupt):  # raised again by uvicorn after its graceful shutdown
        _run(app, settings, args)
    return 0


def _run(app: ASGIApp, settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    uvicorn.run(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's lines go through our logging (app/telemetry/logs.py)
        ws_max_size=settings.max_body_bytes,  # a websocket message is bounded as a request body is
        proxy_headers=True,
    )


def demo_secret(data_dir: Path) -> str:
    """The demo's secret key, made once and kept in the data dir."""
    from app.datafiles import private_dir, private_file, write_private

    path = private_dir(data_dir) / "secret_key"
    if path.exists():
        private_file(path)  # tighten a key an older version left readable
    else:
        write_private(path, secrets.token_urlsafe(48))
    return path.read_text().strip()
