from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.settings import SettingsError, load_settings


def test_defaults() -> None:
    settings = load_settings()
    assert settings.port == 8000
    assert settings.broadcast_url == "memory://"
    assert settings.access_token_minutes == 30 and settings.refresh_token_days == 7


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FLEETGRAPH_PORT", "eighty"),
        ("FLEETGRAPH_PORT", "70000"),
        ("FLEETGRAPH_DATABASE_URL", "mysql://x"),
        ("FLEETGRAPH_BROADCAST_URL", "kafka://x"),
        ("FLEETGRAPH_SECRET_KEY", "short"),
        ("FLEETGRAPH_GRAPHIQL", "perhaps"),
    ],
)
def test_each_bad_value_names_its_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    lines = str(caught.value).splitlines()
    assert len(lines) == 1 and lines[0].startswith(variable + ": ")


def test_cors_origins_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETGRAPH_CORS_ORIGINS", "https://a.test, https://b.test")
    assert load_settings().cors_origins == ["https://a.test", "https://b.test"]


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=60, env={**clean, **env}
    )


def test_serve_refuses_to_start_without_a_secret_key() -> None:
    result = _run("serve")
    assert result.returncode == 2
    assert result.stderr.strip() == "fleetgraph: bad setting: FLEETGRAPH_SECRET_KEY: required (at least 32 characters)"


def test_a_bad_setting_stops_the_start_with_one_line() -> None:
    result = _run("migrate", FLEETGRAPH_PORT="-1")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "fleetgraph: bad setting: FLEETGRAPH_PORT: Input should be greater than or equal to 1"
    ]


def test_migrate_and_create_admin_then_the_admin_signs_in(tmp_path: Path) -> None:
    env = {"FLEETGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    migrated = _run("migrate", **env)
    assert migrated.returncode == 0, migrated.stderr
    assert "database is up to date" in migrated.stdout
    short = _run("create-admin", "--email", "ops@provider.test", "--password", "short", **env)
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    created = _run("create-admin", "--email", "ops@provider.test", "--password", "a-long-password-1", **env)
    assert created.returncode == 0 and "created" in created.stdout
    again = _run("create-admin", "--email", "ops@provider.test", "--password", "a-long-password-1", **env)
    assert "already exists" in again.stdout
    import asyncio

    from sqlalchemy import select

    from app.auth.passwords import verify_password
    from app.db.models import User
    from app.db.session import Database

    async def stored() -> tuple[str, str]:
        db = Database(env["FLEETGRAPH_DATABASE_URL"])
        async with db.session() as session:
            user = (await session.execute(select(User).where(User.email == "ops@provider.test"))).scalar_one()
        await db.dispose()
        return user.role, user.password_hash

    role, password_hash = asyncio.run(stored())
    assert role == "super_admin" and asyncio.run(verify_password(password_hash, "a-long-password-1"))


def test_sim_command_serves_clusters_and_writes_kubeconfigs(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "sim",
            "--clusters",
            "2",
            "--profile",
            "small",
            "--seed",
            "5",
            "--kubeconfig-out",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(200):
            if len(list(tmp_path.glob("*.kubeconfig"))) == 2:
                break
            time.sleep(0.1)
        configs = sorted(tmp_path.glob("*.kubeconfig"))
        assert [c.name for c in configs] == ["cluster-0.kubeconfig", "cluster-1.kubeconfig"]
        text = configs[0].read_text()
        server = text.split("server: ", 1)[1].split()[0]
        token = text.split("token: ", 1)[1].split()[0]
        for _ in range(100):
            try:
                response = httpx.get(f"{server}/api/v1/namespaces", headers={"Authorization": f"Bearer {token}"})
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        names = {ns["metadata"]["name"] for ns in response.json()["items"]}
        assert {"default", "kube-system"} <= names
    finally:
        process.terminate()
        process.wait(timeout=30)
