"""Every documented method and path is served by a row of the table, unless its capability does
not exist yet: then it is listed here with the domain that will add it, and answers the
dialect's 404 until then. Every row serves a documented path."""

from __future__ import annotations

import json

import httpx
import pytest

from app.rest.routing import shape_of
from app.rest.table import tables
from tests.rest.contract import INVENTORY

# Domains whose capabilities are not built yet; their paths join the table with them.
AWAITING = {
    "billing": "metering, invoices and payment methods",
    "identity": "OIDC sign-in, MFA, security settings and feature flags",
    "workspace": "projects, the module registry, docs, onboarding, help and search",
    "shell": "shell, kcli and pod exec",
}
# Documented paths the app serves itself, outside the table.
SERVED_BY_THE_APP = {
    ("kubilitics", "GET", "/metrics"): "Prometheus metrics (app/telemetry/metrics.py)",
    ("kubilitics", "GET", "/ws/resources"): "the live-updates websocket (app/legacy_ws.py, test_legacy_ws.py)",
}
# Documented paths a multi-tenant service does not serve, and why.
NOT_SERVED = {
    ("kubilitics", "GET", "/api/v1/clusters/discover"): (
        "lists the contexts of the server's own kubeconfig file: a service shared by tenants has none to "
        "offer them; GraphQL's discoverClusters(kubeconfig) lists those of a kubeconfig the caller sends"
    ),
}
DIALECTS = ("cks", "kubilitics", "qassure", "provisioner")


def _served(dialect: str) -> set[tuple[str, str]]:
    table = next(t for t in tables() if t.dialect.name == dialect)
    return {(row.method, shape_of(row.path)) for row in table.rows}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_documented_path_is_served_or_awaits_its_domain(dialect: str) -> None:
    served = _served(dialect)
    missing = [
        f"{e['method']} {e['path']} ({e['domain']})"
        for e in json.loads((INVENTORY / f"{dialect}.json").read_text())
        if (e["method"], shape_of(e["path"])) not in served
        and e["domain"] not in AWAITING
        and (dialect, e["method"], e["path"]) not in SERVED_BY_THE_APP | NOT_SERVED
    ]
    assert missing == []


async def test_the_paths_the_app_serves_itself_answer(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        metrics = await http.get("/metrics")
        assert metrics.status_code == 200 and "fleetgraph_" in metrics.text
        handshake = await http.get("/ws/resources")  # a websocket: a plain GET is not one
        assert handshake.status_code in (400, 404, 426), handshake.status_code


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_row_serves_a_documented_path(dialect: str) -> None:
    documented = {(e["method"], shape_of(e["path"])) for e in json.loads((INVENTORY / f"{dialect}.json").read_text())}
    assert sorted(_served(dialect) - documented) == []
