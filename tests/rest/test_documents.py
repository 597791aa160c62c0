"""The table's documents: split per operation with just the fragments each uses (those of any
file of its folder), and refused when the schema would refuse them or a GET would write."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.rest.documents import DocumentError, Documents
from app.rest.rows import Row
from app.rest.table import Table
from app.settings import load_settings
from schema.root import build_schema

SCHEMA = build_schema(load_settings(secret_key="k" * 40))


def _folder(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / f"{name}.graphql").write_text(text)
    return tmp_path


def test_each_operation_carries_only_the_fragments_it_uses_from_any_file(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path,
        shared="fragment Who on User { id email }\nfragment Unused on User { name }",
        reads="query Me { me { ...Who } }\nquery Tokens { apiTokens { id } }",
    )
    documents = Documents(folder)
    documents.check(SCHEMA._schema)
    me = documents.operation("reads.graphql", "Me")
    assert "fragment Who" in me.text and "Unused" not in me.text and "Tokens" not in me.text
    assert "fragment" not in documents.operation("reads.graphql", "Tokens").text


def test_a_fragment_defined_twice_in_a_folder_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path, a="fragment Who on User { id }", b="fragment Who on User { email }")
    with pytest.raises(DocumentError, match="defined twice"):
        Documents(folder)


def test_what_the_schema_refuses_stops_the_start(tmp_path: Path) -> None:
    documents = Documents(_folder(tmp_path, bad="query Bad { me { noSuchField } }"))
    with pytest.raises(DocumentError, match="noSuchField"):
        documents.check(SCHEMA._schema)


def test_a_get_row_may_only_read(tmp_path: Path) -> None:
    folder = _folder(tmp_path, writes="mutation Out { logout { ok } }")
    from app.rest.cks.dialect import Cks

    table = Table(Cks(), [Row("GET", "/api/x", "writes.graphql", ("Out",), "x", "x")], folder)
    with pytest.raises(DocumentError, match="must only read"):
        table.operations(SCHEMA)
    missing = Table(Cks(), [Row("POST", "/api/x", "writes.graphql", ("Gone",), "x", "x")], folder)
    with pytest.raises(DocumentError, match="no operation 'Gone'"):
        missing.operations(SCHEMA)


def test_a_fault_of_the_layer_is_the_dialects_500_with_the_request_id(tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from app.middleware import RequestIdMiddleware
    from app.rest.cks.dialect import Cks
    from app.rest.routing import Mounted, build_routes
    from app.services import Services

    def broken(value: object, call: object) -> object:
        raise KeyError("a shape that does not fit")

    folder = _folder(tmp_path, service="query Service { serviceInfo { name } }")
    row = Row(
        "GET", "/api/broken", "service.graphql", ("Service",), "x", "x", pick="serviceInfo", shape=broken, public=True
    )
    settings = load_settings(secret_key="k" * 40, database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    table = Table(Cks(), [row], folder, compat=False)
    from app.rest.executor import Executor

    executor = Executor(SCHEMA, Services.from_settings(settings), table.dialect, table.operations(SCHEMA))
    app = Starlette(routes=build_routes([Mounted(executor, [row], False)], "kubilitics", None))
    app.add_middleware(RequestIdMiddleware)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/broken", headers={"X-Request-ID": "req-broken-1"})
    assert response.status_code == 500
    assert response.json() == {
        "success": False,
        "error": {"code": "INTERNAL", "message": "internal error; quote request ID req-broken-1 when reporting it"},
    }
