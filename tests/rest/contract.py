"""The documented contract as the tests hold it (tests/rest/inventory/, transcribed from the
source documents), and how to call a row of the REST table with its sample."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from app.rest.routing import COMPAT, shape_of
from app.rest.rows import Row
from app.rest.table import Table, tables
from tests.rest.samples import SAMPLES, Request, Sample
from tests.rest.world import World

INVENTORY = Path(__file__).parent / "inventory"


@dataclass(frozen=True)
class Served:
    """A row of the table, with its dialect and its documented contract."""

    table: Table
    row: Row

    @property
    def dialect(self) -> str:
        return self.table.dialect.name

    @property
    def id(self) -> str:
        return f"{self.dialect} {self.row.method} {self.row.path}"

    @property
    def prefix(self) -> str:
        return "" if not self.table.compat else f"{COMPAT}/{self.dialect}"

    @property
    def documented(self) -> dict[str, Any]:
        entry = documented(self.dialect).get((self.row.method, shape_of(self.row.path)))
        assert entry is not None, f"{self.id} is not a documented path"
        return entry

    @property
    def sample(self) -> Sample:
        found = SAMPLES.get((self.dialect, self.row.method, self.row.path))
        assert found is not None, f"{self.id} has no sample in tests/rest/samples/"
        return found


def served() -> list[Served]:
    return [Served(table, row) for table in tables() for row in table.rows]


@cache
def documented(dialect: str) -> dict[tuple[str, str], dict[str, Any]]:
    entries = json.loads((INVENTORY / f"{dialect}.json").read_text())
    return {(e["method"], shape_of(e["path"])): e for e in entries}


@cache
def _registry() -> Registry:
    registry: Registry = Registry()
    for path in INVENTORY.glob("*_types.json"):
        registry = registry.with_resource(path.name, Resource.from_contents(json.loads(path.read_text())))
    return registry


def check_shape(schema: dict[str, Any], body: Any) -> list[str]:
    """What in `body` the JSON Schema refuses (nothing: it conforms)."""
    validator = Draft202012Validator(schema, registry=_registry())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]


async def send(world: World, one: Served, request: Request, token: str | None = None) -> httpx.Response:
    path = one.row.path.format(**{k: quote(v, safe="~") for k, v in request.path.items()})
    headers = dict(request.headers)
    credential = token if token is not None else (world.token(request.role) if request.role else None)
    if credential:
        headers["Authorization"] = f"Bearer {credential}"
    options: dict[str, Any] = {"params": request.query, "headers": headers}
    if request.body is not None:
        options["data" if request.form else "json"] = request.body
    return await world.api.http.request(one.row.method, one.prefix + path, **options)
