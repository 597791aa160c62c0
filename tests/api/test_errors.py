"""Internal failures reach the client masked, with the request ID, and are logged with it."""

from __future__ import annotations

import logging

import pytest

from resolvers import profile
from tests.support.api import Api, TenantUsers


async def test_internal_error_is_masked_and_logged_with_the_request_id(
    api: Api, tenant_a: TenantUsers, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(ctx: object) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(profile, "me", broken)
    with caplog.at_level(logging.ERROR, logger="fleetgraph.errors"):
        response = await api.post("{ me { id } }", token=tenant_a.tokens["viewer"], headers={"X-Request-ID": "req-42"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42"
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "req-42"}
    assert "hunter2" not in response.text and "req-42" in error["message"]
    logged = [r for r in caplog.records if "req-42" in r.getMessage()]
    assert logged and logged[0].exc_info is not None
