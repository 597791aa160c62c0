"""Real processes for end-to-end tests: `fleetgraph serve` replicas and kubesim, started and killed."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx


@contextlib.contextmanager
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


def spawn(started: list[subprocess.Popen[str]], env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    started.append(process)
    return process


def kubesim_ready(process: subprocess.Popen[str]) -> tuple[str, Path | None]:
    """kubesim's control URL and cluster-0's kubeconfig (None when it serves no cluster)."""
    assert process.stdout is not None
    control, kubeconfig = "", None
    while not control:
        line = process.stdout.readline()
        assert line, "kubesim exited"
        parts = line.rstrip("\n").split("\t")
        if parts[0] == "control":
            control = parts[1]
        elif parts[0] == "cluster-0" and len(parts) == 3:
            kubeconfig = Path(parts[2])
    return control, kubeconfig


async def healthy(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/health")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError(f"{url} did not become healthy")


async def gql(url: str, query: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=30) as http:
        body = (
            await http.post(f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers)
        ).json()
    assert not body.get("errors"), body
    return dict(body["data"])


async def create_admin(env: dict[str, str], email: str, password: str) -> None:
    admin = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "create-admin",
        "--email",
        email,
        "--password",
        password,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert await asyncio.wait_for(admin.wait(), timeout=60) == 0
