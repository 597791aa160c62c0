"""The GraphQL documents the REST table runs, read from the `.graphql` files beside each
dialect's table and split into one small document per operation (with only the fragments it
uses), so each request parses and validates just what it runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    Visitor,
    parse,
    print_ast,
    validate,
    visit,
)


class DocumentError(Exception):
    """A row names an operation that is missing, or a document the schema does not accept."""


@dataclass(frozen=True)
class Operation:
    name: str
    kind: OperationType
    text: str
    node: DocumentNode


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        self.names.add(node.name.value)


def _fragments_of(node: object, fragments: dict[str, FragmentDefinitionNode]) -> list[FragmentDefinitionNode]:
    found: dict[str, FragmentDefinitionNode] = {}
    pending = [node]
    while pending:
        spreads = _Spreads()
        visit(pending.pop(), spreads)  # type: ignore[arg-type]
        for name in sorted(spreads.names - found.keys()):
            if name not in fragments:
                raise DocumentError(f"fragment {name!r} is not defined")
            found[name] = fragments[name]
            pending.append(fragments[name])
    return list(found.values())


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def split(text: str, shared: dict[str, FragmentDefinitionNode] | None = None) -> dict[str, Operation]:
    """Every named operation of a document, each with the fragments it needs (its own, or those
    `shared` by the other documents of its folder)."""
    document = parse(text)
    fragments = {**(shared or {}), **fragments_of(document)}
    operations: dict[str, Operation] = {}
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if definition.name is None:
            raise DocumentError("every operation of a REST document needs a name")
        name = definition.name.value
        if name in operations:
            raise DocumentError(f"operation {name!r} is defined twice")
        node = DocumentNode(definitions=(definition, *_fragments_of(definition, fragments)))
        operations[name] = Operation(name, definition.operation, print_ast(node), node)
    return operations


class Documents:
    """The operations of one dialect's folder, by file; a fragment of any file of the folder may
    be spread in all of them (a fragment's name is unique in its folder)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        texts = {path.name: path.read_text() for path in sorted(folder.glob("*.graphql"))}
        shared: dict[str, FragmentDefinitionNode] = {}
        for name, text in texts.items():
            for fragment, definition in fragments_of(parse(text)).items():
                if fragment in shared:
                    raise DocumentError(f"{folder.name}/{name}: fragment {fragment!r} is defined twice in the folder")
                shared[fragment] = definition
        self.by_file: dict[str, dict[str, Operation]] = {name: split(text, shared) for name, text in texts.items()}

    def operation(self, document: str, name: str) -> Operation:
        operations = self.by_file.get(document)
        if operations is None:
            raise DocumentError(f"{self.folder.name}/{document} does not exist")
        if name not in operations:
            raise DocumentError(f"{self.folder.name}/{document} has no operation {name!r}")
        return operations[name]

    def check(self, schema: GraphQLSchema) -> None:
        """Every operation is valid against the schema: a row cannot run what GraphQL refuses."""
        for document, operations in self.by_file.items():
            for operation in operations.values():
                errors = validate(schema, operation.node)
                if errors:
                    raise DocumentError(f"{self.folder.name}/{document} {operation.name}: {errors[0].message}")
