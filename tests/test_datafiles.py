"""Data files are the owner's alone: the SQLite database (and so its journal), the demo's key."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import _migrate, demo_secret
from app.datafiles import sqlite_file
from app.settings import load_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The common default umask, under which a plain open() makes 0644 files."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_migrating_a_new_sqlite_database_makes_a_0600_file(tmp_path: Path, open_umask: None) -> None:
    database = tmp_path / "fleetgraph.db"
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{database}", secret_key="k" * 40)
    asyncio.run(_migrate(settings))
    assert database.stat().st_size > 0
    assert mode(database) == 0o600


def test_an_older_world_readable_database_is_tightened(tmp_path: Path, open_umask: None) -> None:
    database = tmp_path / "old.db"
    database.write_text("")
    os.chmod(database, 0o644)
    asyncio.run(_migrate(load_settings(database_url=f"sqlite+aiosqlite:///{database}", secret_key="k" * 40)))
    assert mode(database) == 0o600


def test_the_demo_key_and_its_directory_are_private(tmp_path: Path, open_umask: None) -> None:
    data_dir = tmp_path / "data"
    key = demo_secret(data_dir)
    assert len(key) > 40
    assert mode(data_dir / "secret_key") == 0o600
    assert mode(data_dir) == 0o700
    assert demo_secret(data_dir) == key


def test_only_sqlite_files_are_touched() -> None:
    assert sqlite_file("postgresql+asyncpg://postgres@127.0.0.1/test") is None
    assert sqlite_file("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_file("sqlite+aiosqlite:////tmp/x.db") == Path("/tmp/x.db")


def test_reset_password_sets_a_new_one_and_says_it(tmp_path: Path) -> None:
    import subprocess
    import sys

    from sqlalchemy import select

    from app.auth.passwords import verify_password
    from app.db.models import User
    from app.db.session import Database
    from app.seed import ensure_provider_admin

    url = f"sqlite+aiosqlite:///{tmp_path / 'fleetgraph.db'}"
    settings = load_settings(database_url=url, secret_key="k" * 40)
    asyncio.run(_migrate(settings))

    async def admin_hash(create: bool) -> str:
        db = Database(url)
        if create:
            await ensure_provider_admin(db, "root@reset.test", "first-password-123")
        async with db.session() as session:
            user = (await session.execute(select(User).where(User.email == "root@reset.test"))).scalar_one()
        await db.dispose()
        return user.password_hash

    before = asyncio.run(admin_hash(True))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
    def reset(email: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "app", "reset-password", "--email", email, "--data-dir", str(tmp_path)]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)

    done = reset("root@reset.test")
    assert done.returncode == 0, done.stderr
    new = done.stdout.rsplit("new password: ", 1)[1].strip()
    after = asyncio.run(admin_hash(False))
    assert after != before and asyncio.run(verify_password(after, new))
    missing = reset("nobody@reset.test")
    assert missing.returncode == 1 and "no user nobody@reset.test" in missing.stderr
