"""CKS's monitoring: the tenant's system health (`{status, details}`, each check made now; see
resolvers/system_health.py for what each one measures)."""

from __future__ import annotations

from app.rest.rows import Row

DOC = "monitoring.graphql"
TAG = "CKS: monitoring"

ROWS = [
    Row(
        "GET",
        "/api/tenants/{tenantId}/monitoring/health",
        DOC,
        ("CksSystemHealth",),
        "System health check",
        TAG,
        pick="systemHealth",
    ),
]
