"""CKS: `GET /api/tenants/{tenantId}/api-reference`, the OpenAPI document of what is served.

The operation only checks that the caller belongs to the tenant; the answer is the document
generated from the table (app/rest/openapi.py), the same as `/openapi.json`."""

from __future__ import annotations

from typing import Any

from app.rest.rows import Call, Row


def _document(_: Any, call: Call) -> Any:
    return call.app_state.rest.openapi()


ROWS = [
    Row(
        "GET", "/api/tenants/{tenantId}/api-reference", "reference.graphql", ("CksApiReference",),
        "Get OpenAPI/Swagger spec", "CKS: documentation", pick="tenant", shape=_document,
    ),
]
