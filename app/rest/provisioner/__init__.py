"""The Provisioner's paths (seed 004), one module of rows (and one `.graphql` document) per domain."""

from pathlib import Path

from app.rest.provisioner import audit, auth, clusters, jobs, nodes, service, templates, users
from app.rest.provisioner.dialect import Provisioner
from app.rest.table import Table

ROWS = [*service.ROWS, *auth.ROWS, *clusters.ROWS, *nodes.ROWS, *jobs.ROWS, *templates.ROWS, *users.ROWS, *audit.ROWS]
TABLE = Table(Provisioner(), ROWS, Path(__file__).parent)

__all__ = ["ROWS", "TABLE"]
