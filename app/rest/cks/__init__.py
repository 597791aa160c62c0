"""CKS's paths (seeds 000 and 001), one module of rows (and one `.graphql` document) per domain."""

from pathlib import Path

from app.rest.cks import (
    audit,
    auth,
    clusters,
    logs,
    monitoring,
    namespaces,
    notifications,
    observability,
    operations,
    profile,
    rbac,
    reference,
    tenants,
    users,
    workloads,
)
from app.rest.cks.dialect import Cks
from app.rest.table import Table

ROWS = [
    *tenants.ROWS,
    *auth.ROWS,
    *users.ROWS,
    *profile.ROWS,
    *rbac.ROWS,
    *notifications.ROWS,
    *audit.ROWS,
    *clusters.ROWS,
    *namespaces.ROWS,
    *workloads.ROWS,
    *operations.ROWS,
    *reference.ROWS,
    *logs.ROWS,
    *monitoring.ROWS,
    *observability.ROWS,
]
TABLE = Table(Cks(), ROWS, Path(__file__).parent, compat=False)

__all__ = ["ROWS", "TABLE"]
