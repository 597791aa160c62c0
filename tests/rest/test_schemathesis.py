"""schemathesis against /openapi.json, bounded: two tenants' admins as peers (its object-level
authorization check replays one tenant's reads as the other), every phase (examples, coverage,
fuzzing, stateful) and every check, positive and negative data. No answer may be a 500 or
differ from the published schema."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kubesim.fleet import start_fleet
from tests.rest.world import CLUSTER
from tests.support.api import Api, make_tenant
from tests.support.clusters import register_cluster

EXAMPLES = int(os.environ.get("FLEETGRAPH_TEST_SCHEMATHESIS_EXAMPLES", "2"))
ST = Path(sys.executable).with_name("st")


@pytest.fixture
async def peers(api: Api, provider_token: str, tmp_path: Path) -> AsyncIterator[Path]:
    """Two fresh tenants, the first with a cluster of its own, as a Web Fuzzing Commons auth file."""
    async with start_fleet(1, profile="small", seed=9, control=True, speed=20) as fleet:
        first = await make_tenant(api, provider_token, roles=())
        second = await make_tenant(api, provider_token, roles=())
        await register_cluster(api, first, fleet, "fuzzed", CLUSTER)
        entries = [
            {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {t.tokens['tenant_admin']}"}]}
            for name, t in (("first-tenant", first), ("second-tenant", second))
        ]
        path = tmp_path / "auth.json"
        path.write_text(json.dumps({"auth": entries}))
        yield path


async def test_no_server_errors_and_every_answer_as_published(base_url: str, peers: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    process = await asyncio.create_subprocess_exec(
        str(ST), "run", f"{base_url}/openapi.json",
        "--auth-wfc", str(peers),
        "--checks", "all",
        # A schema cannot say that an old password must be the current one, that a cluster's
        # version must be one Fleetgraph installs or that a token must be one it gave: GraphQL
        # refuses such requests (400/422) and this check would call that a failure.
        "--exclude-checks", "positive_data_acceptance",
        # Signing out, changing the password or revoking a session ends the sign-in the rest of
        # the run calls with (tests/rest/test_contract.py calls those paths).
        "--exclude-path-regex", r"(/logout|/change-password|/sessions/\{[^}]+\})$",
        "--mode", "all",
        "--max-examples", str(EXAMPLES),
        "--seed", "20261204",
        "--generation-database", "none",
        "--workers", "1",
        "--request-timeout", "20",
        "--suppress-health-check", "all",
        "--report", "json", "--report-json-path", str(report),
        "--no-color",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-20000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", text)
    tested = re.search(r"Tested: (\d+)", text)
    assert selected and tested, text[-3000:]
    assert int(selected.group(1)) == int(tested.group(1)) > 0.95 * int(selected.group(2)), text[-3000:]
