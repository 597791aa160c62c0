from __future__ import annotations

import os
import subprocess
import sys

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
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=60,
                          env={**clean, **env})


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
