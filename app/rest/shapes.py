"""The JSON Schema of what a GraphQL operation answers, read from its selection set and the
schema's types: the OpenAPI document describes each row's answer without a hand-written model."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from app.rest.documents import Operation

Schema = dict[str, Any]
SCALARS: dict[str, Schema] = {
    "String": {"type": "string"},
    "ID": {"type": "string"},
    "Int": {"type": "integer"},
    "Float": {"type": "number"},
    "Boolean": {"type": "boolean"},
    "DateTime": {"type": "string", "format": "date-time"},
    "Date": {"type": "string", "format": "date"},
    "Decimal": {"type": "string"},
    "JSON": {},
}


def nullable(schema: Schema) -> Schema:
    if not schema:
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


class _Reader:
    def __init__(self, schema: GraphQLSchema, operation: Operation) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in operation.node.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def output(self, kind: GraphQLOutputType, selection: SelectionSetNode | None) -> Schema:
        if isinstance(kind, GraphQLNonNull):
            return self._bare(kind.of_type, selection)
        return nullable(self._bare(kind, selection))

    def _bare(self, kind: Any, selection: SelectionSetNode | None) -> Schema:
        if isinstance(kind, GraphQLList):
            return {"type": "array", "items": self.output(kind.of_type, selection)}
        if isinstance(kind, GraphQLScalarType):
            return dict(SCALARS.get(kind.name, {}))
        if isinstance(kind, GraphQLEnumType):
            return {"type": "string", "enum": list(kind.values)}
        if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType) and selection:
            properties: Schema = {}
            required: list[str] = []
            self._fields(kind, selection, properties, required)
            return {"type": "object", "properties": properties, "required": required}
        return {}

    def _fields(self, parent: Any, selection: SelectionSetNode, properties: Schema, required: list[str]) -> None:
        for node in selection.selections:
            if isinstance(node, FieldNode):
                name = node.alias.value if node.alias else node.name.value
                if node.name.value == "__typename":
                    properties[name] = {"type": "string"}
                    required.append(name)
                    continue
                definition = parent.fields[node.name.value] if hasattr(parent, "fields") else None
                if definition is None:
                    continue
                properties[name] = self.output(definition.type, node.selection_set)
                if isinstance(definition.type, GraphQLNonNull) and name not in required:
                    required.append(name)
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments[node.name.value]
                on = self.schema.get_type(fragment.type_condition.name.value)
                self._fields(on, fragment.selection_set, properties, required)
            elif isinstance(node, InlineFragmentNode):
                on = self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
                self._fields(on, node.selection_set, properties, required)


def data_schema(schema: GraphQLSchema, operation: Operation) -> Schema:
    """The schema of the operation's `data`."""
    definition = next(d for d in operation.node.definitions if isinstance(d, OperationDefinitionNode))
    root = schema.get_root_type(definition.operation)
    reader = _Reader(schema, operation)
    properties: Schema = {}
    required: list[str] = []
    reader._fields(root, definition.selection_set, properties, required)
    return {"type": "object", "properties": properties, "required": required}


def at(schema: Schema, dotted: str) -> Schema:
    """The part of a schema a dotted pick path leads to (non-null on the way: a null is a 404)."""
    for step in filter(None, dotted.split(".")):
        schema = _present(schema).get("properties", {}).get(step, {})
    return _present(schema)


def _present(schema: Schema) -> Schema:
    options = schema.get("anyOf")
    if options and len(options) == 2 and {"type": "null"} in options:
        return next(o for o in options if o != {"type": "null"})
    return schema


def items_of(schema: Schema) -> Schema:
    """A listing's item: a connection's `nodes` or a list's items."""
    schema = _present(schema)
    nodes = schema.get("properties", {}).get("nodes")
    if nodes is not None:
        schema = _present(nodes)
    return dict(schema.get("items", {}))


def with_epoch_numbers(schema: Schema, paths: tuple[str, ...]) -> Schema:
    """The schema of an answer whose timestamps at `paths` are epoch seconds."""
    if not paths:
        return schema
    schema = _present(schema)
    if schema.get("type") == "array":
        return {**schema, "items": with_epoch_numbers(schema.get("items", {}), paths)}
    properties = dict(schema.get("properties", {}))
    for path in paths:
        head, _, rest = path.partition(".")
        if head in properties:
            inner = properties[head]
            nullable_inner = inner != _present(inner)
            fixed = with_epoch_numbers(inner, (rest,)) if rest else {"type": "integer"}
            properties[head] = nullable(fixed) if nullable_inner else fixed
    return {**schema, "properties": properties}
