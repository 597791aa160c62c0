"""QAssure: tenants."""

from __future__ import annotations

from app.rest.rows import Row

ROWS: list[Row] = []
