"""QAssure's paths (seed 003), one module of rows (and one `.graphql` document) per domain."""

from pathlib import Path

from app.rest.qassure import audit, auth, roles, tenants, users
from app.rest.qassure.dialect import QAssure
from app.rest.table import Table

ROWS = [*auth.ROWS, *tenants.ROWS, *users.ROWS, *roles.ROWS, *audit.ROWS]
TABLE = Table(QAssure(), ROWS, Path(__file__).parent)

__all__ = ["ROWS", "TABLE"]
