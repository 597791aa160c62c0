"""The documented REST contract, held as data in tests/rest/inventory/: one JSON file per dialect
with every documented method and path, its success status, an example request and the JSON Schema
of its success body. These tests keep that data whole and well formed; they need no server."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable

INVENTORY = Path(__file__).parent / "inventory"
TYPES = "cks_types.json"

# Distinct (method, path) pairs of each document, parameter names aside.
# kubilitics: 78 headed endpoints, plus 8 named only in the text of 002: the five controller
# metrics "similar" to the deployment one and the pod metrics (/metrics/{namespace}/{pod}),
# the websocket /ws/resources, and the Prometheus /metrics of the rate-limit section.
# provisioner: the 22 rows of the endpoint summary, plus GET/DELETE /templates/{id} and
# PUT/DELETE /users/{id}, which only the planned-endpoint tables list.
COUNTS = {"cks": 101, "kubilitics": 86, "qassure": 21, "provisioner": 26}
DIALECTS = tuple(COUNTS)

# What each domain covers: inventory/README.md.
DOMAINS = frozenset(
    {
        "tenants",
        "auth",
        "users",
        "profile",
        "tokens",
        "sessions",
        "rbac",
        "clusters",
        "nodepools",
        "namespaces",
        "resources",
        "operations",
        "templates",
        "nodes",
        "topology",
        "notifications",
        "audit",
        "health",
        "observability",
        "billing",
        "identity",
        "workspace",
        "shell",
    }
)
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
REQUIRED_KEYS = frozenset(
    {"method", "path", "summary", "domain", "status", "auth", "request", "response", "content_type"}
)
OPTIONAL_KEYS = frozenset({"content_types", "transport", "messages", "planned"})
REQUEST_KEYS = frozenset({"query", "body", "content_type", "headers"})
JSON = "application/json"

# The JSON Schema vocabulary the inventory uses; the metaschema accepts any other key silently,
# so a misspelt keyword would otherwise switch a check off unnoticed.
KEYWORDS = frozenset(
    {
        "$schema",
        "$comment",
        "$ref",
        "$defs",
        "type",
        "properties",
        "required",
        "items",
        "additionalProperties",
        "enum",
        "const",
        "format",
        "minLength",
        "examples",
    }
)
FORMATS = frozenset({"date-time", "email"})
PARAMETER = re.compile(r"\{([^{}]*)\}")


@cache
def entries(dialect: str) -> list[dict[str, Any]]:
    loaded = json.loads((INVENTORY / f"{dialect}.json").read_text())
    assert isinstance(loaded, list), f"{dialect}.json must hold a JSON array"
    return loaded


@cache
def types() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((INVENTORY / TYPES).read_text())
    return loaded


def registry() -> Registry:
    return Registry().with_resource(TYPES, Resource.from_contents(types()))


def pair(entry: dict[str, Any]) -> tuple[str, str]:
    """The method and the path with its parameters unnamed: `{id}` and `{clusterId}` are one."""
    return entry["method"], PARAMETER.sub("{}", entry["path"])


def label(dialect: str, entry: dict[str, Any]) -> str:
    return f"{dialect} {entry['method']} {entry['path']}"


def schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema the dialect files hold: success bodies and websocket messages."""
    for dialect in DIALECTS:
        for entry in entries(dialect):
            for key in ("response", "messages"):
                if entry.get(key) is not None:
                    yield f"{label(dialect, entry)} {key}", entry[key]


def refs(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        if isinstance(schema.get("$ref"), str):
            yield schema["$ref"]
        for value in schema.values():
            yield from refs(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from refs(value)


def rule_breaks(schema: Any, where: str = "") -> Iterator[str]:
    """What in `schema` goes against the inventory's own rules (the metaschema checks the rest)."""
    if not isinstance(schema, dict):
        if schema is not True:
            yield f"{where or '/'}: a schema here is an object (or true)"
        return
    for key in sorted(schema.keys() - KEYWORDS):
        yield f"{where}/{key}: not a keyword the inventory uses"
    if schema.get("additionalProperties") is False:
        yield f"{where}: additionalProperties false (the server may send more fields)"
    if "format" in schema and schema["format"] not in FORMATS:
        yield f"{where}: format {schema['format']!r}"
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        if isinstance(properties, dict) and name not in properties:
            yield f"{where}: {name!r} is required but has no property schema"
    children = [(f"{where}/properties/{k}", v) for k, v in properties.items()] if isinstance(properties, dict) else []
    children += [(f"{where}/$defs/{k}", v) for k, v in schema.get("$defs", {}).items()]
    children += [(f"{where}/items", schema["items"])] if "items" in schema else []
    if isinstance(schema.get("additionalProperties"), dict):
        children.append((f"{where}/additionalProperties", schema["additionalProperties"]))
    for path, child in children:
        yield from rule_breaks(child, path)


def test_counts_per_dialect() -> None:
    assert {dialect: len(entries(dialect)) for dialect in DIALECTS} == COUNTS
    assert sum(len(entries(dialect)) for dialect in DIALECTS) == 234


@pytest.mark.parametrize("dialect", DIALECTS)
def test_no_pair_twice(dialect: str) -> None:
    twice = [p for p, n in Counter(pair(e) for e in entries(dialect)).items() if n > 1]
    assert not twice


@pytest.mark.parametrize("dialect", DIALECTS)
def test_entries_are_complete(dialect: str) -> None:
    for entry in entries(dialect):
        where = label(dialect, entry)
        assert REQUIRED_KEYS <= entry.keys() <= REQUIRED_KEYS | OPTIONAL_KEYS, where
        assert entry["method"] in METHODS, where
        assert entry["path"].startswith("/"), where
        assert all(name.isidentifier() for name in PARAMETER.findall(entry["path"])), where
        assert isinstance(entry["summary"], str) and entry["summary"].strip(), where
        assert entry["domain"] in DOMAINS, where
        assert isinstance(entry["status"], int) and 100 <= entry["status"] < 300, where
        assert isinstance(entry["auth"], bool), where
        assert entry.get("planned", False) in (True, False), where


@pytest.mark.parametrize("dialect", DIALECTS)
def test_requests_are_objects(dialect: str) -> None:
    for entry in entries(dialect):
        where, request = label(dialect, entry), entry["request"]
        assert isinstance(request, dict) and request.keys() <= REQUEST_KEYS, where
        for key in ("query", "body", "headers"):
            assert isinstance(request.get(key, {}), dict), f"{where}: request.{key} must be a JSON object"
        assert all(isinstance(v, str) for v in request.get("headers", {}).values()), where


@pytest.mark.parametrize("dialect", DIALECTS)
def test_media_types_agree_with_schemas(dialect: str) -> None:
    """A JSON answer has a schema; a file, a stream or no content has none."""
    for entry in entries(dialect):
        where, media, transport = label(dialect, entry), entry["content_type"], entry.get("transport")
        assert transport in (None, "websocket", "sse"), where
        assert (entry["response"] is not None) == (media == JSON), where
        if media is None:
            assert entry["status"] == 204 or transport == "websocket", f"{where}: which media type?"
        if transport == "websocket":
            assert entry["method"] == "GET" and entry["status"] == 101, where
        if "content_types" in entry:
            assert media in entry["content_types"], where


def test_schemas_pass_the_metaschema() -> None:
    Draft202012Validator.check_schema(types())
    for where, schema in schemas():
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as error:
            pytest.fail(f"{where}: {error.message}")


def test_every_ref_resolves() -> None:
    found = registry()
    lookups = [("", where, ref) for where, schema in schemas() for ref in refs(schema)]
    lookups += [(TYPES, TYPES, ref) for ref in refs(types())]
    assert lookups, "the CKS entries refer to their named types"
    for base, where, ref in lookups:
        try:
            found.resolver(base_uri=base).lookup(ref)
        except Unresolvable:
            pytest.fail(f"{where}: $ref {ref!r} does not resolve")


def test_every_named_type_is_used() -> None:
    used = {ref.rpartition("/")[2] for ref in [*(r for _, s in schemas() for r in refs(s)), *refs(types())]}
    assert set(types()["$defs"]) - used == set()


def test_schemas_keep_the_inventory_rules() -> None:
    broken = [f"{where}: {b}" for where, schema in schemas() for b in rule_breaks(schema)]
    broken += [f"{TYPES}: {b}" for b in rule_breaks(types())]
    assert not broken


def test_cks_types_hold_the_inferred_ones() -> None:
    inferred = {
        "User",
        "UserRole",
        "Cluster",
        "ClusterStatus",
        "NodePool",
        "Namespace",
        "NamespaceStatus",
        "ResourceQuota",
        "Alert",
        "Notification",
        "Operation",
        "Metric",
    }
    defs = types()["$defs"]
    assert inferred <= defs.keys()
    assert all("inferred" in defs[name].get("$comment", "") for name in inferred)


def success_bodies(dialect: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for entry in entries(dialect):
        if entry["response"] is not None:
            yield label(dialect, entry), entry["response"]


def test_cks_envelope() -> None:
    """ApiResponse<T>: success and data always, error optional."""
    for where, schema in success_bodies("cks"):
        assert schema["properties"]["success"] == {"const": True}, where
        assert schema["required"] == ["success", "data"], where
        assert schema["properties"]["error"] == {"$ref": f"{TYPES}#/$defs/ApiError"}, where


def test_qassure_envelope() -> None:
    """success always; data, or an optional message where nothing comes back; pagination on lists."""
    for where, schema in success_bodies("qassure"):
        properties, required = schema["properties"], schema["required"]
        assert properties["success"] == {"const": True}, where
        assert required[:2] == ["success", "data"] or (required == ["success"] and "message" in properties), where
        if properties.get("data", {}).get("type") == "array":
            assert required == ["success", "data", "pagination"], where
            assert properties["pagination"]["required"] == ["page", "limit", "total", "totalPages", "hasMore"]


def test_provisioner_lists() -> None:
    lists = [(w, s) for w, s in success_bodies("provisioner") if s.get("properties", {}).get("data", {}).get("items")]
    assert len(lists) == 6
    for where, schema in lists:
        assert schema["required"] == ["total", "page", "page_size", "total_pages", "data"], where


def test_kubilitics_list_metadata() -> None:
    """Kubernetes-style lists page with metadata {resourceVersion, continue, total}."""
    for where, schema in success_bodies("kubilitics"):
        metadata = schema.get("properties", {}).get("metadata")
        if metadata is not None and "items" in schema["properties"]:
            assert {"continue", "total"} <= metadata["properties"].keys(), where
            assert "total" in metadata["required"], where


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "requird": ["id"]},
        {"type": "object", "properties": {"id": {"type": "string"}}, "additionalProperties": False},
        {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["name"]},
        {"type": "array", "items": {"type": "string", "format": "datetime"}},
        {"type": "object", "properties": {"id": 5}},
    ],
)
def test_rule_check_refuses(schema: dict[str, Any]) -> None:
    assert list(rule_breaks(schema))


def test_an_unknown_ref_is_unresolvable() -> None:
    with pytest.raises(Unresolvable):
        registry().resolver(base_uri="").lookup(f"{TYPES}#/$defs/Nobody")
