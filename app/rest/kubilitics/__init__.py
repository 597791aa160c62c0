"""Kubilitics's paths (seed 002), one module of rows (and one `.graphql` document) per domain."""

from pathlib import Path

from app.rest.kubilitics import (
    audit,
    auth,
    clusters,
    logs,
    observability,
    resources,
    service,
    topology,
    users,
    workloads,
)
from app.rest.kubilitics.dialect import Kubilitics
from app.rest.table import Table

ROWS = [
    *service.ROWS,
    *auth.ROWS,
    *users.ROWS,
    *audit.ROWS,
    *clusters.ROWS,
    *resources.ROWS,
    *workloads.ROWS,
    *topology.ROWS,
    *logs.ROWS,
    *observability.ROWS,
]
TABLE = Table(Kubilitics(), ROWS, Path(__file__).parent)

__all__ = ["ROWS", "TABLE"]
