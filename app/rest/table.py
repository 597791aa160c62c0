"""The four dialects' tables, loaded and checked against the schema before anything is served:
a row whose document the schema refuses, or a GET that would run a mutation, stops the start."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import OperationType
from starlette.routing import BaseRoute
from strawberry.schema import Schema

from app.rest.dialect import Dialect
from app.rest.documents import DocumentError, Documents, Operation
from app.rest.executor import Executor
from app.rest.openapi import openapi_document
from app.rest.routing import Limiter, Mounted, build_routes
from app.rest.rows import Row
from app.services import Services


@dataclass(frozen=True)
class Table:
    dialect: Dialect
    rows: Sequence[Row]
    folder: Path  # where the rows' `.graphql` documents are
    compat: bool = True  # also served under /compat/<dialect>

    def documents(self, schema: Schema) -> Documents:
        """The folder's documents, each operation checked against the schema."""
        documents = Documents(self.folder)
        documents.check(schema._schema)
        return documents

    def operations(self, schema: Schema, documents: Documents | None = None) -> dict[Row, list[Operation]]:
        documents = documents or self.documents(schema)
        seen: set[tuple[str, str]] = set()
        resolved: dict[Row, list[Operation]] = {}
        for row in self.rows:
            if row.key in seen:
                raise DocumentError(f"{self.dialect.name}: {row.method} {row.path} has two rows")
            seen.add(row.key)
            operations = [documents.operation(row.document, name) for name in row.operations]
            if row.method in ("GET", "HEAD") and any(o.kind is not OperationType.QUERY for o in operations):
                raise DocumentError(f"{self.dialect.name}: {row.method} {row.path} must only read")
            resolved[row] = operations
        return resolved

    def streams(self, schema: Schema, documents: Documents | None = None) -> dict[Row, Operation]:
        """The subscription each streaming row runs for the calls that ask for the stream."""
        documents = documents or self.documents(schema)
        found: dict[Row, Operation] = {}
        for row in self.rows:
            if row.stream is not None:
                operation = documents.operation(row.document, row.stream.operation)
                if operation.kind is not OperationType.SUBSCRIPTION:
                    raise DocumentError(f"{self.dialect.name}: {row.method} {row.path} streams from a subscription")
                found[row] = operation
        return found


def tables() -> list[Table]:
    from app.rest import cks, kubilitics, provisioner, qassure

    return [cks.TABLE, kubilitics.TABLE, qassure.TABLE, provisioner.TABLE]


class RestLayer:
    """The four tables, bound to the schema and services they run with."""

    def __init__(self, schema: Schema, services: Services, bare_v1: str, limiter: Limiter | None) -> None:
        self.schema, self.limiter, self.bare_v1 = schema, limiter, bare_v1
        self.mounted = [self._mount(t, schema, services) for t in tables()]
        self._openapi: dict[str, Any] | None = None

    @staticmethod
    def _mount(table: Table, schema: Schema, services: Services) -> Mounted:
        """A table's rows with their operations, its folder read and checked once."""
        documents = table.documents(schema)
        operations, streams = table.operations(schema, documents), table.streams(schema, documents)
        return Mounted(Executor(schema, services, table.dialect, operations, streams), table.rows, table.compat)

    def routes(self) -> list[BaseRoute]:
        return build_routes(self.mounted, self.bare_v1, self.limiter)

    def openapi(self) -> dict[str, Any]:
        if self._openapi is None:
            self._openapi = openapi_document(self.mounted, self.bare_v1, self.schema._schema)
        return self._openapi
